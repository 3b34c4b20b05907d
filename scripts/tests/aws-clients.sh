#!/usr/bin/env bash
# Runs boto3 and the AWS CLI, unchanged, against a 3-node `runnel-node dev` cluster's AWS
# endpoint (scripts/tests/aws_clients.py). Installs them from PyPI into a virtualenv kept
# outside the checkout (RUNNEL_VENV, default ~/.cache/runnel-venv).
#
# Usage: aws-clients.sh [RUNNEL_NODE_BINARY]  (default: the debug build in CARGO_TARGET_DIR)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/setup.sh

node_bin="${1:-$CARGO_TARGET_DIR/debug/runnel-node}"
[ -x "$node_bin" ] || { echo "error: no runnel-node at $node_bin (cargo build --workspace first)" >&2; exit 1; }

# Pinned, so that a new release of either cannot change what passes here.
BOTO3_VERSION=1.44.18
AWSCLI_VERSION=1.46.3
venv="${RUNNEL_VENV:-$HOME/.cache/runnel-venv}"
if ! "$venv/bin/python" -c "import boto3, sys; sys.exit(boto3.__version__ != '$BOTO3_VERSION')" 2>/dev/null ||
    ! "$venv/bin/aws" --version 2>&1 | grep -q "aws-cli/$AWSCLI_VERSION "; then
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
    "$venv/bin/pip" install -q --disable-pip-version-check "boto3==$BOTO3_VERSION" "awscli==$AWSCLI_VERSION"
fi

dir=$(mktemp -d)
# Ports of their own, away from a dev cluster on the defaults.
base=$((20000 + RANDOM % 20000))
"$node_bin" dev --dir "$dir/data" --base-port "$base" --peer-base-port $((base + 10)) \
    --metrics-base-port $((base + 20)) --aws-base-port $((base + 30)) >"$dir/cluster.log" 2>&1 &
cluster=$!
cleanup() {
    kill -INT "$cluster" 2>/dev/null || true
    wait "$cluster" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

if ! "$venv/bin/python" scripts/tests/aws_clients.py "http://127.0.0.1:$((base + 31))" "$venv/bin/aws"; then
    echo "--- cluster log (last 50 lines)" >&2
    tail -50 "$dir/cluster.log" >&2
    exit 1
fi
