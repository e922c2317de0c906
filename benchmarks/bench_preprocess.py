"""The whole per-run HCP step against plain nibabel loading of the same file.

Usage: python benchmarks/bench_preprocess.py [--reps 5]

Writes one simulated real-size WM run (405 x 91282 float32), then times
(a) ``np.asarray(nib.load(f, mmap=False).dataobj)`` (the data read into memory) and (b) load + checks + parcellation +
motion/low-frequency regression + z-scoring, medians of interleaved repeats.
Peak memory of (b) is measured with tracemalloc (numpy allocations).
Targets: time ratio <= 1.5x, peak <= 3x the run's array size.
"""

import argparse
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import nibabel as nib
import numpy as np

from vanishing_saliency.hcp.clean import clean_parcellated
from vanishing_saliency.hcp.geometry import FRAMES, Parcellator, brain_model_axis, build_atlas
from vanishing_saliency.hcp.io import load_run
from vanishing_saliency.hcp.simulate import SimulationSettings, simulate_run, write_dtseries, write_motion


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    atlas = build_atlas()
    parcellate = Parcellator(atlas["labels"])
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"dtseries": Path(tmp) / "run.dtseries.nii", "motion": Path(tmp) / "Movement_Regressors.txt"}
        areas = {t: np.arange(1, 25) + 30 * i for i, t in enumerate(FRAMES)}
        data, motion, _, _ = simulate_run("WM", atlas["labels"], areas, np.random.default_rng(0), SimulationSettings())
        write_dtseries(paths["dtseries"], data, brain_model_axis(atlas))
        write_motion(paths["motion"], motion)
        nbytes = data.nbytes
        del data

        def plain():
            # read into memory: with the default memory map nothing would be read here
            return np.asarray(nib.load(str(paths["dtseries"]), mmap=False).dataobj)

        def whole():
            d, m = load_run(paths, "bench", "WM", "LR", 0.72, 405)
            return clean_parcellated(parcellate(d), m, 0.72)

        plain(), whole()
        t_plain, t_whole = [], []
        for _ in range(args.reps):
            t0 = time.perf_counter(); plain(); t_plain.append(time.perf_counter() - t0)
            t0 = time.perf_counter(); whole(); t_whole.append(time.perf_counter() - t0)
        tracemalloc.start()
        whole()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    a, b = statistics.median(t_plain), statistics.median(t_whole)
    print(f"WM run 405 x 91282 float32 ({nbytes / 2**20:.0f} MiB), medians of {args.reps}")
    print(f"  nibabel load:        {a:6.3f} s")
    print(f"  whole per-run step:  {b:6.3f} s   ratio {b / a:4.2f}x   (target <= 1.5x)")
    print(f"  peak memory:         {peak / 2**20:6.0f} MiB = {peak / nbytes:4.2f}x the run's array (target <= 3x)")


if __name__ == "__main__":
    main()
