"""What the start-up shortcuts of vanishing_saliency.torch_startup (StartupAdam, the kernels' deterministic flag) save
the default run, against the public torch APIs (torch.optim.Adam, torch.use_deterministic_algorithms).

Usage: python -m benchmarks.bench_startup [--reps 7] [--cores 2] [--configfile config.yaml]

A training job's whole process (start, import, 2 epochs of a small LSTM, exit) is timed with the shortcuts and with
VANISHING_SALIENCY_PUBLIC_TORCH=1, interleaved ``--reps`` times.  The default run's jobs that train a model or run
Dynamask (both make an optimizer and set the deterministic flag) are counted from Snakemake's dry run of the config;
printed: the median time per job, the difference, and that difference over those jobs, in job time and in wall time
on ``--cores`` cores.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

JOB = """
import numpy as np
from vanishing_saliency.models import ModelConfig
from vanishing_saliency.training import TrainConfig, train_model
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 20, 8)).astype(np.float32)
y = (x[:, :, 0].mean(1) > 0).astype(np.int64)
train_model("lstm", ModelConfig(n_features=8, hidden=8), TrainConfig(max_epochs=2, stop_at_train_accuracy=None),
            x, y, np.full(64, 20), seed=0, progress=False)
"""

# rules whose jobs train (an optimizer and set_determinism) or run Dynamask (an optimizer per batch)
OPTIMISING = re.compile(
    r"^(synthetic_train_seeds\d+|hcp_train_controls\d+[a-z]?|mnist_train|dynamics_train|"
    r"synthetic_epoch_curve|synthetic_methods)$"
)


def job_seconds(public: bool) -> float:
    env = {**os.environ, "VANISHING_SALIENCY_PUBLIC_TORCH": "1" if public else "0"}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", JOB], env=env, check=True, cwd=ROOT)
    return time.perf_counter() - t0


def optimising_jobs(configfile: str) -> dict[str, int]:
    """{rule: job count} of the rules that make an optimizer, from a dry run of the whole workflow."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--forceall",
            "--cores",
            "2",
            "--configfile",
            configfile,
            "--quiet",
            "rules",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and OPTIMISING.match(parts[0]):
            counts[parts[0]] = int(parts[1])
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--configfile", default="config.yaml")
    args = ap.parse_args()
    job_seconds(False), job_seconds(True)  # warm the file cache
    times = {False: [], True: []}
    for _ in range(args.reps):
        for public in (False, True):
            times[public].append(job_seconds(public))
    shortcut, public = statistics.median(times[False]), statistics.median(times[True])
    counts = optimising_jobs(args.configfile)
    n = sum(counts.values())
    gain = public - shortcut
    print(
        f"one training job, median of {args.reps}: shortcuts {shortcut:.2f} s, public APIs {public:.2f} s, "
        f"difference {gain:.2f} s (ratio {public / shortcut:.2f})"
    )
    print(f"jobs of {args.configfile} that make an optimizer: {n} ({', '.join(f'{k} {v}' for k, v in counts.items())})")
    print(
        f"the shortcuts save {gain * n / 60:.1f} min of job time, about {gain * n / 60 / args.cores:.1f} min of wall "
        f"on {args.cores} cores"
    )


if __name__ == "__main__":
    main()
