#!/usr/bin/env bash
# Runs the README's curl walkthrough, as written, against a fresh `outlay demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${OUTLAY_BIN:-target/debug/outlay}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
log=$(mktemp)
"$bin" demo --addr "127.0.0.1:$port" --data-dir "$data" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done
script=$(mktemp)
{
  echo 'set -euo pipefail'
  sed -n '/<!-- walkthrough:start -->/,/<!-- walkthrough:end -->/p' README.md | sed '/^```/d;/^<!--/d'
} >"$script"
out=$(OUTLAY_URL="http://127.0.0.1:$port" bash "$script")
echo "$out"
grep -qx 'paid' <<<"$out" || { echo "README walkthrough: the report was not paid"; exit 1; }
grep -q '"ok":true' <<<"$out" || { echo "README walkthrough: the audit chain did not verify"; exit 1; }
grep -q 'report.pay' <<<"$out" || { echo "README walkthrough: the history lacks the payment"; exit 1; }
grep -qx 'pending_manager' <<<"$out" || { echo "README walkthrough: the lunch report was not submitted"; exit 1; }
grep -q '"base_amount":"19.96"' <<<"$out" || { echo "README walkthrough: the EUR expense was not converted"; exit 1; }
grep -q 'rule: lines charged to cost centre MKT' <<<"$out" || { echo "README walkthrough: the route lacks the rule's step"; exit 1; }
grep -q '"rejection":"Taxis home are not reimbursed"' <<<"$out" || { echo "README walkthrough: the taxi line was not rejected"; exit 1; }
grep -q '"would_break":\[' <<<"$out" || { echo "README walkthrough: the policy preview did not answer"; exit 1; }
grep -q '"amount":"87.00","currency":"USD","rate":"0.725"' <<<"$out" || { echo "README walkthrough: the mileage was not priced"; exit 1; }
grep -q '"amount":"154.00","days":\["51.00","52.00","51.00"\]' <<<"$out" || { echo "README walkthrough: the per diem was not priced"; exit 1; }
grep -q '"state":"paid","total":"241.00"' <<<"$out" || { echo "README walkthrough: the batch was not settled"; exit 1; }
grep -q '"debits":241,"credits":241}' <<<"$out" || { echo "README walkthrough: the journal lacks the balanced batch"; exit 1; }
grep -q '^\*Narration,\*Date,' <<<"$out" || { echo "README walkthrough: no Xero journal file"; exit 1; }
echo "README walkthrough: ok"
