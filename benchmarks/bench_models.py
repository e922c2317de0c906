"""Forward+backward time of input-cell-attention LSTM vs a plain nn.LSTM of the same size.

Usage: python -m benchmarks.bench_models [--reps 15] [--threads 2] [--loop] [--parts]

Shapes: B=64, T=100, N=100, r=20, d_a=50, hidden 100 and the paper's 5, in float32
and float64.  Runs are interleaved (plain, input-cell, plain, ...) so drift in machine
load hits both; the median per model is reported with the ratio.
Targets: <= 2.0x at H=5 and <= 1.2x at H=100, in both dtypes.
--loop also times a per-step reference (prefix attention recomputed every step).
--parts also times the parts of the H=5 model, each forward + backward on its own: the attention
scores, the input projection x W_ih^T, the whole attention (scores, prefix factors and the mix of
the projection) and the recurrence on the mixed gate inputs; what is left of the attention once
scores and projection are taken off is the prefix factors and the mix.
"""

import argparse
import statistics
import time

import torch
from torch import nn

from benchmarks.timing import median_times
from vanishing_saliency.models import InputCellAttention, ModelConfig, build_model


def fwd_bwd(fn, x):
    x.grad = None
    out = fn(x)
    out.sum().backward()


def per_step_loop(att: InputCellAttention, cell: nn.LSTMCell):
    def run(x):
        b, t, _ = x.shape
        h = x.new_zeros(b, cell.hidden_size)
        c = x.new_zeros(b, cell.hidden_size)
        outs = []
        for step in range(t):
            prefix = x[:, : step + 1]
            a = torch.softmax(att.scores(prefix), dim=1)  # (B, s, r)
            m = torch.einsum("bsk,bsn->bn", a, prefix) / att.r
            h, c = cell(m, (h, c))
            outs.append(h)
        return torch.stack(outs, 1)

    return run


TARGETS = {100: 1.2, 5: 2.0}


def bench(hidden: int, reps: int, loop: bool, dtype=torch.float32, B=64, T=100, N=100, r=20, d_a=50):
    torch.manual_seed(0)
    x = torch.randn(B, T, N, requires_grad=True, dtype=dtype)
    lengths = torch.full((B,), T)
    plain = nn.LSTM(N, hidden, batch_first=True).to(dtype)
    # the whole input-cell recurrence as the models run it (attention + LSTM, no dropout, no readout)
    model = build_model("inputcell_lstm", ModelConfig(n_features=N, hidden=hidden, r=r, d_a=d_a, dropout=0.0))
    model = model.to(dtype).train()
    att = model.attention
    candidates = {
        "nn.LSTM": lambda v: plain(v)[0],
        "input-cell (fused)": lambda v: model.hidden_states(v, lengths),
    }
    if loop:
        candidates["input-cell (per-step loop)"] = per_step_loop(att, nn.LSTMCell(N, hidden).to(dtype))
    times = {k: [] for k in candidates}
    for fn in candidates.values():  # warm-up
        fwd_bwd(fn, x)
    for i in range(reps):
        for name, fn in candidates.items():
            if name.endswith("loop)") and i >= 3:
                continue  # slow: three runs are plenty
            t0 = time.perf_counter()
            fwd_bwd(fn, x)
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["nn.LSTM"])
    print(f"\nhidden={hidden}  B={B} T={T} N={N} r={r} d_a={d_a} {str(dtype)[6:]} threads={torch.get_num_threads()}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:28s} median {1000 * med:8.2f} ms over {len(ts):2d} runs   ratio {med / base:5.2f}x")
    return statistics.median(times["input-cell (fused)"]) / base


def parts(reps: int, dtype=torch.float32, B=64, T=100, N=100, hidden=5):
    """Where the time of the H=5 input-cell model goes (it mixes the projection x W_ih^T)."""
    torch.manual_seed(0)
    x = torch.randn(B, T, N, requires_grad=True, dtype=dtype)
    lengths = torch.full((B,), T)
    plain = nn.LSTM(N, hidden, batch_first=True).to(dtype)
    model = build_model("inputcell_lstm", ModelConfig(n_features=N, hidden=hidden, dropout=0.0)).to(dtype).train()
    att, w_ih = model.attention, model.rnn.weight_ih_l0
    gate_inputs = torch.randn(B, T, w_ih.shape[0], requires_grad=True, dtype=dtype)
    candidates = {
        "nn.LSTM": lambda: plain(x)[0],
        "input-cell (fused)": lambda: model.hidden_states(x, lengths),
        "  attention scores": lambda: att.scores(x),
        "  projection x W_ih^T": lambda: x @ w_ih.T,
        "  attention, all": lambda: att(x, lengths, values=x @ w_ih.T),
        "  recurrence on gates": lambda: model.gate_recurrence(gate_inputs),
    }

    def forward_backward(fn):
        def run():
            x.grad = gate_inputs.grad = None
            fn().sum().backward()

        return run

    seconds = median_times({name: forward_backward(fn) for name, fn in candidates.items()}, reps)
    med = {name: 1000 * s for name, s in seconds.items()}
    print(
        f"\nparts of the input-cell model, hidden={hidden} B={B} T={T} N={N} {str(dtype)[6:]} "
        f"threads={torch.get_num_threads()}, forward+backward, median of {reps}:"
    )
    for name, ms in med.items():
        print(f"  {name:28s} {ms:8.2f} ms")
    rest = med["  attention, all"] - med["  attention scores"] - med["  projection x W_ih^T"]
    print(f"  {'  prefix factors and mix':28s} {rest:8.2f} ms   (attention, all - scores - projection)")
    budget = 2.0 * med["nn.LSTM"] - med["  recurrence on gates"]
    print(f"  for 2.0x nn.LSTM the attention would have {budget:.2f} ms; it takes {med['  attention, all']:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--loop", action="store_true", help="also time the per-step reference loop")
    ap.add_argument("--parts", action="store_true", help="also time the parts of the H=5 float32 model")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.parts:
        parts(args.reps)
    ratios = {
        (h, dt): bench(h, args.reps, args.loop, dtype)
        for dt, dtype in (("float32", torch.float32), ("float64", torch.float64))
        for h in TARGETS
    }
    print(f"\nfused input-cell / nn.LSTM, forward+backward, {args.threads} threads:")
    for (h, dt), ratio in ratios.items():
        print(
            f"  H={h:<3d} {dt}: {ratio:5.2f}x   target <= {TARGETS[h]}x   {'met' if ratio <= TARGETS[h] else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
