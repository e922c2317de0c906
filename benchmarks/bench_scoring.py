"""Does scoring pay for being batched the way training is (issue #37, item 2)?  Two measurements, 1 thread.

Usage: python -m benchmarks.bench_scoring [--reps 5] [--seeds 8] [--metrics-against FILE]

1. Saliency of a cell's runs: the paper's gradient (softmax probability of the true class) of ``--seeds`` LSTMs
   (H = 5) on a synthetic test set (300 x 100 x 100), one model at a time through the toolkit
   (``saliency.method("gradient", model)``, what the workflow runs) against all of them at once through the
   stacked model (``stacked.StackedClassifier`` in eval mode, the input repeated per seed, one backward pass).
   The maps of both ways are compared (largest difference relative to the largest map value).
2. The HCP feature drop's predictions: one model's accuracy after each of 6 drop fractions of an on/off test set
   (160 x 48 x 360), a forward pass per fraction (what ``hcp.analysis.feature_drop_table`` runs) against one pass
   over the 6 copies together (960 samples).
3. The scores of one run's maps (``metrics.all_scores`` and ``metrics.pooled_scores`` of 300 x 100 x 100 float32
   maps with a planted box, what each synthetic run's scoring computes after its saliency), timed alone, or with
   ``--metrics-against FILE`` against another version of ``metrics.py`` (e.g. ``git show
   4c6bb8b:vanishing_saliency/metrics.py > /tmp/metrics_before.py``), interleaved, their scores compared bit for bit.

Printed: the medians of interleaved repetitions and the ratio batched / one at a time (below 1: batching pays).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch


def _interleaved_ms(first, second, reps: int) -> tuple[float, float]:
    """Median wall (ms) of ``first()`` and of ``second()`` over ``reps`` interleaved calls, after one warm-up each."""
    first(), second()
    times = ([], [])
    for _ in range(reps):
        for fn, out in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def saliency_case(n_seeds: int, reps: int) -> None:
    from vanishing_saliency import saliency
    from vanishing_saliency.models import ModelConfig, build_model
    from vanishing_saliency.stacked import StackedClassifier

    torch.manual_seed(0)
    models = [build_model("lstm", ModelConfig(n_features=100)).eval() for _ in range(n_seeds)]
    stacked = StackedClassifier(models).eval()
    x = torch.randn(300, 100, 100)
    y = torch.randint(0, 2, (300,))
    lengths = torch.full((300,), 100)

    def alone():
        return torch.stack(
            [
                saliency.method("gradient", m, output="probability").attribute(x, target=y, lengths=lengths)
                for m in models
            ]
        )

    def together():
        xs = x.expand(n_seeds, *x.shape).clone().requires_grad_(True)
        probs = torch.softmax(stacked(xs, lengths.expand(n_seeds, -1)), dim=-1)
        probs.gather(2, y.expand(n_seeds, -1).unsqueeze(-1)).sum().backward()
        return xs.grad.abs()  # the toolkit's gradient map is the absolute gradient

    diff = float((alone() - together()).abs().max() / alone().abs().max())
    a, t = _interleaved_ms(alone, together, reps)
    print(
        f"gradient saliency of {n_seeds} LSTMs, 300 x 100 x 100: one model at a time {a:.0f} ms, stacked {t:.0f} ms "
        f"({t / a:.2f}x); maps differ by {diff:.1e} of their largest value"
    )


def drop_case(reps: int) -> None:
    from vanishing_saliency.models import ModelConfig, build_model
    from vanishing_saliency.training import predict_logits

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = build_model("lstm", ModelConfig(n_features=360)).eval()
    x = rng.normal(size=(160, 48, 360)).astype(np.float32)
    lengths = np.full(160, 48)
    copies = [np.where(rng.random(x.shape) < f, np.float32(0), x) for f in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)]
    together_x, together_l = np.concatenate(copies), np.tile(lengths, len(copies))

    def each():
        return [predict_logits(model, c, lengths) for c in copies]

    def together():
        return predict_logits(model, together_x, together_l, batch_size=len(together_x))

    a, t = _interleaved_ms(each, together, reps)
    print(
        f"feature drop, 6 fractions of 160 x 48 x 360 (LSTM): a pass per fraction {a:.1f} ms, one pass {t:.1f} ms "
        f"({t / a:.2f}x)"
    )


def metrics_case(reps: int, against: str | None) -> None:
    import importlib.util

    from vanishing_saliency import metrics

    rng = np.random.default_rng(0)
    masks = np.zeros((300, 100, 100), bool)
    masks[:, 20:80, 20:80] = True
    maps = (np.abs(rng.normal(size=masks.shape)) + 0.5 * masks).astype(np.float32)

    def score(module):
        return {**module.all_scores(maps, masks), **module.pooled_scores(maps, masks)}

    if against is None:
        t, _ = _interleaved_ms(lambda: score(metrics), lambda: None, reps)
        print(f"scores of one run's maps (300 x 100 x 100): {t:.0f} ms")
        return
    spec = importlib.util.spec_from_file_location("metrics_against", against)
    other = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    ours, theirs = score(metrics), score(other)
    same = all(np.array_equal(ours[k], theirs[k], equal_nan=True) for k in ours)
    t, b = _interleaved_ms(lambda: score(metrics), lambda: score(other), reps)
    print(
        f"scores of one run's maps (300 x 100 x 100): this checkout {t:.0f} ms, {against} {b:.0f} ms ({t / b:.2f}x); "
        f"scores {'identical bit for bit' if same else 'DIFFER'}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--metrics-against", help="another metrics.py to time the scores against")
    a = ap.parse_args()
    torch.set_num_threads(1)
    print(f"1 thread, {a.reps} interleaved repetitions, torch {torch.__version__}")
    saliency_case(a.seeds, a.reps)
    drop_case(a.reps)
    metrics_case(a.reps, a.metrics_against)


if __name__ == "__main__":
    main()
