#!/usr/bin/env bash
# Runs the 3-node cluster of deploy/docker-compose.yml in Docker: builds the image from this
# checkout (deploy/docker/build-image.sh: nothing is pulled), starts the nodes and waits
# until all three report each other healthy. Clients on 127.0.0.1:50051-50053, AWS clients
# (--endpoint-url) on 127.0.0.1:4567-4569, metrics on 127.0.0.1:9091-9093, data on the
# volumes runnel_data-1..3.
#
#   scripts/compose-cluster.sh [up] [--profile release|debug] [--no-build]
#   scripts/compose-cluster.sh down [-v]     stop and remove the containers (-v: and the data)
#   scripts/compose-cluster.sh ps|logs|...   any other compose command
#
# The compose project is `runnel` (COMPOSE_PROJECT_NAME overrides it); the image is
# runnel:local (RUNNEL_IMAGE); deploy/docker-compose.yml lists the other settings.
set -euo pipefail
cd "$(dirname "$0")/.."

export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-runnel}"
export RUNNEL_IMAGE="${RUNNEL_IMAGE:-runnel:local}"
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose -f deploy/docker-compose.yml)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose -f deploy/docker-compose.yml)
else
    echo "error: neither \`docker compose\` nor docker-compose is installed" >&2
    echo "       on Debian/Ubuntu: sudo apt-get install docker-compose" >&2
    exit 1
fi

if [ "${1:-up}" = up ]; then
    shift || true
elif [[ "$1" != --* ]]; then
    exec "${compose[@]}" "$@"
fi

build_args=()
while (($#)); do
    case "$1" in
        --profile) build_args+=(--profile "${2:?--profile needs release or debug}"); shift 2 ;;
        --no-build) build_args+=(--no-build); shift ;;
        *) echo "error: unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
    esac
done

deploy/docker/build-image.sh --tag "$RUNNEL_IMAGE" "${build_args[@]}"
"${compose[@]}" up -d

# Ready when node 1 reports all three nodes healthy (it probed their peer ports by name).
# The runnel CLI in the image asks it, so nothing else is needed on this host.
container="$("${compose[@]}" ps -q runnel-1)"
for _ in $(seq 1 60); do
    healthy="$(docker exec "$container" runnel --endpoint http://127.0.0.1:50051 cluster 2>/dev/null |
        grep -cE '^[0-9]+ +[^ ]+ +yes ' || true)"
    if [ "$healthy" = 3 ]; then
        docker exec "$container" runnel --endpoint http://127.0.0.1:50051 cluster | sed -n '1,6p'
        echo
        echo "Runnel is up: clients on ${RUNNEL_PUBLISH_HOST:-127.0.0.1}:${RUNNEL_PORT_1:-50051}-${RUNNEL_PORT_3:-50053}."
        echo "  runnel --endpoint http://127.0.0.1:${RUNNEL_PORT_1:-50051} stream create demo --shards 4"
        echo "AWS clients on ${RUNNEL_PUBLISH_HOST:-127.0.0.1}:${RUNNEL_AWS_PORT_1:-4567}-${RUNNEL_AWS_PORT_3:-4569} (any credentials):"
        echo "  aws kinesis list-streams --endpoint-url http://127.0.0.1:${RUNNEL_AWS_PORT_1:-4567} --region us-east-1"
        echo "  $0 logs -f        # follow the nodes' logs"
        echo "  $0 down           # stop (the data stays); down -v removes it"
        exit 0
    fi
    sleep 2
done
echo "error: the cluster did not report three healthy nodes within 2 minutes" >&2
"${compose[@]}" ps >&2
echo "see: $0 logs" >&2
exit 1
