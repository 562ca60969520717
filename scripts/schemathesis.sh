#!/usr/bin/env bash
# Property-based API testing: schemathesis against /openapi.json with every check and every
# phase, once per role, two roles at a time. Each role runs twice, each time on its own fresh demo server: the
# examples, coverage and fuzzing phases, then the stateful phase (which follows the links
# between operations), so that random changes of one run (a new policy, a deactivated user)
# never reach another. Before the stateful phase, scripts/schemathesis-seed.py gives the server
# reports in every state a role can act on, which the lists' links (crates/http/src/apidoc.rs)
# lead to: without them no approval, rejection or payment could succeed, and nothing after one
# could be followed. Fails on any failure or error, and when the stateful runs together follow
# fewer than a quarter of the API's links (54 of 220 with 90 s per role once issue 13's payment
# routes came, and 51 at 120 s with the journal's; 60 of 212 before them; 52 to 54 of 157
# before issue 12's routes added 55 inferred links, mostly to admin's and finance's organisation
# and delegation routes). With issue 14's routes, 83 of 304 at 135 s one role at a time, and 80
# two at a time, where each phase runs slower: the stateful phase now has 165 s. OUTLAY_BIN names the binary (default
# target/debug/outlay); .ci/schemathesis.toml sets how many cases each phase generates.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${OUTLAY_BIN:-target/debug/outlay}
venv=${VENV_API:-.venv-api}
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q -r .ci/requirements-api.txt
fi
out=$(mktemp -d)
lanes=()
# On the way out, also whatever a lane left running: every server and schemathesis names $out.
trap 'kill "${lanes[@]}" 2>/dev/null || true; pkill -f -- "$out/" 2>/dev/null || true; rm -rf "$out"' EXIT
password=demo-password-for-schemathesis

# Both runs of one role, one after the other; fails when either does.
role_runs() {
  local role=$1 status=0 phases run port token
  for phases in examples,coverage,fuzzing stateful; do
    run="$role-${phases%%,*}"
    # The stateful phase repeats its scenarios until its time is spent.
    local budget=()
    [ "$phases" = stateful ] && budget=(--max-time "${ST_STATEFUL_SECONDS:-165}")
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    OUTLAY_LOG=warn OUTLAY_DEMO_PASSWORD=$password \
      "$bin" demo --addr "127.0.0.1:$port" --data-dir "$out/$run-data" >"$out/$run-server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    # (Called as `role_runs … || failed=1`, this function runs without set -e: each step that
    # may fail says so itself.)
    token=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/token" -H 'content-type: application/json' \
      -d "{\"email\":\"$role@example.com\",\"password\":\"$password\"}" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])') || token=
    local ready=yes
    if [ -z "$token" ]; then
      echo "schemathesis as $role: no token from the demo server" >&2
      ready=
    elif [ "$phases" = stateful ] &&
      ! python3 scripts/schemathesis-seed.py "http://127.0.0.1:$port" "$password" "$role"; then
      echo "schemathesis as $role: seeding the reports for the stateful phase failed" >&2
      ready=
    fi
    if [ -z "$ready" ]; then
      status=1
      kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=
      continue
    fi
    echo "== schemathesis as $role: $phases"
    if ! "$venv/bin/schemathesis" --config-file .ci/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
        -H "Authorization: Bearer $token" --checks all --phases "$phases" "${budget[@]}" --workers 1 --seed 20261202 \
        --no-color --report ndjson --report-dir "$out/$run-report" >"$out/$run.txt" 2>&1; then
      status=1
      sed -n '/^=* FAILURES =*$/,/^=* SUMMARY =*$/p' "$out/$run.txt" | head -200
      sed -n '/^=* ERRORS =*$/,/^=* SUMMARY =*$/p' "$out/$run.txt" | head -60
    fi
    sed -n '/^ *API Links:/p; /^Failures:/,/^$/p; /^Errors:/,/^$/p; /=====.* in [0-9.]*s/p' "$out/$run.txt"
    kill "$server"; wait "$server" 2>/dev/null || true; server=
  done
  return $status
}

# Two lanes at once, each a schemathesis and a server that keep about one core busy: admin's
# runs (the most operations) with employee's, manager's with finance's.
status=0
lane() {
  local failed=0
  server=
  trap 'kill $server 2>/dev/null || true' EXIT
  for role in "$@"; do role_runs "$role" || failed=1; done
  return $failed
}
(lane admin employee) >"$out/lane-1.log" 2>&1 &
lanes+=($!)
(lane manager finance) >"$out/lane-2.log" 2>&1 &
lanes+=($!)
for lane in 1 2; do
  wait "${lanes[$((lane - 1))]}" || status=1
  cat "$out/lane-$lane.log"
done
# The links the stateful runs followed, together, against the links there are.
python3 - "$out" <<'PY' || status=1
import glob, json, re, sys
followed, selected = set(), 0
def walk(o):
    if isinstance(o, dict):
        t = o.get("transition")
        if isinstance(t, dict) and "id" in t:
            followed.add(t["id"])
        for v in o.values():
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
for path in glob.glob(f"{sys.argv[1]}/*-stateful-report/*.ndjson"):
    for line in open(path):
        walk(json.loads(line))
for path in glob.glob(f"{sys.argv[1]}/*-stateful.txt"):
    m = re.search(r"API Links:\s+\d+ covered / (\d+) selected", open(path).read())
    selected = max(selected, int(m.group(1))) if m else selected
print(f"stateful phase: {len(followed)} of {selected} links followed by the four roles together")
# A quarter: issue 12's routes (cost centres, projects, routing rules, delegations, a report's
# route and line rejection) raised the links to 212, 192 of them inferred, and the seeded run of
# 2026-12-05 followed 60 (28%; 52 to 54 of 157 before, a third). Seeding the organisation and
# delegations for the stateful runs, to raise it again, is open work.
if selected == 0 or 4 * len(followed) < selected:
    sys.exit("schemathesis: the stateful phase followed fewer than a quarter of the API's links")
PY
exit $status
