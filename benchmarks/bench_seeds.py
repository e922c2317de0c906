"""Seeds trained together (vanishing_saliency.stacked.train_stacked) against one process per seed.

Usage: python -m benchmarks.bench_seeds [--seeds 8] [--reps 3] [--cases synthetic_lstm synthetic_inputcell hcp_lstm]
       python -m benchmarks.bench_seeds --kernel [--seeds 8] [--reps 7]

Each case trains ``--seeds`` seeds of one model as the default run's jobs do (1 thread, the default config's
training settings, a fresh Python process: start-up, imports and data included):

- alone: one process per seed (``train_model``), one after the other;
- in turn: one process training the seeds one after the other (``train_model``, ``train_stacked(..., stack=False)``;
  what a workflow job did before issue #37);
- together: one process training every seed at once (``train_stacked``, what the workflow runs).

Cases: the synthetic Middle box (1000 sequences, 100 x 100) with the LSTM (at chance there: it trains to its
patience) and with input-cell attention; an HCP-sized on/off problem (432 training and 48 validation samples of
30 frames x 360 areas, a planted response) with the LSTM.  Printed per case: the median wall of one seed alone,
of the seeds alone in all, in turn and together, with the ratios over the repetitions (minimum and median):
together / one alone (the issue's target: <= 2.5), together / all alone and together / in turn.

``--kernel``: one training batch (50 x 100 x 100, forward + backward, dropout on) of ``--seeds`` stacked LSTMs with
the recurrence as one block-diagonal kernel call for every seed (``wide_kernel``, what a GPU runs) against one call per
seed (the CPU's default), interleaved; medians and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("synthetic_lstm", "synthetic_inputcell", "hcp_lstm")


def _problem(case: str):
    """(architecture, ModelConfig, TrainConfig, x, y, lengths, val) of a case, built from the default config."""
    import numpy as np
    import yaml

    from vanishing_saliency.steps.common import model_config, train_config
    from vanishing_saliency.synthetic import generate_dataset

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    if case.startswith("synthetic"):
        s = cfg["synthetic"]
        d = generate_dataset(
            s["datasets"]["middle"]["patterns"],
            n_time=s["n_time"],
            n_features=s["n_features"],
            n_train=s["n_train"],
            n_test=10,
            seed=0,
        )
        training = {**cfg["training"], **s.get("training", {})}
        name = "lstm" if case == "synthetic_lstm" else "inputcell_lstm"
        x, y, lengths, val = d["x_train"], d["y_train"], d["lengths_train"], None
    else:
        rng = np.random.default_rng(0)
        n, t, f = 480, 30, 360
        y = rng.integers(0, 2, n)
        x = rng.normal(size=(n, t, f)).astype(np.float32)
        x[y == 1, 5:20, :40] += 0.3  # a response in 40 areas
        lengths = rng.integers(20, t + 1, n)
        training = {**cfg["training"], **cfg["hcp"]["analysis"].get("training", {})}
        name = "lstm"
        val = (x[432:], y[432:], lengths[432:])
        x, y, lengths = x[:432], y[:432], lengths[:432]
    return name, model_config(cfg["models"], x.shape[2], 2), train_config(training), x, y, lengths, val


def worker(case: str, mode: str, seeds: list[int]) -> None:
    import torch

    from vanishing_saliency.stacked import train_stacked
    from vanishing_saliency.training import train_model

    torch.set_num_threads(1)
    name, mcfg, tcfg, x, y, lengths, val = _problem(case)
    if mode in ("alone", "turn"):
        for seed in seeds:
            train_model(name, mcfg, tcfg, x, y, lengths, seed=seed, progress=False, val=val)
    else:
        train_stacked(name, mcfg, [tcfg] * len(seeds), x, y, lengths, seeds, progress=False, val=val, stack=True)


def kernel(n_seeds: int, reps: int) -> None:
    import torch

    from vanishing_saliency.models import ModelConfig, build_model
    from vanishing_saliency.stacked import StackedClassifier

    torch.set_num_threads(1)
    torch.manual_seed(0)
    stacked = StackedClassifier([build_model("lstm", ModelConfig(n_features=100)) for _ in range(n_seeds)]).train()
    x, lengths = torch.randn(n_seeds, 50, 100, 100), torch.full((n_seeds, 50), 100)
    gens = [torch.Generator().manual_seed(s) for s in range(n_seeds)]
    times = {False: [], True: []}
    for _ in range(reps):
        for wide in (False, True):
            stacked.wide_kernel = wide
            start = time.perf_counter()
            for _ in range(5):
                stacked(x, lengths, gens).sum().backward()
            times[wide].append((time.perf_counter() - start) / 5 * 1000)
    one, wide = statistics.median(times[False]), statistics.median(times[True])
    print(f"{n_seeds} LSTMs, one batch forward + backward: a kernel call per seed {one:.1f} ms, one block-diagonal")
    print(f"  call {wide:.1f} ms ({wide / one:.2f}x)")


def _run(case: str, mode: str, seeds: list[int]) -> float:
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "benchmarks.bench_seeds", "--worker", case, mode, ",".join(map(str, seeds))]
    subprocess.run(cmd, cwd=ROOT, check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    ap.add_argument("--kernel", action="store_true", help="time the recurrence's two forms (see above)")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.kernel:
        kernel(a.seeds, a.reps if a.reps != 3 else 7)
        return
    if a.worker:
        case, mode, seeds = a.worker
        worker(case, mode, [int(s) for s in seeds.split(",")])
        return
    seeds = list(range(a.seeds))
    print(f"{a.seeds} seeds, {a.reps} repetitions, 1 thread, one fresh process per seed (alone) or for all (together)")
    print(
        "case                 one alone  all alone    in turn   together   together/one (min, median)"
        "   together/all   together/in turn"
    )
    for case in a.cases:
        one, alone, turn, together = [], [], [], []
        for _ in range(a.reps):  # interleaved, so that drift in the machine's load hits each
            walls = [_run(case, "alone", [s]) for s in seeds]
            one.append(statistics.median(walls))
            alone.append(sum(walls))
            turn.append(_run(case, "turn", seeds))
            together.append(_run(case, "together", seeds))
        r_one = [t / o for t, o in zip(together, one, strict=True)]
        r_all = [t / o for t, o in zip(together, alone, strict=True)]
        r_turn = [t / o for t, o in zip(together, turn, strict=True)]
        med = statistics.median
        print(
            f"{case:20s} {med(one):7.2f} s {med(alone):8.2f} s {med(turn):8.2f} s {med(together):8.2f} s"
            f"   {min(r_one):.2f}, {med(r_one):.2f}{'':22s}{med(r_all):.2f}{'':13s}{med(r_turn):.2f}"
        )


if __name__ == "__main__":
    main()
