# Sourced by scripts/setup.sh and scripts/e2e-setup.sh: which Debian packages are missing, and
# installing them (apt-get, as root or through sudo).

# missing_debs PKG...: sets the array MISSING_DEBS to the packages not installed.
missing_debs() {
  MISSING_DEBS=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || MISSING_DEBS+=("$pkg")
  done
}

# install_debs PKG...: apt-get install, quietly, without recommended packages.
install_debs() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
