#!/usr/bin/env bash
# A short run of every cargo-fuzz target (fuzz/fuzz_targets) from its committed corpus
# (fuzz/corpus): each must run FUZZ_SECONDS (default 15) without a crash. Needs the nightly
# toolchain and cargo-fuzz (installed if missing). Sanitizers are off (`-s none`) to keep the
# build short; a longer local session can drop `-s none` for AddressSanitizer.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
seconds=${FUZZ_SECONDS:-15}
cargo +nightly fuzz build --dev -s none
# One target's run; fails on a crash, a hang, running out of memory or not starting at all.
run_target() {
  local target=$1 scratch log code=0
  # New finds go to a scratch folder: the committed corpus stays as reviewed.
  scratch=$(mktemp -d)
  log="$scratch.log"
  rm -rf "artifacts/$target"
  cargo +nightly fuzz run --dev -s none "$target" "$scratch" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 >"$log" 2>&1 || code=$?
  echo "== fuzz $target for ${seconds}s: $(grep -E '^Done' "$log" || echo 'no summary')"
  rm -rf "$scratch"
  if [ "$code" != 0 ] || [ -n "$(ls -A "artifacts/$target" 2>/dev/null)" ]; then
    tail -n 40 "$log" >&2
    echo "fuzz $target failed (exit $code); inputs in fuzz/artifacts/$target" >&2
    return 1
  fi
  rm -f "$log"
}
# Each libFuzzer run keeps one core busy: two at a time.
status=0
targets=($(cargo +nightly fuzz list))
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pids=()
  for target in "${targets[@]:i:2}"; do
    run_target "$target" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
done
exit $status
