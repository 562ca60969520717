#!/usr/bin/env bash
# Builds the AWS stack in moto with scripts/moto-stack.sh (its table read from the template),
# signs in to Cognito as a demo user straight away (the script seeded the company), then serves
# `outlay serve` on the stack and checks that the token reaches the API as that user.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${OUTLAY_BIN:-target/debug/outlay}
env_file=$(mktemp)
OUTLAY_BIN="$bin" OUTLAY_STACK_ENV="$env_file" bash scripts/moto-stack.sh >"$env_file.extra"
# shellcheck disable=SC1090
source "$env_file"; source "$env_file.extra"
trap 'kill ${server:-} $OUTLAY_MOTO_PID 2>/dev/null || true; rm -f "$env_file" "$env_file.extra"' EXIT
cognito_token() {
  .venv/bin/python - "$1" <<'PY'
import os, sys, boto3
c = boto3.client("cognito-idp", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                 aws_access_key_id="test", aws_secret_access_key="test")
r = c.admin_initiate_auth(UserPoolId=os.environ["OUTLAY_COGNITO_USER_POOL_ID"], ClientId=os.environ["OUTLAY_COGNITO_CLIENT_ID"],
                          AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                          AuthParameters={"USERNAME": sys.argv[1], "PASSWORD": os.environ["OUTLAY_DEMO_PASSWORD"]})
print(r["AuthenticationResult"]["AccessToken"])
PY
}
# Straight after the script, before any server ran: the demo users exist.
token=$(cognito_token finance@example.com)
admin_token=$(cognito_token admin@example.com)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
OUTLAY_LOG=warn "$bin" serve --addr "127.0.0.1:$port" --data-dir "$(mktemp -d)" >/dev/null 2>&1 &
server=$!
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/healthz"
echo
me=$(curl -sf "http://127.0.0.1:$port/api/v1/me" -H "authorization: Bearer $token")
echo "$me"
grep -q '"email":"finance@example.com"' <<<"$me" || { echo "moto stack: the Cognito user is not Outlay's finance user"; exit 1; }
grep -q '"finance"' <<<"$me" || { echo "moto stack: the Finance group did not become the finance role"; exit 1; }
verify=$(curl -sf "http://127.0.0.1:$port/api/v1/audit/verify" -H "authorization: Bearer $admin_token")
echo "$verify"
grep -q '"ok":true' <<<"$verify" || { echo "moto stack: the audit chain does not verify against its KMS-signed checkpoints"; exit 1; }
echo "moto stack: ok"
