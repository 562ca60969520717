#!/usr/bin/env bash
# Outlay's benchmark suite (crates/bench): builds the binaries (`outlay` with the AWS mode, and
# the `lambda-hello` baseline) with PROFILE (release by default), installs wrk (Debian's
# package) if it is missing, starts Outlay's AWS stack in moto for the Lambda cold start
# (scripts/moto-stack.sh), and runs every benchmark, each reported as a ratio against a baseline
# measured in the same run. Arguments go to outlay-bench: --smoke for a short run, --seconds N
# per load, --connections N, --reports N for the list benchmark. Results: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
profile=${PROFILE:-release}
cargo build --locked --profile "$profile" -p outlay -p outlay-bench --features outlay/aws --bins
dir=target/$profile
[ "$profile" = dev ] && dir=target/debug
stack=$(mktemp)
trap 'rm -f "$stack"; [ -n "${OUTLAY_MOTO_PID:-}" ] && kill "$OUTLAY_MOTO_PID" 2>/dev/null; true' EXIT
eval "$(OUTLAY_STACK_ENV="$stack" OUTLAY_BIN="$PWD/$dir/outlay" bash scripts/moto-stack.sh | grep '^export OUTLAY_MOTO_PID=')"
OUTLAY_BENCH_LAMBDA_ENV="$stack" OUTLAY_BIN="$PWD/$dir/outlay" "$dir/outlay-bench" "$@"
