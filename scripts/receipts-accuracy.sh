#!/usr/bin/env bash
# The readers' accuracy on the generated receipt set, against the goals of docs/receipts.md.
#   bash scripts/receipts-accuracy.sh            check docs/receipts.md holds this run's table
#   bash scripts/receipts-accuracy.sh --write    write the table into docs/receipts.md
# Needs tesseract-ocr (eng, deu), poppler-utils, fonts-dejavu-core and the .venv of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=--check
[ "${1:-}" = "--write" ] && mode=--write
rm -rf target/receipts-set
.venv/bin/python scripts/receipts/make-set.py target/receipts-set 2>/dev/null
cargo run -q --locked -p outlay-receipts --features tesseract --bin receipts-accuracy -- \
  target/receipts-set "$mode" docs/receipts.md
