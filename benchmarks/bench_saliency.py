"""Saliency against its floor: one batched forward + backward of the same test set.

Usage: python -m benchmarks.bench_saliency [--models inputcell_lstm,lstm] [--threads 1,2] [--n 300]
                                          [--reps 5] [--max-batch-mb 1000] [--methods]

The floor is the least any gradient map of the test set can cost: one forward pass of the
model over all ``n`` samples of 100 x 100 and one backward pass to the inputs (parameters
frozen, as for a saliency map).  The paper's gradient saliency
(``attribute("gradient", ...)``: softmax, the true class's probability, |d p / d x|, the
maps as a NumPy array) is timed against it, at each thread count.  Target: <= 1.3x.

``--methods`` also times the path methods of the method table on the first 100 samples
(Integrated Gradients with 32 steps, SmoothGrad with 10 noisy copies, occlusion of each of
the 100 steps), batched across their steps and samples up to ``--max-batch-mb``, and
prints each against the floor of those samples and against its ideal: steps x the floor
(IG, SmoothGrad), or one forward pass per occluded copy (occlusion).
Timings are medians of interleaved repeats.
"""

import argparse
from functools import partial

import numpy as np
import torch

from benchmarks.timing import median_times
from vanishing_saliency.models import ModelConfig, build_model
from vanishing_saliency.saliency import SaliencyOptions, attribute


def floor_pass(model, x, lengths):
    """One forward + backward to the inputs of the whole set (parameters frozen)."""
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        xt = torch.as_tensor(x).requires_grad_(True)
        logits = model(xt, torch.as_tensor(lengths))
        torch.autograd.grad(logits.sum(), xt)
    finally:
        for p in model.parameters():
            p.requires_grad_(True)


def forward_pass(model, x, lengths):
    with torch.no_grad():
        model(torch.as_tensor(x), torch.as_tensor(lengths))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="inputcell_lstm,lstm")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--max-batch-mb", type=float, default=256)
    ap.add_argument("--methods", action="store_true", help="also time the path methods (IG, SmoothGrad, occlusion)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n, 100, 100)).astype(np.float32)
    y = rng.integers(0, 2, args.n)
    lengths = np.full(args.n, 100)
    opts = SaliencyOptions(max_batch_mb=args.max_batch_mb)
    rows = []
    for threads in map(int, args.threads.split(",")):
        torch.set_num_threads(threads)
        for name in args.models.split(","):
            torch.manual_seed(0)
            model = build_model(name, ModelConfig(n_features=100, hidden=5)).eval()
            t = median_times(
                {
                    "floor": partial(floor_pass, model, x, lengths),
                    "gradient": partial(attribute, "gradient", model, x, y, lengths, options=opts),
                },
                args.reps,
            )
            rows.append((threads, name, "gradient", args.n, t["gradient"], t["floor"], 1.0))
            if args.methods:
                m = 100
                xs, ys, ls = x[:m], y[:m], lengths[:m]
                t = median_times(
                    {
                        "floor": partial(floor_pass, model, xs, ls),
                        "forward": partial(forward_pass, model, xs, ls),
                        **{
                            method: partial(attribute, method, model, xs, ys, ls, options=opts)
                            for method in ("integrated_gradients", "smoothgrad", "occlusion")
                        },
                    },
                    max(1, args.reps // 2),
                )
                ideal = {
                    "integrated_gradients": 32 * t["floor"],
                    "smoothgrad": 10 * t["floor"],
                    "occlusion": 101 * t["forward"],
                }
                for method, ideal_s in ideal.items():
                    rows.append((threads, name, method, m, t[method], t["floor"], ideal_s / t["floor"]))
    print(
        f"saliency vs one batched forward + backward of the same samples (100 x 100, float32, hidden 5), "
        f"max_batch_mb={args.max_batch_mb:g}"
    )
    print(
        f"{'threads':>7s}  {'model':15s} {'method':21s} {'n':>4s} {'time':>9s} {'floor':>9s} {'ratio':>7s} "
        f"{'ideal':>7s}"
    )
    for threads, name, method, n, t_m, t_f, ideal in rows:
        target = "  (target <= 1.3x)" if method == "gradient" else f"  ({t_m / (ideal * t_f):.2f}x of ideal)"
        print(
            f"{threads:7d}  {name:15s} {method:21s} {n:4d} {t_m:8.3f}s {t_f:8.3f}s {t_m / t_f:6.2f}x "
            f"{ideal:6.1f}x{target}"
        )


if __name__ == "__main__":
    main()
