#!/usr/bin/env bash
# Outlay's benchmark suite (crates/bench): builds the release binaries, installs wrk (Debian's
# package) if it is missing, and runs every benchmark, each reported as a ratio against a
# baseline measured in the same run. Arguments go to outlay-bench: --smoke for a short run,
# --seconds N per load, --connections N. Results and how to read them: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
profile=${PROFILE:-release}
cargo build --locked --profile "$profile" -p outlay -p outlay-bench --bins
dir=target/$profile
[ "$profile" = dev ] && dir=target/debug
OUTLAY_BIN="$PWD/$dir/outlay" "$dir/outlay-bench" "$@"
