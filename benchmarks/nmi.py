"""Per-pair time of repro.analysis.nmi (batched torch) against scikit-learn's normalized_mutual_info_score.

Run: ``python benchmarks/nmi.py [--pairs 256] [--threads 2] [--sk-pairs 32]``. Both sides get the same
quantised pixels (scikit-learn is timed on the labels only, quantisation excluded for it and included
for ours). Prints a table and the speed-up; the goal is >= 20x with 2 threads. The load average is
printed too: on a 2-core machine that other processes keep busy, every parallel torch op can stall for
a scheduler slice (~10 ms), which dominates at 32x32 with 2 threads; compare with ``--threads 1``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score
from tabulate import tabulate

from repro.analysis.nmi import nmi, quantize


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=256, help="batch size of the torch version")
    p.add_argument("--sk-pairs", type=int, default=32, help="pairs timed for scikit-learn (per-pair mean)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bins", type=int, default=64)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    rows = []
    for side in (32, 224):
        # correlated pairs (y = x + noise) so that the joint histograms are realistic, not independent
        x = torch.rand(args.pairs, 3, side, side, generator=g)
        y = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)
        nmi(x[:2], y[:2], bins=args.bins)  # warm-up
        t_ours = best_of(lambda: nmi(x, y, bins=args.bins), args.repeat) / args.pairs
        k = min(args.sk_pairs, args.pairs)
        qx = quantize(x[:k], args.bins).reshape(k, -1).numpy()
        qy = quantize(y[:k], args.bins).reshape(k, -1).numpy()
        t_sk = best_of(lambda: [normalized_mutual_info_score(qx[i], qy[i]) for i in range(k)], args.repeat) / k
        ours = nmi(x[:k], y[:k], bins=args.bins).numpy()
        ref = np.array([normalized_mutual_info_score(qx[i], qy[i]) for i in range(k)])
        rows.append(
            [f"{side}x{side}x3", f"{t_ours * 1e3:.4f}", f"{t_sk * 1e3:.4f}", f"{t_sk / t_ours:.1f}x", f"{np.abs(ours - ref).max():.1e}"]
        )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"torch {torch.__version__}, threads={args.threads}, bins={args.bins}, batch={args.pairs} pairs, "
          f"best of {args.repeat}, load average {load} on {os.cpu_count()} CPUs")
    print(tabulate(rows, headers=["image", "ours ms/pair", "sklearn ms/pair", "speed-up", "max |diff|"]))


if __name__ == "__main__":
    main()
