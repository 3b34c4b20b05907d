#!/usr/bin/env bash
# Makes sure this machine can build Runnel; sourced by the other scripts.
#
# Needs: a Rust toolchain (cargo) and the system packages RocksDB's build uses
# (libclang-dev for bindgen, a C++ compiler). Installs the packages with apt-get when
# running as root on Debian/Ubuntu; otherwise says exactly what is missing.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is missing. Install Rust from your distribution or rustup, then run this again." >&2
    exit 1
fi

missing=()
ldconfig -p 2>/dev/null | grep -q 'libclang' || ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || missing+=(libclang-dev)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing ${missing[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "error: missing system packages: ${missing[*]}" >&2
        echo "       on Debian/Ubuntu: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

# Builds are slow (RocksDB is C++): keep them outside the checkout, shared by every clone.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/runnel-target}"
mkdir -p "$CARGO_TARGET_DIR"
