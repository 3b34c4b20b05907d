#!/usr/bin/env bash
# Tests scripts/lib/prereqs.sh against fake machines: directory trees and listings that
# hold only the libraries named, so the check cannot be fooled by what this machine has.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/prereqs.sh

failures=0
check() { # name expected actual
    if [ "$2" = "$3" ]; then
        echo "ok   $1"
    else
        echo "FAIL $1: expected [$2], got [$3]" >&2
        failures=$((failures + 1))
    fi
}

# The file-name rule alone.
check "libclang-cpp only is not libclang" "" "$(printf '/usr/lib/x86_64-linux-gnu/libclang-cpp.so.14\n' | libclang_accepts)"
check "libclang-cpp.so (unversioned) is not libclang" "" "$(printf '/usr/lib/llvm-14/lib/libclang-cpp.so\n' | libclang_accepts)"
check "libclang.so" "/a/libclang.so" "$(printf '/a/libclang.so\n' | libclang_accepts)"
check "libclang-N.so" "/a/libclang-14.so" "$(printf '/a/libclang-14.so\n' | libclang_accepts)"
check "libclang.so.N" "/a/libclang.so.1" "$(printf '/a/libclang.so.1\n' | libclang_accepts)"
check "libclang-N.so.N" "/a/libclang-14.so.14.0.6" "$(printf '/a/libclang-14.so.14.0.6\n' | libclang_accepts)"
check "static and other libraries are not libclang" "" \
    "$(printf '/a/libclang.a\n/a/libclangBasic.a\n/a/libclang_rt.asan.so\n/a/libclangd.so\n' | libclang_accepts)"

# Whole fake machines: a root with only the files listed.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
machine() { # name files...
    local root=$tmp/$1
    shift
    mkdir -p "$root/usr/lib"
    for f in "$@"; do
        mkdir -p "$root/$(dirname "$f")"
        : >"$root/$f"
    done
    echo "$root"
}
(
    unset LIBCLANG_PATH LD_LIBRARY_PATH LIBRARY_PATH
    stock=$(machine stock usr/lib/x86_64-linux-gnu/libclang-cpp.so.14 usr/lib/llvm-14/lib/libLLVM-14.so)
    check "stock image (libclang-cpp.so.14 only) counts as missing" "" "$(libclang_find "$stock")"
    check "stock image: libclang-dev is missing" "yes" \
        "$(missing_packages "$stock" | grep -qx libclang-dev && echo yes || echo no)"

    dev=$(machine dev usr/lib/x86_64-linux-gnu/libclang-cpp.so.14 usr/lib/llvm-14/lib/libclang-14.so.1 usr/lib/llvm-14/lib/libclang.so.1)
    found=$(libclang_find "$dev" | sort | tr '\n' ' ')
    check "libclang-dev installed is found" "$dev/usr/lib/llvm-14/lib/libclang-14.so.1 $dev/usr/lib/llvm-14/lib/libclang.so.1 " "$found"
    check "libclang-dev installed: nothing missing for it" "no" \
        "$(missing_packages "$dev" | grep -qx libclang-dev && echo yes || echo no)"

    multiarch=$(machine multiarch usr/lib/x86_64-linux-gnu/libclang-16.so.16)
    check "libclang in the multiarch directory is found" "$multiarch/usr/lib/x86_64-linux-gnu/libclang-16.so.16" "$(libclang_find "$multiarch")"

    dangling=$(machine dangling)
    mkdir -p "$dangling/usr/lib/llvm-14/lib"
    ln -s /nonexistent/libclang.so.1 "$dangling/usr/lib/llvm-14/lib/libclang.so.1"
    check "a dangling libclang symlink does not count" "" "$(libclang_find "$dangling")"

    custom=$(machine custom opt/clang/lib/libclang.so)
    check "LIBCLANG_PATH directory is searched" "$custom/opt/clang/lib/libclang.so" \
        "$(LIBCLANG_PATH=$custom/opt/clang/lib libclang_find "$stock")"
    check "LIBCLANG_PATH to a file is used" "$custom/opt/clang/lib/libclang.so" \
        "$(LIBCLANG_PATH=$custom/opt/clang/lib/libclang.so libclang_find "$stock")"
    check "LIBCLANG_PATH set: only it is searched (as clang-sys does)" "" \
        "$(LIBCLANG_PATH=$stock/usr/lib/x86_64-linux-gnu libclang_find "$dev")"

    ldpath=$(machine ldpath opt/llvm/lib/libclang.so)
    check "LD_LIBRARY_PATH is searched" "$ldpath/opt/llvm/lib/libclang.so" \
        "$(LD_LIBRARY_PATH=/opt/llvm/lib libclang_find "$ldpath")"
    exit "$failures"
) || failures=$((failures + $?))

if ((failures)); then
    echo "$failures setup check(s) failed" >&2
    exit 1
fi
echo "setup checks passed"
