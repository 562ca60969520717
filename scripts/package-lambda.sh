#!/usr/bin/env bash
# Builds the Lambda package: the lean outlay binary (`--no-default-features --features aws`: no
# SQLite, no SMTP; with DATABASE=aurora-postgresql, `aws,postgres`), named `bootstrap`, for the provided.al2023 runtime (glibc 2.34), zipped into
# target/lambda/outlay.zip.
#
# It links against glibc 2.34 with cargo-zigbuild (zig from the `ziglang` package), then checks
# that no symbol needs a newer glibc. Only the x86_64 Rust target is installed here; for arm64
# add `aarch64-unknown-linux-gnu` with rustup and pass ARCH=arm64.
#
# LINK=host links with this machine's own toolchain instead; the same glibc check then decides
# whether the result may ship.
#
# `-p outlay`: the dependencies' features are outlay's own, exactly what `cargo tree` checks
# below, never unified with the other workspace members' features.
# PROFILE=dev skips the release optimisations.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${ARCH:-x86_64}
case "$arch" in
  x86_64) target=x86_64-unknown-linux-gnu ;;
  arm64) target=aarch64-unknown-linux-gnu ;;
  *) echo "ARCH must be x86_64 or arm64" >&2; exit 2 ;;
esac
profile=${PROFILE:-release}
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
# DATABASE=aurora-postgresql adds the PostgreSQL store, for the template's Aurora variant.
case "${DATABASE:-dynamodb}" in
  dynamodb) features=(--no-default-features --features aws); forbidden='sqlx|lettre|libsqlite3-sys' ;;
  aurora-postgresql) features=(--no-default-features --features aws,postgres); forbidden='sqlx-sqlite|lettre|libsqlite3-sys' ;;
  *) echo "DATABASE must be dynamodb or aurora-postgresql" >&2; exit 2 ;;
esac
leaked=$(cargo tree --locked -p outlay -e normal "${features[@]}" | grep -E -o "($forbidden) v[0-9.]+" | sort -u || true)
if [ -n "$leaked" ]; then
  echo "the Lambda build must carry no SQLite or SMTP code, but depends on: $leaked" >&2
  exit 1
fi
# OCR runs the tesseract program, which a Lambda function does not have: its reader stays out.
if cargo tree --locked -p outlay -e features "${features[@]}" -i outlay-receipts | grep -q 'feature "tesseract"'; then
  echo "the Lambda build must not carry the tesseract reader" >&2
  exit 1
fi
case "${LINK:-zig}" in
  zig)
    venv=${VENV:-.venv}
    if [ ! -x "$venv/bin/cargo-zigbuild" ]; then
      python3 -m venv "$venv"
      "$venv/bin/pip" install -q ziglang cargo-zigbuild
    fi
    export PATH="$PWD/$venv/bin:$PATH"
    cargo zigbuild --profile "$profile" --locked -p outlay --bin outlay "${features[@]}" --target "$target.2.34"
    bin="target/$target/$dir/outlay"
    ;;
  host)
    [ "$arch" = x86_64 ] || { echo "LINK=host builds for this machine only (x86_64)" >&2; exit 2; }
    cargo build --profile "$profile" --locked -p outlay --bin outlay "${features[@]}"
    bin="target/$dir/outlay"
    ;;
  *) echo "LINK must be zig or host" >&2; exit 2 ;;
esac
newest=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)
echo "highest glibc symbol version: $newest"
if [ "$(printf '%s\n' "$newest" GLIBC_2.34 | sort -V | tail -n 1)" != "GLIBC_2.34" ]; then
  echo "the bootstrap needs $newest, newer than provided.al2023's glibc 2.34" >&2
  exit 1
fi
out=target/lambda
rm -rf "$out" && mkdir -p "$out/pkg"
cp "$bin" "$out/pkg/bootstrap"
strip "$out/pkg/bootstrap" 2>/dev/null || true
(cd "$out/pkg" && python3 -c 'import zipfile, os; z = zipfile.ZipFile("../outlay.zip", "w", zipfile.ZIP_DEFLATED); i = zipfile.ZipInfo("bootstrap"); i.external_attr = 0o755 << 16; i.compress_type = zipfile.ZIP_DEFLATED; z.writestr(i, open("bootstrap", "rb").read()); z.close()')
echo "bootstrap: $(stat -c %s "$out/pkg/bootstrap") bytes; outlay.zip: $(stat -c %s "$out/outlay.zip") bytes"
