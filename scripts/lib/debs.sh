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

# ensure_apt_suite SUITE: an apt sources entry for SUITE (main) on deb.debian.org, signed by the
# Debian archive keyring, in the deb822 format of debian.sources; added only when no .list or
# .sources file names SUITE already.
ensure_apt_suite() {
  local suite="$1" sudo="" file
  [ "$(id -u)" = 0 ] || sudo="sudo"
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] && grep -Eq "^[^#]*\b$suite\b" "$file" && return 0
  done
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$suite" \
    | $sudo tee "/etc/apt/sources.list.d/$suite.sources" >/dev/null
}

# install_debs_from SUITE PKG...: apt-get install from SUITE (-t), quietly, without recommended
# packages (their dependencies come from SUITE too where it has newer ones).
install_debs_from() {
  local suite="$1" sudo=""
  shift
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends -t "$suite" "$@" >/dev/null
}

# deb_version PKG: the installed version of PKG, or nothing (also where dpkg has never heard of
# PKG: dpkg-query then fails, which under pipefail and set -e would end the calling script).
deb_version() {
  { dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null || true; } | sed -n 's/^install ok installed //p'
}
