#!/usr/bin/env bash
# Runs every check: the setup logic's own tests, the Kubernetes manifests' validation,
# formatting, clippy, unit and integration tests (real 3-node clusters on loopback, and a
# 3-node docker compose cluster when a Docker engine answers), the simulation's seeds, and
# boto3 and the AWS CLI against a dev cluster's AWS endpoint (installed from PyPI).
# A first run builds RocksDB from source (10-15 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/tests/prereqs.sh
bash scripts/tests/kubernetes.sh
source scripts/setup.sh
require_cargo_tools fmt clippy

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# boto3 and the AWS CLI against the AWS endpoint, with the binaries the tests just built (the
# `runnel` CLI reads what boto3 wrote through the gRPC API, an example subscribes to it with
# the AWS SDK for Rust).
cargo build --workspace --locked --bins --examples
bash scripts/tests/aws-clients.sh "$CARGO_TARGET_DIR/debug/runnel-node"
