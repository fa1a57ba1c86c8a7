#!/usr/bin/python3
"""Print docs/benchmarks.md's result tables (Markdown) from httpmq-bench
-json output.

Usage: scripts/bench-table.py docs/benchmarks.jsonl

Throughputs: each measurement's median rate and server µs/msg over its
rounds (httpmq-bench -rounds N), and the median and range of its ratio
to native (each round's ratio against its own round's native figure).
Latencies: median percentiles and each round's p99. Memory: the median
round. A single run passes unchanged. Standard library only.
"""
import json
import statistics
import sys

NAMES = {
    "native": "native",
    "session-json": "session JSON (h2)",
    "session-msgpack": "session msgpack (h2)",
    "session-msgpack-http1": "session msgpack (HTTP/1.1)",
    "session-json-http1": "session JSON (HTTP/1.1)",
    "rest-h2c": "REST h2c ×32",
    "rest-http1": "REST HTTP/1.1 ×32",
    "floor-h2c": "floor h2c ×32 (empty handler)",
    "floor-http1": "floor HTTP/1.1 ×32 (empty handler)",
    "rest-batch-h2c": "REST batch h2c 4×64",
}


def groups(rows):
    """The rounds of each measurement, in first-seen order."""
    out = {}
    for r in rows:
        key = (r["scenario"], r["variant"], r["storage"], r.get("concurrency"), r.get("offered_rate"))
        out.setdefault(key, []).append(r)
    return out


def median(g, field):
    vals = [r[field] for r in g if r.get(field) is not None]
    return statistics.median(vals) if vals else None


def main(src):
    gs = groups([json.loads(line) for line in open(src) if line.strip()])

    print("| scenario | variant | storage | rate (median) | ratio: median (range) | server µs/msg |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for (scenario, variant, storage, _, _), g in gs.items():
        if scenario not in ("publish", "consume", "fanout", "live"):
            continue
        ratio = ""
        if variant != "native":
            rs = [100 * r["ratio"] for r in g]
            ratio = f"**{statistics.median(rs):.0f}%** ({min(rs):.0f}-{max(rs):.0f})"
        us = median(g, "server_us_per_msg")
        us = f"{us:.1f}" if us else ""
        print(f"| {scenario} | {NAMES.get(variant, variant)} | {storage} | {median(g, 'rate'):,.0f}/s | {ratio} | {us} |")

    print()
    print("| scenario | variant | storage | p50 / p99 / p99.9 ms (medians) | p99 of each round |")
    print("| --- | --- | --- | ---: | ---: |")
    for (scenario, variant, storage, _, _), g in gs.items():
        if scenario not in ("latency", "live-latency"):
            continue
        each = ", ".join(f"{r['p99_ms']:.2f}" for r in g)
        p = [median(g, f) for f in ("p50_ms", "p99_ms", "p999_ms")]
        print(f"| {scenario} | {NAMES.get(variant, variant)} | {storage} | {p[0]:.2f} / {p[1]:.2f} / {p[2]:.2f} | {each} |")

    print()
    print("| variant | per idle session (median) | each round |")
    print("| --- | ---: | ---: |")
    for (scenario, variant, _, _, _), g in gs.items():
        if scenario != "memory":
            continue
        m = sorted(g, key=lambda r: r["bytes_per_session"])[len(g) // 2]
        kib = lambda v: v / 1024  # noqa: E731
        each = ", ".join(f"{kib(r['bytes_per_session']):.1f}" for r in g)
        print(f"| {NAMES.get(variant, variant)} | {kib(m['bytes_per_session']):.1f} KB "
              f"(heap {kib(m['heap_per_session']):.1f}, stacks {kib(m['stack_per_session']):.1f}; "
              f"{m['goroutines_per_session']:.0f} goroutines) | {each} |")


if __name__ == "__main__":
    main(sys.argv[1])
