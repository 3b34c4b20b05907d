#!/usr/bin/env bash
# Starts a local 3-node Runnel cluster on ports 50051-50053, data under .runnel-dev/.
# Extra arguments go to `runnel-node dev` (see `--help`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo build --release --locked -p runnel-node -p runnel-client -p runnel-benches
exec "$CARGO_TARGET_DIR/release/runnel-node" dev "$@"
