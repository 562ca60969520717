#!/usr/bin/env bash
# Packages the bootstrap and deploys infra/template.yaml with the AWS CLI, then prints the
# stack's outputs. Needs AWS credentials, an S3 bucket for the package (ARTIFACT_BUCKET), and:
#   STACK (default outlay-prod), STAGE (prod), SENDER_EMAIL, ALARM_EMAIL, AUTH_DOMAIN_PREFIX,
#   ARCH (x86_64), BASE_CURRENCY (USD), WEB_ORIGIN (optional), DASHBOARD (true for the
#   CloudWatch dashboard, $3 a month; off by default).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ARTIFACT_BUCKET:?set ARTIFACT_BUCKET to an S3 bucket for the package}"
: "${SENDER_EMAIL:?set SENDER_EMAIL}" "${ALARM_EMAIL:?set ALARM_EMAIL}" "${AUTH_DOMAIN_PREFIX:?set AUTH_DOMAIN_PREFIX}"
stack=${STACK:-outlay-prod}
ARCH=${ARCH:-x86_64} bash scripts/package-lambda.sh
aws cloudformation package \
  --template-file infra/template.yaml \
  --s3-bucket "$ARTIFACT_BUCKET" \
  --output-template-file target/lambda/packaged.yaml
params=(
  "Stage=${STAGE:-prod}" "Architecture=${ARCH:-x86_64}" "BaseCurrency=${BASE_CURRENCY:-USD}"
  "SenderEmail=$SENDER_EMAIL" "AlarmEmail=$ALARM_EMAIL" "AuthDomainPrefix=$AUTH_DOMAIN_PREFIX"
)
[ -n "${WEB_ORIGIN:-}" ] && params+=("WebOrigin=$WEB_ORIGIN")
[ "${DASHBOARD:-false}" = true ] && params+=("CreateDashboard=true")
aws cloudformation deploy \
  --template-file target/lambda/packaged.yaml \
  --stack-name "$stack" \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
  --parameter-overrides "${params[@]}" \
  --no-fail-on-empty-changeset
aws cloudformation describe-stacks --stack-name "$stack" \
  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table
