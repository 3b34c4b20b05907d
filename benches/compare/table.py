#!/usr/bin/env python3
"""Prints the Runnel/NATS JetStream comparison table from benches/compare/run.sh's results.

    python3 benches/compare/table.py RESULTS.jsonl

Each line of RESULTS is one run: {"workload", "side" ("runnel" or "nats"), "run", "result"
(the bench's --json object)}. Per workload: the medians over the runs of records/s, p50 and
p99 call latency, the ratio of the medians, and the failed records summed over the runs.
Python's standard library only.
"""

import json
import statistics
import sys


def describe(result):
    """The workload in words, from what the bench reports it ran."""
    size = result["record_bytes"]
    size = f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"
    if result["mode"] == "put-record":
        shape = f"{size}, single PutRecord"
    else:
        shape = f"{size} x {result['batch']} per call"
    return f"{shape}, {result['concurrency']} in flight"


def main(path):
    runs = {}  # (workload, side) -> [result]
    order = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            if row["workload"] not in order:
                order.append(row["workload"])
            runs.setdefault((row["workload"], row["side"]), []).append(row["result"])
    if not runs:
        sys.exit(f"no results in {path}")

    def median(w, side, key):
        results = runs.get((w, side))
        return statistics.median(r[key] for r in results) if results else None

    def failed(w, side):
        results = runs.get((w, side))
        return sum(r["records_failed"] for r in results) if results else None

    def num(x, fmt):
        return "-" if x is None else format(x, fmt)

    print(
        "| workload | JetStream rec/s | Runnel rec/s | Runnel/JetStream "
        "| p50 ms JS / Runnel | p99 ms JS / Runnel | failed JS / Runnel |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    any_failed = False
    for w in order:
        sample = (runs.get((w, "runnel")) or runs[(w, "nats")])[0]
        js, rn = median(w, "nats", "records_per_second"), median(w, "runnel", "records_per_second")
        ratio = f"{rn / js:.2f}" if js and rn is not None else "-"
        fails = failed(w, "nats"), failed(w, "runnel")
        mark = ""
        if any(fails):
            mark, any_failed = " (!)", True
        print(
            f"| {w}: {describe(sample)}{mark} | {num(js, ',.0f')} | {num(rn, ',.0f')} | {ratio} "
            f"| {num(median(w, 'nats', 'latency_ms_p50'), '.1f')} / {num(median(w, 'runnel', 'latency_ms_p50'), '.1f')} "
            f"| {num(median(w, 'nats', 'latency_ms_p99'), '.1f')} / {num(median(w, 'runnel', 'latency_ms_p99'), '.1f')} "
            f"| {num(fails[0], 'd')} / {num(fails[1], 'd')} |"
        )
    counts = sorted({len(v) for v in runs.values()})
    print()
    print(f"Medians of {' or '.join(map(str, counts))} run(s) per side; latency is per call.")
    if any_failed:
        print("(!) records failed in this row: its rates count acknowledged records only.")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
