"""Forward+backward time of the input-cell attention's causal mix in the forms one could compute it.

Usage: python -m benchmarks.bench_mix_forms [--reps 30] [--threads 2]

The mix is ``out[t] = sum_{s<=t} sum_k left[t, k] right[s, k] values[s]`` (B=64, T=100, r=20 hops,
V=20 values: the paper's H=5 model mixes its 4H=20 gate inputs; V=100: a model that mixes its
100 inputs).  Timed, each as forward + backward to left, right and values:

  dense     what the models run (models.causal_mix): one lower-triangular T x T weight matrix per
            sequence, six batched matrix products in all
  chunk c   the same in chunks of c steps, each chunk reached by the ones before through a per-hop
            running sum (what sequences over 256 steps use)
  cumsum    the O(T r V) prefix form in PyTorch: a cumulative sum over (B, T, r, V), no T x T matrix
  scan      the O(T r V) prefix form as a compiled loop (numba, prange over two halves of the batch,
            the batch innermost so the loops vectorise); timed only where numba is installed
            (``pip install numba``: not a dependency of the workflow)

Prints the median of interleaved repeats and each form's ratio to dense, and the largest relative
difference of each form's outputs and gradients from dense (floating-point order only).
"""

import argparse

import torch

from benchmarks.timing import median_times
from vanishing_saliency.models import _DenseCausalMix, causal_mix


def cumsum_form(left, right, values):
    """out[t] = sum_k left[t, k] * cumsum_s(right[s, k] values[s])[t], through a (B, T, r, V) tensor."""
    state = (right.unsqueeze(-1) * values.unsqueeze(-2)).cumsum(1)  # (B, T, r, V)
    return torch.einsum("btk,btkv->btv", left, state)


def numba_scan():
    """An autograd function running the prefix form as compiled loops, or None without numba."""
    try:
        import numba
        import numpy as np
    except ImportError:
        return None

    @numba.njit
    def batch_part(part, n_part, n_batch):
        """The first sequence and the number of sequences of one thread's part of the batch."""
        size = (n_batch + n_part - 1) // n_part
        b0 = part * size
        return b0, min(n_batch, b0 + size) - b0

    @numba.njit(parallel=True, cache=False, boundscheck=False)
    def running_sum(right, v, weight, into, by_value, n_part):
        """state[k, j] = sum_{s<=t} right[s, k] v[s, j] at each step t, added to ``into`` as
        into[t, j] += weight[t, k] state[k, j] (by_value: the forward's output) or else
        into[t, k] += weight[t, j] state[k, j] (the backward's gradient of ``left``).
        Arrays are (T, r or V, B), the batch innermost; n_part threads take a part of it each."""
        n_time, r, n_batch = right.shape
        width = v.shape[1]
        for part in numba.prange(n_part):
            b0, n = batch_part(part, n_part, n_batch)
            state = np.zeros((r, width, n), dtype=v.dtype)
            for t in range(n_time):
                for k in range(r):
                    for j in range(width):
                        for i in range(n):
                            s = state[k, j, i] + right[t, k, b0 + i] * v[t, j, b0 + i]
                            state[k, j, i] = s
                            if by_value:
                                into[t, j, b0 + i] += weight[t, k, b0 + i] * s
                            else:
                                into[t, k, b0 + i] += weight[t, j, b0 + i] * s

    @numba.njit(parallel=True, cache=False, boundscheck=False)
    def later_sum(left, right, v, g, g_right, g_v, n_part):
        """later[k, j] = sum_{t'>=t} left[t', k] g[t', j], from the last step back: the gradients
        of ``right`` and ``values``."""
        n_time, r, n_batch = left.shape
        width = v.shape[1]
        for part in numba.prange(n_part):
            b0, n = batch_part(part, n_part, n_batch)
            later = np.zeros((r, width, n), dtype=v.dtype)
            for t in range(n_time - 1, -1, -1):
                for k in range(r):
                    for j in range(width):
                        for i in range(n):
                            q = later[k, j, i] + left[t, k, b0 + i] * g[t, j, b0 + i]
                            later[k, j, i] = q
                            g_v[t, j, b0 + i] += right[t, k, b0 + i] * q
                            g_right[t, k, b0 + i] += v[t, j, b0 + i] * q

    def to_tbv(a):
        return a.detach().permute(1, 2, 0).contiguous()

    class Scan(torch.autograd.Function):
        @staticmethod
        def forward(ctx, left, right, values):
            lt, rt, vt = to_tbv(left), to_tbv(right), to_tbv(values)
            out = torch.zeros_like(vt)
            running_sum(rt.numpy(), vt.numpy(), lt.numpy(), out.numpy(), True, torch.get_num_threads())
            ctx.save_for_backward(lt, rt, vt)
            return out.permute(2, 0, 1)

        @staticmethod
        def backward(ctx, grad):
            lt, rt, vt = ctx.saved_tensors
            g = to_tbv(grad)
            g_l, g_r, g_v = torch.zeros_like(lt), torch.zeros_like(rt), torch.zeros_like(vt)
            n_part = torch.get_num_threads()
            running_sum(rt.numpy(), vt.numpy(), g.numpy(), g_l.numpy(), False, n_part)
            later_sum(lt.numpy(), rt.numpy(), vt.numpy(), g.numpy(), g_r.numpy(), g_v.numpy(), n_part)
            return g_l.permute(2, 0, 1), g_r.permute(2, 0, 1), g_v.permute(2, 0, 1)

    numba.set_num_threads(torch.get_num_threads())
    return Scan.apply, numba.__version__


def bench(width, dtype, reps, scan, B=64, T=100, r=20):
    torch.manual_seed(0)
    left = torch.rand(B, T, r, dtype=dtype, requires_grad=True)
    right = torch.rand(B, T, r, dtype=dtype, requires_grad=True)
    values = torch.randn(B, T, width, dtype=dtype, requires_grad=True)
    grad = torch.randn(B, T, width, dtype=dtype)
    forms = {
        "dense": _DenseCausalMix.apply,
        "chunk 25": lambda a, b, c: causal_mix(a, b, c, chunk=25),
        "chunk 50": lambda a, b, c: causal_mix(a, b, c, chunk=50),
        "cumsum (PyTorch)": cumsum_form,
    }
    if scan is not None:
        forms[f"scan (numba {scan[1]})"] = scan[0]

    def run(form):
        left.grad = right.grad = values.grad = None
        out = form(left, right, values)
        out.backward(grad)
        return [out.detach(), left.grad, right.grad, values.grad]

    reference = run(forms["dense"])
    errors = {
        name: max(((a - b).abs().max() / b.abs().max()).item() for a, b in zip(run(form), reference, strict=True))
        for name, form in forms.items()
    }  # numba compiles here
    seconds = median_times({name: (lambda form=form: run(form)) for name, form in forms.items()}, reps)
    base = seconds["dense"]
    print(f"\nV={width}  B={B} T={T} r={r} {str(dtype)[6:]} threads={torch.get_num_threads()}")
    for name, med in seconds.items():
        print(
            f"  {name:22s} median {1000 * med:8.2f} ms   {med / base:6.2f}x dense   "
            f"largest relative difference {errors[name]:.1e}"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    scan = numba_scan()
    if scan is None:
        print("numba is not installed: the compiled scan is not timed (pip install numba to time it)")
    for width in (20, 100):
        for dtype in (torch.float32, torch.float64):
            bench(width, dtype, args.reps, scan)


if __name__ == "__main__":
    main()
