#!/usr/bin/env bash
# What building Runnel needs from the machine, checked the way the build itself looks.
# Sourced by scripts/setup.sh; pure functions so scripts/tests/prereqs.sh can feed them
# fake machines.
#
# libclang: RocksDB's bindings are made by bindgen, which loads libclang at build time
# through clang-sys (`runtime` feature). clang-sys accepts only files named
# `libclang.so`, `libclang-*.so`, `libclang.so.*` or `libclang-*.so.*`, and skips any
# name containing `-cpp.`: Debian ships `libclang-cpp.so.N` (a different library) in
# stock images, and an earlier check that grepped `ldconfig -p` for "libclang" was fooled
# by it. When LIBCLANG_PATH is set clang-sys looks only there, so we do too.

# Reads paths on stdin; prints those whose file name clang-sys would load as libclang.
libclang_accepts() {
    local path name
    while IFS= read -r path; do
        [ -n "$path" ] || continue
        name=${path##*/}
        case $name in
            *-cpp.*) continue ;;
            libclang.so | libclang-*.so | libclang.so.* | libclang-*.so.*) printf '%s\n' "$path" ;;
        esac
    done
}

# Prints every file under `root` (default /) that clang-sys would find and accept as
# libclang; empty output means bindgen will fail. Follows clang-sys's search order:
# LIBCLANG_PATH alone when set, else `llvm-config --prefix`, LD_LIBRARY_PATH,
# LIBRARY_PATH and the usual system directories. A dangling symlink does not count.
libclang_find() {
    local root=${1:-}
    local dirs=() dir file
    if [ -n "${LIBCLANG_PATH:-}" ]; then
        if [ -f "$LIBCLANG_PATH" ]; then
            printf '%s\n' "$LIBCLANG_PATH" | libclang_accepts
            return 0
        fi
        dirs=("$LIBCLANG_PATH")
    else
        if [ -z "$root" ] && command -v llvm-config >/dev/null 2>&1; then
            local prefix
            prefix=$(llvm-config --prefix 2>/dev/null || true)
            [ -n "$prefix" ] && dirs+=("$prefix/lib" "$prefix/lib64")
        fi
        local IFS=:
        for dir in ${LD_LIBRARY_PATH:-} ${LIBRARY_PATH:-}; do dirs+=("$root$dir"); done
        unset IFS
        shopt -s nullglob
        for dir in "$root"/usr/local/llvm*/lib* "$root"/usr/local/lib*/*/* "$root"/usr/local/lib*/* \
            "$root"/usr/local/lib* "$root"/usr/lib*/*/* "$root"/usr/lib*/* "$root"/usr/lib*; do
            [ -d "$dir" ] && dirs+=("$dir")
        done
        shopt -u nullglob
    fi
    for dir in "${dirs[@]}"; do
        [ -d "$dir" ] || continue
        for file in "$dir"/libclang*; do
            [ -e "$file" ] && printf '%s\n' "$file"
        done
    done | libclang_accepts | sort -u
}

# Prints the Debian packages missing for a build, one per line (empty: nothing missing).
# `root` as for libclang_find.
missing_packages() {
    local root=${1:-}
    [ -n "$(libclang_find "$root" | head -n 1)" ] || echo libclang-dev
    # The C and C++ compilers and the archiver build RocksDB, lz4 and zstd (cc crate).
    if ! command -v c++ >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1; then
        echo g++
    fi
    command -v ar >/dev/null 2>&1 || echo binutils
}
