#!/usr/bin/env python3
"""Merges the latency dumps of several wrk processes that loaded one level together.

Usage: merge_latencies.py FILE...   (written by bench/e2e/create_order_quantiles.lua)

Each file: "requests N", then 1,000 lines "q ms" (wrk's percentile at q = 0.001 .. 1.000). Every
line stands for N / 1,000 of that process's requests; the pooled, weighted lines are one latency
distribution of all the level's requests, exact to 1/1,000 of each process's requests. Prints
MERGED requests= p50_ms= p90_ms= p99_ms= max_ms=.
"""
import sys


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    points = []  # (latency ms, weight in requests)
    total = 0
    for path in sys.argv[1:]:
        with open(path) as f:
            head = f.readline().split()
            if len(head) != 2 or head[0] != "requests":
                print(f"{path}: first line must be 'requests N'", file=sys.stderr)
                return 1
            n = int(head[1])
            rows = [line.split() for line in f if line.strip()]
            if len(rows) != 1000:
                print(f"{path}: {len(rows)} quantile lines, expected 1000", file=sys.stderr)
                return 1
            total += n
            points += [(float(ms), n / 1000) for _, ms in rows]
    if total == 0:
        print("MERGED requests=0 p50_ms=0 p90_ms=0 p99_ms=0 max_ms=0")
        return 0
    points.sort()

    def quantile(q: float) -> float:
        acc = 0.0
        for ms, w in points:
            acc += w
            if acc >= q * total - 1e-9:
                return ms
        return points[-1][0]

    print(f"MERGED requests={total} p50_ms={quantile(0.5):.3f} p90_ms={quantile(0.9):.3f} "
          f"p99_ms={quantile(0.99):.3f} max_ms={points[-1][0]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
