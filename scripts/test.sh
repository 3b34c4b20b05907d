#!/usr/bin/env bash
# Runs every check: formatting, clippy, unit and integration tests (real 3-node clusters on
# loopback). A first run builds RocksDB from source (10-15 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
