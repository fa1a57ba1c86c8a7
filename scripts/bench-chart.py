#!/usr/bin/python3
"""Draw docs/benchmarks.png from httpmq-bench -json output.

Usage: scripts/bench-chart.py results.jsonl docs/benchmarks.png

Left: each httpmq variant's throughput as a percentage of native nats.go
in the same run (publish, consume, fan-out; file and memory storage).
Right: publish-to-delivery latency percentiles, native and session.
Results of several rounds (httpmq-bench -rounds N) are drawn as the
median of each measurement's rounds, as the table gives them.
Needs Debian's python3-matplotlib (make bench-chart installs it).
"""
import json
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


FIGURES = ("rate", "native_rate", "ratio", "p50_ms", "p99_ms", "p999_ms", "max_ms")


def medians(rows):
    """One row per measurement, in first-seen order: the median of each
    figure over its rounds (a single run passes unchanged)."""
    groups = {}
    for r in rows:
        key = (r["scenario"], r["variant"], r["storage"], r.get("concurrency"), r.get("offered_rate"))
        groups.setdefault(key, []).append(r)
    out = []
    for g in groups.values():
        m = dict(g[0])
        for f in FIGURES:
            vals = [r[f] for r in g if f in r]
            if vals:
                m[f] = statistics.median(vals)
        out.append(m)
    return out


def main(src, dst):
    rows = medians([json.loads(line) for line in open(src) if line.strip()])
    ratios = [r for r in rows if r.get("ratio") and r["variant"] != "native"]
    lat = [r for r in rows if r["scenario"] == "latency"]

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5), gridspec_kw={"width_ratios": [3, 2]})
    labels = [f'{r["scenario"]} {r["variant"]} ({r["storage"]})' for r in ratios]
    values = [100 * r["ratio"] for r in ratios]
    colors = ["#4c72b0" if r["storage"] == "file" else "#55a868" for r in ratios]
    left.barh(labels, values, color=colors)
    left.axvline(100, color="grey", linestyle="--", linewidth=1)
    left.axvline(50, color="#c44e52", linestyle=":", linewidth=1)
    left.invert_yaxis()
    left.set_xlabel("% of native nats.go throughput, same run (dotted: 50% goal)")
    left.set_title("Throughput vs native (blue: file, green: memory)")
    for y, v in enumerate(values):
        left.text(v + 1, y, f"{v:.0f}%", va="center", fontsize=8)
    left.tick_params(axis="y", labelsize=8)

    names = [f'{r["variant"]} ({r["storage"]})' for r in lat]
    width = 0.2
    for i, (key, label) in enumerate([("p50_ms", "p50"), ("p99_ms", "p99"), ("p999_ms", "p99.9"), ("max_ms", "max")]):
        xs = [j + (i - 1.5) * width for j in range(len(lat))]
        right.bar(xs, [r.get(key, 0) for r in lat], width, label=label)
    right.set_xticks(range(len(lat)))
    right.set_xticklabels(names, rotation=20, ha="right", fontsize=8)
    rate = lat[0].get("offered_rate", 0) if lat else 0
    right.set_ylabel("ms")
    right.set_yscale("log")
    right.set_title(f"Publish-to-delivery latency at {rate} msg/s")
    right.legend(fontsize=8)

    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
