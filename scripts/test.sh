#!/usr/bin/env bash
# Runs every check: the setup logic's own tests, formatting, clippy, unit and integration
# tests (real 3-node clusters on loopback) and the simulation's seeds. A first run builds
# RocksDB from source (10-15 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/tests/prereqs.sh
source scripts/setup.sh
require_cargo_tools fmt clippy

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
