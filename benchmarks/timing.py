"""Timing shared by the benchmarks: medians of interleaved repeats."""

import statistics
import time


def median_times(fns: dict, reps: int) -> dict:
    """Each function's median wall time (s) over ``reps`` rounds that call every function once, in turn, so that
    drift in the machine's load hits them all; one untimed round first (oneDNN builds kernels per shape)."""
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}
