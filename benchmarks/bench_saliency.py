"""Batched vs per-sample gradient saliency over a 300-sample test set.

Usage: python benchmarks/bench_saliency.py [--model inputcell_lstm] [--threads 2]

The paper's saliency |d p_true / d x| for 300 samples of 100 x 100, computed
with one backward per batch against one forward/backward per sample (the
original code's way).  Prints both times, the speed-up (target >= 20x) and
the largest difference between the two maps.
"""

import argparse
import statistics
import time

import numpy as np
import torch

from vanishing_saliency.models import ModelConfig, build_model
from vanishing_saliency.saliency import gradient_saliency, gradient_saliency_per_sample


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="inputcell_lstm")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--reps", type=int, default=3, help="interleaved repeats; medians are reported")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(args.model, ModelConfig(n_features=100, hidden=5)).eval()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n, 100, 100)).astype(np.float32)
    y = rng.integers(0, 2, args.n)
    lengths = np.full(args.n, 100)
    # warm-up at the shapes timed below (oneDNN builds its kernels per shape)
    gradient_saliency(model, x, y, lengths, batch_size=args.n)
    gradient_saliency_per_sample(model, x[:5], y[:5], lengths[:5])
    t_batched, t_single = [], []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        batched = gradient_saliency(model, x, y, lengths, batch_size=args.n)
        t_batched.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        single = gradient_saliency_per_sample(model, x, y, lengths)
        t_single.append(time.perf_counter() - t0)
    t_batched, t_single = statistics.median(t_batched), statistics.median(t_single)
    print(f"{args.model}, {args.n} samples of 100 x 100, float32, threads={args.threads}")
    print(f"  per-sample: {t_single:7.3f} s (median of {args.reps})")
    print(f"  batched:    {t_batched:7.3f} s (median of {args.reps})")
    print(f"  speed-up:   {t_single / t_batched:7.1f}x   (target >= 20x)")
    print(f"  max |difference| between the maps: {np.abs(batched - single).max():.2e}")


if __name__ == "__main__":
    main()
