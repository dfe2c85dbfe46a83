#!/usr/bin/env bash
# Builds the ssobench book (docs/) into docs/book/: writes the command-line reference's help
# texts from the release binaries, checks the Markdown sources, builds with a pinned mdBook
# (installed under target/tools — or $CARGO_TARGET_DIR/tools — when it is missing) and checks every link of the built book and
# of README.md. Exits non-zero on a missing binary, a failed build or a broken link.
#
#   scripts/book.sh                    (build first: cargo build --release --workspace)
#   scripts/book.sh --sources-only     the help texts and the Markdown check, without mdBook
set -euo pipefail
cd "$(dirname "$0")/.."

# One version for everyone, so that a page renders the same on every machine.
MDBOOK_VERSION=0.4.52

sources_only=
case "${1:-}" in
  "") ;;
  --sources-only) sources_only=1 ;;
  *) echo "usage: scripts/book.sh [--sources-only]" >&2; exit 2 ;;
esac

# Where cargo builds: target/, or $CARGO_TARGET_DIR when it is set.
target=${CARGO_TARGET_DIR:-target}

# (a) The help texts. The reference pages include these files instead of copying the flags, so
# the book says what the binaries say. Each line: the file's name, then the command.
generated=docs/src/reference/generated
help_texts=(
  "loadtest loadtest"
  "loadtest-store loadtest store"
  "loadtest-matrix loadtest matrix"
  "loadtest-calibrate loadtest calibrate"
  "loadtest-profile loadtest profile"
  "loadtest-plan loadtest plan"
  "loadtest-worker loadtest worker"
  "loadtest-kube loadtest kube"
  "loadtest-coordinate loadtest coordinate"
  "mock-services-serve mock-services serve"
  "mock-services-dev-cert mock-services dev-cert"
  "reports reports"
  "reports-merge reports merge"
)
mkdir -p "$generated"
for line in "${help_texts[@]}"; do
  read -r name binary subcommand <<<"$line"
  if [ ! -x "$target/release/$binary" ]; then
    echo "$target/release/$binary is missing: build first: cargo build --release --workspace" >&2
    exit 1
  fi
  # Written to a temporary file first, so a failing binary leaves no half-written page behind.
  # shellcheck disable=SC2086 # $subcommand is empty or one word.
  "$target/release/$binary" $subcommand --help >"$generated/$name.txt.tmp"
  mv "$generated/$name.txt.tmp" "$generated/$name.txt"
done
echo "help texts written to $generated/"

# The sources first: a page missing from SUMMARY.md would otherwise be left out silently.
python3 scripts/check-book-links.py --markdown docs/src
if [ -n "$sources_only" ]; then
  exit 0
fi

# (b) mdBook, the pinned version: on PATH, or installed under target/tools.
mdbook=
for candidate in mdbook "$target/tools/bin/mdbook"; do
  if command -v "$candidate" >/dev/null 2>&1 \
    && [ "$("$candidate" --version 2>/dev/null)" = "mdbook v$MDBOOK_VERSION" ]; then
    mdbook=$candidate
    break
  fi
done
if [ -z "$mdbook" ]; then
  install=(cargo install mdbook --version "$MDBOOK_VERSION" --locked --no-default-features
    --root "$target/tools")
  echo "mdbook $MDBOOK_VERSION not found; installing it into $target/tools: ${install[*]}" >&2
  "${install[@]}"
  mdbook=$target/tools/bin/mdbook
fi

# (c) The book.
"$mdbook" build docs

# (d) Every link of the built book. mdBook does not fail on a broken link or an include it could
# not read; this does.
python3 scripts/check-book-links.py docs/book
echo "book: docs/book/index.html"
