#!/usr/bin/env bash
# Makes sure this machine can build Runnel; sourced by the other scripts.
#
# Needs: a Rust toolchain (cargo) and the system packages the RocksDB build uses
# (libclang for bindgen, C and C++ compilers, an archiver), checked exactly as the build
# looks for them (scripts/lib/prereqs.sh). Installs missing packages with apt-get when
# running as root (or with passwordless sudo) on Debian/Ubuntu; otherwise stops at once
# and prints the command to run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/prereqs.sh"

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is missing. Install Rust (https://rustup.rs or your distribution), then run this again." >&2
    exit 1
fi

mapfile -t missing < <(missing_packages)
if ((${#missing[@]})); then
    sudo=()
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo)
    fi
    if { [ "$(id -u)" = 0 ] || ((${#sudo[@]})); } && command -v apt-get >/dev/null 2>&1; then
        echo "installing ${missing[*]} (apt-get)" >&2
        "${sudo[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        mapfile -t still < <(missing_packages)
        if ((${#still[@]})); then
            echo "error: still missing after installing: ${still[*]}" >&2
            [ -n "${LIBCLANG_PATH:-}" ] && echo "       LIBCLANG_PATH=$LIBCLANG_PATH is set: bindgen looks only there; unset it or point it at libclang.so" >&2
            exit 1
        fi
    else
        echo "error: missing system packages: ${missing[*]}" >&2
        echo "       on Debian/Ubuntu: sudo apt-get install ${missing[*]}" >&2
        echo "       (libclang: or set LIBCLANG_PATH to the directory holding libclang.so)" >&2
        exit 1
    fi
fi

# Cargo subcommands that ship as rustup components, not with every toolchain.
require_cargo_tools() { # tool...
    local tool absent=()
    for tool in "$@"; do
        cargo "$tool" --version >/dev/null 2>&1 || absent+=("$tool")
    done
    if ((${#absent[@]})); then
        local components=("${absent[@]/fmt/rustfmt}")
        echo "error: cargo ${absent[*]} missing: rustup component add ${components[*]}" >&2
        echo "       (or your distribution's packages, e.g. Debian: rustfmt, rust-clippy)" >&2
        exit 1
    fi
}

# Builds are slow (RocksDB is C++): keep them outside the checkout, shared by every clone.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/runnel-target}"
mkdir -p "$CARGO_TARGET_DIR"
