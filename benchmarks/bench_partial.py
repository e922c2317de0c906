"""Partial input-cell attention: forward + backward of one training batch, the factorised banded weights
(``InputCellAttention.banded_mix``, the model's path) against the exact log-space ones (``prefix_weights``, a
(batch, T, T, r) tensor, the model's path before and its fallback beyond a span of exp(300)).

Usage: python -m benchmarks.bench_partial --form banded|exact [--iters 10] [--window 10]

One process times one form (the paper's size: batch 50, T = 100, N = 100, H = 5, r = 20, d_a = 50, float32, 2
threads) and prints seconds per batch; time the two side by side with
``farm-bench --vs 'python -m benchmarks.bench_partial --form exact' -- python -m benchmarks.bench_partial --form
banded``.  Target: the default run's synthetic_partial_window jobs (60 epochs x 18 batches at worst, 3 runs) fit
the 30-minute default run.
"""

import argparse
import time

import torch

from vanishing_saliency.models import ModelConfig, build_model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--form", choices=("banded", "exact"), required=True)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--window", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = build_model("inputcell_lstm_partial", ModelConfig(n_features=100, hidden=5, window=args.window))
    att = model.attention
    if args.form == "exact":
        att.banded_mix = lambda x, lengths: att.prefix_weights(x, lengths).sum(-1) / att.r
    x, y = torch.randn(50, 100, 100), torch.randint(0, 2, (50,))
    lengths = torch.full((50,), 100)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(args.iters):
        loss = torch.nn.functional.cross_entropy(model(x, lengths), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    per_batch = (time.perf_counter() - start) / args.iters
    print(f"{args.form}: {per_batch * 1000:.1f} ms per batch of 50 (forward + backward, window {args.window})")


if __name__ == "__main__":
    main()
