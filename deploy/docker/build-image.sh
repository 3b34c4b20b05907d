#!/usr/bin/env bash
# Builds the Runnel image without pulling anything: a root filesystem is assembled from the
# locally built `runnel-node` and `runnel` binaries and the shared libraries they load,
# imported with `docker import`, and given its HEALTHCHECK by a `docker build` whose FROM
# is that imported image. The result is equivalent to deploy/docker/Dockerfile (same user,
# paths, ports, volume, environment, entrypoint and health check), for machines that reach
# no image registry (the tests use it).
#
#   deploy/docker/build-image.sh [--profile release|debug] [--tag TAG] [--no-build] [--bin-dir DIR]
#
#   --profile   the cargo profile of the binaries (default release; the tests use debug,
#               which CI builds anyway)
#   --tag       the image's name (default runnel:local)
#   --no-build  use the binaries already built instead of running cargo
#   --bin-dir   where those binaries are (default $CARGO_TARGET_DIR/PROFILE, implies --no-build)
set -euo pipefail
cd "$(dirname "$0")/../.."

profile=release
tag=runnel:local
build=1
bin_dir=
while (($#)); do
    case "$1" in
        --profile) profile="${2:?--profile needs release or debug}"; shift 2 ;;
        --tag) tag="${2:?--tag needs a name}"; shift 2 ;;
        --no-build) build=0; shift ;;
        --bin-dir) bin_dir="${2:?--bin-dir needs a directory}"; build=0; shift 2 ;;
        -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$profile" in
    release | debug) ;;
    *) echo "error: --profile must be release or debug, not $profile" >&2; exit 2 ;;
esac

# What the image holds; deploy/docker/Dockerfile says the same.
RUNNEL_UID=10001
DATA_DIR=/var/lib/runnel

if ((build)); then
    source scripts/setup.sh
    if [ "$profile" = release ]; then
        # The packages dev-cluster.sh builds, so both share one build.
        cargo build --release --locked -p runnel-node -p runnel-client -p runnel-benches
    else
        # Workspace-wide with every target, as CI builds: building one package alone in
        # debug unifies features differently and rebuilds everything.
        cargo build --workspace --all-targets --locked
    fi
fi
bin_dir="${bin_dir:-${CARGO_TARGET_DIR:-$HOME/.cache/runnel-target}/$profile}"
for bin in runnel-node runnel; do
    if [ ! -x "$bin_dir/$bin" ]; then
        echo "error: $bin_dir/$bin is missing: build it (cargo build --workspace) or drop --no-build" >&2
        exit 1
    fi
done
for tool in docker ldd tar; do
    command -v "$tool" >/dev/null || { echo "error: $tool is missing" >&2; exit 1; }
done

# The image this build replaces under the same tag, removed once the new one is tagged.
previous="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"

work="$(mktemp -d "${TMPDIR:-/tmp}/runnel-image.XXXXXX")"
base="runnel-rootfs-$$:import"
cleanup() {
    rm -rf "$work"
    docker rmi "$base" >/dev/null 2>&1 || true
}
trap cleanup EXIT
root="$work/root"
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp" "$root$DATA_DIR"
chmod 1777 "$root/tmp"
chmod 0750 "$root$DATA_DIR"

for bin in runnel-node runnel; do
    cp "$bin_dir/$bin" "$root/usr/local/bin/$bin"
    # Debug info is most of a debug binary's size; backtraces keep function names.
    if command -v strip >/dev/null; then
        strip --strip-debug "$root/usr/local/bin/$bin"
    fi
done

# Every shared library the binaries load, the dynamic loader among them, at the same path.
libraries() { # binary
    ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}
for lib in $( (libraries "$bin_dir/runnel-node"; libraries "$bin_dir/runnel") | sort -u); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
# Without its loader a dynamically linked binary does not start at all.
if ! libraries "$bin_dir/runnel-node" | grep -q '/ld-linux'; then
    echo "error: ldd names no dynamic loader for runnel-node" >&2
    exit 1
fi

cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
runnel:x:$RUNNEL_UID:$RUNNEL_UID:runnel:$DATA_DIR:/sbin/nologin
EOF
cat >"$root/etc/group" <<EOF
root:x:0:
runnel:x:$RUNNEL_UID:
EOF
# Peers are named by DNS (compose service names, StatefulSet pods): resolve through
# /etc/hosts, then the resolver the container runtime provides.
echo "hosts: files dns" >"$root/etc/nsswitch.conf"

# Everything belongs to root but the data directory, which belongs to the node's user:
# written as two tar members with their own owners, so no chown (nor root) is needed here.
tar -C "$root" --numeric-owner --owner=0 --group=0 --exclude=".$DATA_DIR" -cf "$work/root.tar" .
tar -C "$root" --numeric-owner --owner="$RUNNEL_UID" --group="$RUNNEL_UID" -rf "$work/root.tar" ".$DATA_DIR"

docker import \
    --change "USER $RUNNEL_UID:$RUNNEL_UID" \
    --change "WORKDIR $DATA_DIR" \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV RUNNEL_LISTEN=0.0.0.0:50051" \
    --change "ENV RUNNEL_PEER_LISTEN=0.0.0.0:50151" \
    --change "ENV RUNNEL_METRICS_LISTEN=0.0.0.0:9090" \
    --change "ENV RUNNEL_DATA_DIR=$DATA_DIR" \
    --change "EXPOSE 50051 50151 9090" \
    --change "VOLUME $DATA_DIR" \
    --change 'ENTRYPOINT ["/usr/local/bin/runnel-node"]' \
    --change 'CMD ["run"]' \
    "$work/root.tar" "$base" >/dev/null

# `docker import` cannot set a HEALTHCHECK; a build from the imported image (local, so
# nothing is pulled; the classic builder, which never resolves a local FROM remotely) adds
# it. Quiet unless it fails: the classic builder announces its deprecation on every run.
if ! out="$(DOCKER_BUILDKIT=0 docker build --quiet --tag "$tag" - 2>&1 <<EOF
FROM $base
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/runnel-node", "probe", "ready", "--addr", "127.0.0.1:9090"]
LABEL org.opencontainers.image.title="runnel" \
      org.opencontainers.image.description="Runnel node and CLI, from deploy/docker/build-image.sh ($profile)"
EOF
)"; then
    echo "$out" >&2
    exit 1
fi
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
    # Still used by a container: then it stays, and `docker image prune` takes it later.
    docker rmi "$previous" >/dev/null 2>&1 || true
fi
echo "built $tag ($profile binaries from $bin_dir)"
