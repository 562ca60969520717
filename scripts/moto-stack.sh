#!/usr/bin/env bash
# Starts moto on a free loopback port and creates Outlay's AWS stack in it: the table (keys and
# indexes read from infra/template.yaml), the receipts bucket, the audit checkpoint bucket
# (Object Lock, compliance mode) and signing key (KMS, ECC_NIST_P256), the events topic, the
# sender identity, the user pool (the template's password policy), an app client that also
# allows ADMIN_USER_PASSWORD_AUTH for tests, the four groups, and the demo company's users (in
# Cognito and the directory, by `outlay admin seed-demo`; OUTLAY_BIN names a binary built with
# `--features aws`, else it is built). It prints the `export` lines that point `outlay` at it.
# Stop moto with: kill $OUTLAY_MOTO_PID
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q -r .ci/requirements.txt
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
pid=$!
# Until the stack is ready, a failure stops moto too.
trap 'kill "$pid" 2>/dev/null' ERR
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null && break; sleep 0.1; done
export OUTLAY_DEMO_PASSWORD=${OUTLAY_DEMO_PASSWORD:-Demo-password-2026!}
env_out=${OUTLAY_STACK_ENV:-$(mktemp)}
STACK_ENV_OUT="$env_out" "$venv/bin/python" - "$port" <<'PY'
import os, sys
import boto3
from cfnlint.decode import decode

url = f"http://127.0.0.1:{sys.argv[1]}"
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
template, problems = decode("infra/template.yaml")
assert not problems, problems
res = template["Resources"]
table = res["Table"]["Properties"]
boto3.client("dynamodb", **kw).create_table(
    TableName="outlay-local",
    BillingMode=table["BillingMode"],
    AttributeDefinitions=table["AttributeDefinitions"],
    KeySchema=table["KeySchema"],
    GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"],
)
s3 = boto3.client("s3", **kw)
s3.create_bucket(Bucket="outlay-receipts")
lock = res["AuditBucket"]["Properties"]["ObjectLockConfiguration"]
s3.create_bucket(Bucket="outlay-audit", ObjectLockEnabledForBucket=True)
s3.put_object_lock_configuration(Bucket="outlay-audit", ObjectLockConfiguration={
    "ObjectLockEnabled": "Enabled",
    "Rule": {"DefaultRetention": {"Mode": lock["Rule"]["DefaultRetention"]["Mode"], "Days": 1}},
})
key = res["AuditKey"]["Properties"]
audit_key = boto3.client("kms", **kw).create_key(KeySpec=key["KeySpec"], KeyUsage=key["KeyUsage"])["KeyMetadata"]["KeyId"]
topic = boto3.client("sns", **kw).create_topic(Name="outlay-events")["TopicArn"]
boto3.client("sesv2", **kw).create_email_identity(EmailIdentity="outlay@example.com")
cognito = boto3.client("cognito-idp", **kw)
policy = res["UserPool"]["Properties"]["Policies"]
pool = cognito.create_user_pool(PoolName="outlay", Policies=policy, UsernameAttributes=["email"])["UserPool"]["Id"]
client = cognito.create_user_pool_client(
    UserPoolId=pool, ClientName="web",
    ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
)["UserPoolClient"]["ClientId"]
for name in ("Employee", "Manager", "Finance", "Admin"):
    cognito.create_group(UserPoolId=pool, GroupName=name)
with open(os.environ["STACK_ENV_OUT"], "w") as out:
    for k, v in {
        "AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "OUTLAY_STORE": "dynamodb", "OUTLAY_DYNAMODB_TABLE": "outlay-local", "OUTLAY_RECEIPTS_BUCKET": "outlay-receipts",
        "OUTLAY_AUDIT_BUCKET": "outlay-audit", "OUTLAY_AUDIT_KMS_KEY_ID": audit_key,
        "OUTLAY_COGNITO_USER_POOL_ID": pool, "OUTLAY_COGNITO_CLIENT_ID": client, "OUTLAY_SNS_TOPIC_ARN": topic,
        "OUTLAY_SES_FROM": "outlay@example.com",
    }.items():
        print(f"export {k}={v}", file=out)
PY
[ -n "${OUTLAY_STACK_ENV:-}" ] || cat "$env_out"
echo "export OUTLAY_DEMO_PASSWORD='$OUTLAY_DEMO_PASSWORD'"
echo "export OUTLAY_MOTO_PID=$pid"
# The demo company, in Cognito and the directory, with the variables just printed.
(
  # shellcheck disable=SC1090
  source "$env_out"
  if [ -z "${OUTLAY_BIN:-}" ]; then
    cargo build -q --features aws --bin outlay
    OUTLAY_BIN=target/debug/outlay
  fi
  OUTLAY_LOG=warn "$OUTLAY_BIN" admin seed-demo >&2
) || { kill "$pid"; echo "moto-stack: seeding the demo company failed" >&2; exit 1; }
[ -n "${OUTLAY_STACK_ENV:-}" ] || rm -f "$env_out"
echo "# the demo company is in Cognito; then: cargo run --features aws -- serve" >&2
