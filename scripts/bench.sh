#!/usr/bin/env bash
# Outlay's benchmark suite (crates/bench): builds the binaries with PROFILE (release by
# default): `outlay` as the Lambda package builds it (`--no-default-features --features aws`,
# kept as outlay-lambda) and as one machine runs it, and the `lambda-hello` baseline; installs
# wrk (Debian's package) if it is missing; starts Outlay's AWS stack in moto for the Lambda cold
# start (scripts/moto-stack.sh); and runs every benchmark, each reported as a ratio against a
# baseline measured in the same run. Arguments go to outlay-bench: --smoke for a short run,
# --seconds N per load, --connections N, --reports N for the list benchmark.
# Results: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
profile=${PROFILE:-release}
dir=target/$profile
[ "$profile" = dev ] && dir=target/debug
# As scripts/package-lambda.sh builds it.
cargo build --locked --profile "$profile" -p outlay --bin outlay --no-default-features --features aws
cp "$dir/outlay" "$dir/outlay-lambda"
# Without -p, as `cargo run --release -- demo` builds it (the README's binary, which CI has
# built already): the workspace's features, with the bench's binaries beside it.
cargo build --locked --profile "$profile" --bin outlay --bin outlay-bench --bin lambda-hello
stack=$(mktemp)
pid_line=$(mktemp)
trap 'rm -f "$stack" "$pid_line"; [ -n "${OUTLAY_MOTO_PID:-}" ] && kill "$OUTLAY_MOTO_PID" 2>/dev/null; true' EXIT
OUTLAY_STACK_ENV="$stack" OUTLAY_BIN="$PWD/$dir/outlay-lambda" bash scripts/moto-stack.sh > "$pid_line"
eval "$(grep '^export OUTLAY_MOTO_PID=' "$pid_line")"
OUTLAY_BENCH_LAMBDA_ENV="$stack" OUTLAY_LAMBDA_BIN="$PWD/$dir/outlay-lambda" OUTLAY_BIN="$PWD/$dir/outlay" \
  "$dir/outlay-bench" "$@"
