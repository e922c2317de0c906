"""The whole per-run HCP step against plain nibabel loading of the same file.

Usage: python -m benchmarks.bench_preprocess [--reps 5]

Writes one simulated real-size WM run (405 x 91282 float32), then times
(a) ``np.asarray(nib.load(f, mmap=False).dataobj)`` (the data read into memory) and (b) load + checks + parcellation +
confound regression + z-scoring, for every confound strategy (paper, 24P, 24P+GS, and 24P+GS with FD censoring
at 0.3 mm and a 0.01-0.08 Hz band-pass), medians of interleaved repeats.
Peak memory of (b) is measured with tracemalloc (numpy allocations).
Targets: time ratio <= 1.5x for every strategy, peak <= 3x the run's array size.
"""

import argparse
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import nibabel as nib
import numpy as np

from vanishing_saliency.hcp.clean import CleaningOptions, clean_parcellated
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

        variants = {
            "paper": CleaningOptions(),
            "24P": CleaningOptions(strategy="24P"),
            "24P+GS": CleaningOptions(strategy="24P+GS"),
            "24P+GS, censoring, band-pass": CleaningOptions(strategy="24P+GS", fd_threshold=0.3, bandpass=(0.01, 0.08)),
        }

        def whole(options):
            d, m = load_run(paths, "bench", "WM", "LR", 0.72, 405)
            areas_ = parcellate(d)
            del d
            return clean_parcellated(areas_, m, 0.72, options, global_signal=parcellate.global_signal(areas_))

        plain(), whole(CleaningOptions())
        t_plain, t_whole = [], {k: [] for k in variants}
        for _ in range(args.reps):
            t0 = time.perf_counter()
            plain()
            t_plain.append(time.perf_counter() - t0)
            for name, options in variants.items():
                t0 = time.perf_counter()
                whole(options)
                t_whole[name].append(time.perf_counter() - t0)
        tracemalloc.start()
        whole(variants["24P+GS, censoring, band-pass"])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    a = statistics.median(t_plain)
    print(f"WM run 405 x 91282 float32 ({nbytes / 2**20:.0f} MiB), medians of {args.reps}")
    print(f"  nibabel load:        {a:6.3f} s")
    for name, times in t_whole.items():
        b = statistics.median(times)
        print(f"  whole per-run step, {name:30s} {b:6.3f} s   ratio {b / a:4.2f}x   (target <= 1.5x)")
    print(f"  peak memory:         {peak / 2**20:6.0f} MiB = {peak / nbytes:4.2f}x the run's array (target <= 3x)")


if __name__ == "__main__":
    main()
