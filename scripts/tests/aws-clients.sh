#!/usr/bin/env bash
# Runs boto3 and the AWS CLI, unchanged, against a 3-node `runnel-node dev` cluster's AWS
# endpoint (scripts/tests/aws_clients.py, aws_actions.py), which accepts any credentials; then against one
# `runnel-node run` node given --aws-credentials-file, which verifies SigV4 signatures
# (aws_clients.py --signed). Installs them from PyPI into a virtualenv kept outside the
# checkout (RUNNEL_VENV, default ~/.cache/runnel-venv).
#
# Usage: aws-clients.sh [RUNNEL_NODE_BINARY]  (default: the debug build in CARGO_TARGET_DIR)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/setup.sh

node_bin="${1:-$CARGO_TARGET_DIR/debug/runnel-node}"
[ -x "$node_bin" ] || { echo "error: no runnel-node at $node_bin (cargo build --workspace first)" >&2; exit 1; }

# Pinned, so that a new release of any cannot change what passes here. cbor2 encodes and
# decodes the CBOR protocol's requests independently of Runnel's codec.
BOTO3_VERSION=1.44.18
AWSCLI_VERSION=1.46.3
CBOR2_VERSION=6.3.0
venv="${RUNNEL_VENV:-$HOME/.cache/runnel-venv}"
if ! "$venv/bin/python" -c "import boto3, sys; sys.exit(boto3.__version__ != '$BOTO3_VERSION')" 2>/dev/null ||
    ! "$venv/bin/aws" --version 2>&1 | grep -q "aws-cli/$AWSCLI_VERSION " ||
    ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('cbor2') != '$CBOR2_VERSION')" 2>/dev/null; then
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "installing python3-venv (apt-get)" >&2
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
        else
            echo "error: python3 with venv is needed for the AWS client tests: sudo apt-get install python3-venv" >&2
            exit 1
        fi
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "boto3==$BOTO3_VERSION" "awscli==$AWSCLI_VERSION" \
        "cbor2==$CBOR2_VERSION"
fi

dir=$(mktemp -d)
# Ports of their own, away from a dev cluster on the defaults.
base=$((20000 + RANDOM % 20000))
"$node_bin" dev --dir "$dir/data" --base-port "$base" --peer-base-port $((base + 10)) \
    --metrics-base-port $((base + 20)) --aws-base-port $((base + 30)) >"$dir/cluster.log" 2>&1 &
cluster=$!
signed=
cleanup() {
    for pid in $cluster $signed; do
        kill -INT "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$dir"
}
trap cleanup EXIT

endpoint="http://127.0.0.1:$((base + 31))"
runnel_cli="$(dirname "$node_bin")/runnel"
rust_sdk="$(dirname "$node_bin")/examples/aws_sdk_subscribe"
for program in "$runnel_cli" "$rust_sdk"; do
    [ -x "$program" ] || { echo "error: no $program (cargo build --workspace --bins --examples first)" >&2; exit 1; }
done
if ! "$venv/bin/python" scripts/tests/aws_clients.py "$endpoint" "$venv/bin/aws" "$runnel_cli" \
    "http://127.0.0.1:$base" "$rust_sdk" ||
    ! "$venv/bin/python" scripts/tests/aws_actions.py "$endpoint"; then
    echo "--- cluster log (last 50 lines)" >&2
    tail -50 "$dir/cluster.log" >&2
    exit 1
fi
kill -INT "$cluster" 2>/dev/null || true
wait "$cluster" 2>/dev/null || true
cluster=

# SigV4 verified, over TLS: a single-node cluster with two access keys (made up here, never
# real) and a self-signed certificate that the clients trust through AWS_CA_BUNDLE.
if ! command -v openssl >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing openssl (apt-get)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null
    else
        echo "error: openssl is needed to make the TLS test's certificate: sudo apt-get install openssl" >&2
        exit 1
    fi
fi
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$dir/tls-key.pem" -out "$dir/tls-cert.pem" 2>/dev/null
key_id=AKIDRUNNELCLIENTS
secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
printf '# access keys for the AWS endpoint\n\nAKIDRUNNELOTHER:another-secret\n%s:%s\n' "$key_id" "$secret" >"$dir/aws-keys"
chmod 600 "$dir/aws-keys"
"$node_bin" run --id 1 --listen "127.0.0.1:$((base + 40))" --peer-listen "127.0.0.1:$((base + 41))" \
    --peer "1=http://127.0.0.1:$((base + 41))" --data-dir "$dir/signed" \
    --aws-listen "127.0.0.1:$((base + 42))" --aws-credentials-file "$dir/aws-keys" \
    --aws-tls-cert "$dir/tls-cert.pem" --aws-tls-key "$dir/tls-key.pem" >"$dir/signed.log" 2>&1 &
signed=$!
if ! AWS_CA_BUNDLE="$dir/tls-cert.pem" AWS_TEST_KEY_ID="$key_id" AWS_TEST_SECRET="$secret" \
    "$venv/bin/python" scripts/tests/aws_clients.py --signed "https://127.0.0.1:$((base + 42))" "$venv/bin/aws"; then
    echo "--- node log (last 50 lines)" >&2
    tail -50 "$dir/signed.log" >&2
    exit 1
fi
if grep -qF "$secret" "$dir/signed.log"; then
    echo "error: the node logged a secret access key" >&2
    exit 1
fi
# TLS offers HTTP/2 by ALPN, as the AWS SDKs that speak it expect.
alpn=$(openssl s_client -connect "127.0.0.1:$((base + 42))" -alpn h2,http/1.1 -CAfile "$dir/tls-cert.pem" \
    -verify_return_error </dev/null 2>/dev/null | grep -a "ALPN protocol" || true)
if [ "$alpn" != "ALPN protocol: h2" ]; then
    echo "error: the TLS endpoint did not choose h2 by ALPN (got: ${alpn:-nothing})" >&2
    exit 1
fi
echo "aws endpoint over TLS: ok (verified certificate, ALPN h2)"
