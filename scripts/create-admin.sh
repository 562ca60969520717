#!/usr/bin/env bash
# Creates the first administrator of a deployed stack, through Outlay itself, so that it is
# audited like every other change: a Cognito user in the Admin and Employee groups, and their
# profile (keyed by the Cognito `sub`) in the table.
#   STACK=outlay-prod OUTLAY_NEW_PASSWORD='a long Passw0rd!' scripts/create-admin.sh admin@example.com "Ada Admin"
# It runs the packaged bootstrap (scripts/package-lambda.sh) with the stack's settings and your
# AWS credentials (which need the same rights as the function).
set -euo pipefail
cd "$(dirname "$0")/.."
email=${1:?usage: create-admin.sh EMAIL NAME}
name=${2:?usage: create-admin.sh EMAIL NAME}
stack=${STACK:-outlay-prod}
: "${OUTLAY_NEW_PASSWORD:?set OUTLAY_NEW_PASSWORD (the pool's policy: 12+ characters, upper and lower case, a digit, a symbol)}"
output() { aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text; }
bin=target/lambda/pkg/bootstrap
[ -x "$bin" ] || bash scripts/package-lambda.sh
OUTLAY_STORE=dynamodb \
OUTLAY_DYNAMODB_TABLE=$(output TableName) \
OUTLAY_RECEIPTS_BUCKET=$(output ReceiptsBucketName) \
OUTLAY_COGNITO_USER_POOL_ID=$(output UserPoolId) \
OUTLAY_COGNITO_CLIENT_ID=$(output UserPoolClientId) \
OUTLAY_SES_FROM=${SENDER_EMAIL:-noreply@example.com} \
  "$bin" admin create-user --email "$email" --name "$name" --role admin
