"""Collect permissively licensed source code that is already on this machine (offline).

Sources (see SOURCES and node_sources()): Python's standard library (PSF-2.0), numpy, pygments,
torch, sympy and mpmath from Debian (BSD), and JavaScript/TypeScript from the packages in
<repo>/node_modules named in npm_sources.txt whose package.json licence is MIT, ISC, Apache-2.0 or
BSD-*. Filters: code extensions only, no `.min.*`, no file over 200 KB, no line over 1000
characters or mean line over 200 (minified or generated), UTF-8 only, exact duplicates (by content
hash) dropped keeping the first in sorted path order.

Output (in --out, default native/data/build):
  code_train.jsonl, code_heldout.jsonl   one JSON object per line: {"source", "path", "text"}
                                         (path is relative to the source root)
  stats.json                             bytes/files per source and split
and the code corpus section of native/data/DATA_CARD.md (between its markers; the rest of the
card is written by hand). About 2% of files are held out, chosen by a hash of "source/path", so
the split does not depend on which other files exist.

Training text helpers (used by the trainer):
  plain_example(doc)      -> doc + "<|end_text|>"
  fim_example(doc, rng)   -> "<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>{middle}<|end_text|>"
  iter_documents(path)    -> texts from a jsonl written here

Reproduce: /usr/bin/python3 native/data/code_corpus.py --out native/data/build
"""
import argparse
import collections
import glob
import hashlib
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
END_TEXT, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX = (
    "<|end_text|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>")
SPECIALS = ("<|begin_text|>", "<|end_text|>", "<|end_turn|>", "<|pad|>",
            "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>")

MAX_BYTES = 200_000
MAX_LINE, MAX_MEAN_LINE = 1000, 200
HELDOUT_PERCENT = 2
CODE_EXT = (".py", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts")
NODE_LICENCES = {"MIT", "ISC", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "0BSD"}

# (name, root, glob patterns relative to root, licence, where the licence was read)
SOURCES = [
    ("python3.11-stdlib", "/usr/lib/python3.11", ["**/*.py"], "PSF-2.0",
     "/usr/share/doc/libpython3.11-stdlib/copyright, /usr/lib/python3.11/LICENSE.txt"),
    ("numpy", "/usr/lib/python3/dist-packages/numpy", ["**/*.py"], "BSD-3-Clause",
     "/usr/share/doc/python3-numpy/copyright"),
    ("pygments", "/usr/lib/python3/dist-packages/pygments", ["**/*.py"], "BSD-2-Clause",
     "/usr/share/doc/python3-pygments/copyright"),
    # PyTorch's Python side and the two math libraries python3-torch depends on: wherever the
    # trainer runs, they are installed with it.
    ("torch", "/usr/lib/python3/dist-packages/torch", ["**/*.py"], "BSD-3-Clause",
     "/usr/share/doc/python3-torch/copyright (Files: *)"),
    ("sympy", "/usr/lib/python3/dist-packages/sympy", ["**/*.py"], "BSD-3-Clause",
     "/usr/share/doc/python3-sympy/copyright (Files: *)"),
    ("mpmath", "/usr/lib/python3/dist-packages/mpmath", ["**/*.py"], "BSD-3-Clause",
     "/usr/share/doc/python3-mpmath/copyright (Files: *)"),
]


def _skip_dir(rel):
    # site-packages/dist-packages inside the stdlib tree are other projects; caches are not code.
    parts = rel.split(os.sep)
    return any(p in ("site-packages", "dist-packages", "__pycache__") for p in parts)


def allowed_node_sources():
    """The source names of npm_sources.txt (beside this file)."""
    with open(os.path.join(HERE, "npm_sources.txt")) as f:
        return {line.strip() for line in f if line.strip() and not line.startswith("#")}


def node_sources():
    """One source per node package (nested node_modules included) with an allowed licence and a
    name in npm_sources.txt."""
    allowed, out = allowed_node_sources(), []
    for pj in sorted(glob.glob(os.path.join(REPO, "node_modules", "**", "package.json"),
                              recursive=True)):
        root = os.path.dirname(pj)
        rel = os.path.relpath(root, os.path.join(REPO, "node_modules"))
        # A package root is node_modules/<name> or node_modules/@scope/<name> (possibly nested).
        segs = rel.split(os.sep)
        tail = segs[segs.index("node_modules") + 1:] if "node_modules" in segs else segs
        tail = tail[tail.index("node_modules") + 1:] if "node_modules" in tail else tail
        if not (len(tail) == 1 or (len(tail) == 2 and tail[0].startswith("@"))):
            continue
        try:
            meta = json.load(open(pj, encoding="utf-8"))
        except (ValueError, OSError):
            continue
        lic = meta.get("license")
        if not isinstance(lic, str) or lic not in NODE_LICENCES:
            continue
        name = "npm:" + rel.replace(os.sep + "node_modules" + os.sep, ">")
        if name not in allowed:
            continue
        out.append((name, root, ["**/*" + e for e in CODE_EXT], lic, os.path.relpath(pj, REPO)))
    return out


def _acceptable(raw):
    if len(raw) > MAX_BYTES or not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    if max(map(len, lines)) > MAX_LINE or len(text) / len(lines) > MAX_MEAN_LINE:
        return None
    if "\x00" in text:
        return None
    # Special-token strings inside a document would be tokenized as control tokens.
    if any(s in text for s in SPECIALS):
        return None
    return text


def iter_files(name, root, patterns):
    nested = name.startswith("npm:")
    seen = set()
    for pat in patterns:
        for path in glob.glob(os.path.join(root, pat), recursive=True):
            rel = os.path.relpath(path, root)
            # Files of a nested package belong to that package's own source entry.
            if nested and "node_modules" in rel.split(os.sep):
                continue
            if rel in seen or _skip_dir(rel) or ".min." in rel or not os.path.isfile(path):
                continue
            seen.add(rel)
    return sorted(seen)


def is_heldout(source, rel):
    h = int(hashlib.sha1(f"{source}/{rel}".encode()).hexdigest()[:8], 16)
    return h % 100 < HELDOUT_PERCENT


def build(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    sources = SOURCES + node_sources()
    seen_content = set()
    stats = []
    with open(os.path.join(out_dir, "code_train.jsonl"), "w", encoding="utf-8") as ftr, \
            open(os.path.join(out_dir, "code_heldout.jsonl"), "w", encoding="utf-8") as fho:
        for name, root, patterns, lic, lic_from in sources:
            st = {"source": name, "root": os.path.relpath(root, REPO) if root.startswith(REPO)
                  else root, "licence": lic, "licence_from": lic_from,
                  "train_files": 0, "train_bytes": 0, "heldout_files": 0, "heldout_bytes": 0,
                  "skipped": 0, "duplicates": 0}
            for rel in iter_files(name, root, patterns):
                with open(os.path.join(root, rel), "rb") as f:
                    raw = f.read(MAX_BYTES + 1)
                text = _acceptable(raw)
                if text is None:
                    st["skipped"] += 1
                    continue
                digest = hashlib.sha1(raw).digest()
                if digest in seen_content:
                    st["duplicates"] += 1
                    continue
                seen_content.add(digest)
                split = "heldout" if is_heldout(name, rel) else "train"
                (fho if split == "heldout" else ftr).write(
                    json.dumps({"source": name, "path": rel, "text": text}) + "\n")
                st[split + "_files"] += 1
                st[split + "_bytes"] += len(raw)
            if st["train_files"] + st["heldout_files"]:
                stats.append(st)
    with open(os.path.join(out_dir, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    write_card(stats, os.path.join(HERE, "DATA_CARD.md"))
    return stats


CARD_BEGIN = "<!-- generated by native/data/code_corpus.py: begin -->"
CARD_END = "<!-- generated by native/data/code_corpus.py: end -->"


def write_card(stats, path):
    tot = {k: sum(s[k] for s in stats) for k in
           ("train_files", "train_bytes", "heldout_files", "heldout_bytes")}
    groups = collections.defaultdict(lambda: [0, 0])  # npm packages summed into one line
    for s in stats:
        g = groups["npm packages (all, see table)" if s["source"].startswith("npm:")
                   else s["source"]]
        g[0] += s["train_files"] + s["heldout_files"]
        g[1] += s["train_bytes"] + s["heldout_bytes"]
    summary = "\n".join(f"- {k}: {v[1]:,} bytes in {v[0]} files" for k, v in groups.items())
    rows = "\n".join(
        f"| {s['source']} | {s['licence']} | `{s['licence_from']}` | {s['train_files']} | "
        f"{s['train_bytes']:,} | {s['heldout_files']} | {s['heldout_bytes']:,} |" for s in stats)
    section = f"""{CARD_BEGIN}
## Code corpus (offline, permissive licences only)

Only source code already present on the build machine is used: Debian's Python packages and the
npm packages installed in `node_modules/` by `npm ci` that `native/data/npm_sources.txt` names
(the packages of the shipped model's corpus, so new tooling does not change the data) and whose
`package.json` `license` is one of
{", ".join(sorted(NODE_LICENCES))}. Packages with other licences (e.g. BlueOak-1.0.0,
Python-2.0, dual "MIT OR CC0-1.0") are left out rather than interpreted.

Filters: extensions {", ".join(CODE_EXT)}; no `.min.*`; files over {MAX_BYTES // 1000} KB,
non-UTF-8 files, files with a line over {MAX_LINE} chars or mean line length over
{MAX_MEAN_LINE} (minified/generated), files containing our special-token strings, and exact
duplicates (SHA-1 of content, first in sorted path order wins) are skipped. Python
`site-packages`/`dist-packages`/`__pycache__` below a source root are skipped.

Summary (train + held-out):

{summary}

| source | licence | licence read from | train files | train bytes | held-out files | held-out bytes |
|---|---|---|---:|---:|---:|---:|
{rows}
| **total** | | | {tot['train_files']} | {tot['train_bytes']:,} | {tot['heldout_files']} | {tot['heldout_bytes']:,} |

Held-out split: a file is held out when `int(sha1("<source>/<path>")[:8], 16) % 100 <
{HELDOUT_PERCENT}` (about {HELDOUT_PERCENT}% of files, independent of the rest of the corpus). Use
`code_heldout.jsonl` for bits-per-byte evaluation only. Exact duplicates are removed before the
split, so no file is in both; near-duplicates (e.g. a package's `dist/` bundle and its sources)
can still cross the split.

Files (in `native/data/build/`, not committed): `code_train.jsonl`, `code_heldout.jsonl` (one
`{{"source", "path", "text"}}` object per line), `stats.json`.

Training texts: a document is `{{doc}}<|end_text|>`; a fill-in-the-middle example (PSM order) is
`<|fim_prefix|>{{prefix}}<|fim_suffix|>{{suffix}}<|fim_middle|>{{middle}}<|end_text|>`, built by
`fim_example(doc, rng)` from a window of at most `max_chars` characters of the document, with the
middle span ending at a line end 75% of the time.
{CARD_END}"""
    # Only the generated section is rewritten: the rest of the card (the math tasks, the shipped
    # mix, how to reproduce) is written by hand and kept.
    with open(path) as f:
        card = f.read()
    if CARD_BEGIN not in card or CARD_END not in card:
        sys.exit(f"{path} lacks the {CARD_BEGIN} ... {CARD_END} markers of its generated section")
    head, rest = card.split(CARD_BEGIN, 1)
    with open(path, "w") as f:
        f.write(head + section + rest.split(CARD_END, 1)[1])


def plain_example(doc):
    return doc + END_TEXT


def fim_example(doc, rng, max_chars=2000, line_end_p=0.75):
    """PSM fill-in-the-middle text from a random window of doc (random.Random rng).

    The window (at most max_chars, whole lines when possible) keeps prefix + suffix inside a short
    training context. The middle starts anywhere in the window and, with probability line_end_p,
    ends just after a newline, like an editor completion that finishes the current line(s)."""
    if len(doc) > max_chars:
        start = rng.randrange(len(doc) - max_chars)
        nl = doc.find("\n", start, start + max_chars // 2)
        start = nl + 1 if nl >= 0 else start
        end = doc.rfind("\n", start, start + max_chars)  # also end the window at a line end
        doc = doc[start:end + 1] if end > start else doc[start:start + max_chars]
    n = len(doc)
    a = rng.randrange(n + 1)
    b = min(n, a + int(rng.expovariate(1 / 120)))  # mostly short spans, sometimes long ones
    if rng.random() < line_end_p:
        nl = doc.find("\n", b)
        b = n if nl < 0 else nl + 1
    prefix, middle, suffix = doc[:a], doc[a:b], doc[b:]
    return f"{FIM_PREFIX}{prefix}{FIM_SUFFIX}{suffix}{FIM_MIDDLE}{middle}{END_TEXT}"


def iter_documents(path):
    for r in iter_records(path):
        yield r["text"]


def iter_records(path):
    """The corpus's documents as written: {"source", "path", "text"}."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def language_of(path):
    """A document's language group: "python" or "ts/js" (the groups bench:quality splits over)."""
    return "python" if path.endswith(".py") else "ts/js"


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "build"))
    args = ap.parse_args()
    stats = build(args.out)
    for s in stats:
        print(f"{s['source']:40s} {s['licence']:13s} train {s['train_files']:5d} "
              f"{s['train_bytes']:>11,} held {s['heldout_files']:3d} {s['heldout_bytes']:>9,} "
              f"skip {s['skipped']} dup {s['duplicates']}")
    tb = sum(s["train_bytes"] for s in stats)
    hb = sum(s["heldout_bytes"] for s in stats)
    print(f"total train {tb:,} bytes, held-out {hb:,} bytes", file=sys.stderr)
