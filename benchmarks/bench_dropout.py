"""The models' dropout (vanishing_saliency.models.Dropout: numpy PCG64 masks) against torch's nn.Dropout on the CPU.

Usage: python -m benchmarks.bench_dropout [--reps 200] [--threads 1]

A training batch of the paper's models draws one input mask as large as the batch: 50 x 100 x 100 (the synthetic
boxes) and 50 x 48 x 360 (an HCP on/off block).  torch draws a dropout mask with ``bernoulli_``, one Mersenne
Twister draw per entry; ``models.dropout_mask`` takes one 64-bit seed from the same torch stream and fills the mask
from numpy's PCG64 bit generator (one 32-bit word per entry against a threshold).  Printed per shape: the median time
of torch's ``nn.Dropout`` and of ours (mask, scaling and product, training mode), interleaved, and their ratio
(target: ours at most half of torch's, a quarter of a synthetic LSTM training batch being torch's draw); then the
kept fraction of our masks over the repetitions against 1 - p.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from vanishing_saliency.models import Dropout

SHAPES = {"synthetic batch": (50, 100, 100), "HCP on/off batch": (50, 48, 360)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--p", type=float, default=0.1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    theirs, ours = torch.nn.Dropout(args.p).train(), Dropout(args.p).train()
    print(
        f"dropout p = {args.p}, {args.threads} thread(s), {args.reps} interleaved repetitions, torch", torch.__version__
    )
    for label, shape in SHAPES.items():
        x = torch.randn(shape)
        times = {"torch": [], "ours": []}
        kept = 0.0
        for _ in range(args.reps):
            for name, module in (("torch", theirs), ("ours", ours)):
                t = time.perf_counter()
                y = module(x)
                times[name].append(time.perf_counter() - t)
                if name == "ours":
                    kept += float((y != 0).float().mean())
        a, b = statistics.median(times["torch"]) * 1e3, statistics.median(times["ours"]) * 1e3
        print(
            f"{label} {shape}: nn.Dropout {a:.2f} ms, models.Dropout {b:.2f} ms: ratio {b / a:.2f} "
            f"(target <= 0.5: {'met' if b / a <= 0.5 else 'not met'}); "
            f"kept {kept / args.reps:.5f} (1 - p = {1 - args.p})"
        )


if __name__ == "__main__":
    main()
