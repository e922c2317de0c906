"""Motion and low-frequency regression, parcellation and z-scoring of one run.

Confound model (ordinary least squares, one fit per run): an intercept, the
12 HCP motion regressors, a linear trend and the discrete-cosine high-pass
basis below ``cutoff_hz`` (default 0.008 Hz, i.e. periods over 125 s; the
cosine set nilearn and SPM use).  Regression and parcel averaging are both
linear (one along time, one across grayordinates), so they commute: we
average within the 360 areas first and clean the (frames x 360) matrix,
which ``tests/test_hcp_clean.py`` checks equals clean-then-parcellate on a
real-size run.  Each area is then z-scored over time.
"""

from __future__ import annotations

import numpy as np


def cosine_basis(n_frames: int, tr: float, cutoff_hz: float) -> np.ndarray:
    """DCT-II regressors with frequency below ``cutoff_hz``: (frames, K), K = floor(2 n tr f)."""
    k_max = int(np.floor(2 * n_frames * tr * cutoff_hz))
    t = np.arange(n_frames)
    return np.stack([np.sqrt(2.0 / n_frames) * np.cos(np.pi * k * (t + 0.5) / n_frames)
                     for k in range(1, k_max + 1)], axis=1) if k_max else np.zeros((n_frames, 0))


def confounds(motion: np.ndarray, tr: float, cutoff_hz: float, motion_regression: bool = True,
              lowfreq_regression: bool = True) -> np.ndarray:
    """(frames, p) design: intercept [+ 12 motion] [+ linear trend + cosines]."""
    n = motion.shape[0]
    cols = [np.ones((n, 1))]
    if motion_regression:
        cols.append(motion - motion.mean(0))
    if lowfreq_regression:
        trend = np.linspace(-1.0, 1.0, n)[:, None]
        cols += [trend, cosine_basis(n, tr, cutoff_hz)]
    return np.hstack(cols)


def regress_out(y: np.ndarray, design: np.ndarray) -> np.ndarray:
    """Residuals of ``y`` (frames, k) after least squares on ``design`` (frames, p)."""
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    return y - design @ beta


def zscore(y: np.ndarray) -> np.ndarray:
    sd = y.std(0)
    return (y - y.mean(0)) / np.where(sd > 0, sd, 1.0)


def framewise_displacement(motion: np.ndarray, radius_mm: float = 50.0) -> np.ndarray:
    """Power et al. (2012) FD per frame (mm): rotations (HCP: degrees) become arc length on a 50 mm sphere."""
    params = motion[:, :6].copy()
    params[:, 3:] = np.deg2rad(params[:, 3:]) * radius_mm
    return np.concatenate([[0.0], np.abs(np.diff(params, axis=0)).sum(1)])


def _max_abs_corr(y: np.ndarray, regressors: np.ndarray) -> float:
    yc = y - y.mean(0)
    rc = regressors - regressors.mean(0)
    denom = np.outer(np.linalg.norm(yc, axis=0), np.linalg.norm(rc, axis=0))
    c = np.divide(yc.T @ rc, denom, out=np.zeros_like(denom), where=denom > 0)
    return float(np.abs(c).max())


def lowfreq_power_fraction(y: np.ndarray, tr: float, cutoff_hz: float) -> float:
    """Mean over columns of the share of (demeaned) power below ``cutoff_hz``."""
    spec = np.abs(np.fft.rfft(y - y.mean(0), axis=0)) ** 2
    freqs = np.fft.rfftfreq(y.shape[0], tr)
    total = spec[1:].sum(0)
    low = spec[1:][(freqs[1:] < cutoff_hz)].sum(0)
    return float(np.mean(np.divide(low, total, out=np.zeros_like(low), where=total > 0)))


def clean_parcellated(areas: np.ndarray, motion: np.ndarray, tr: float, cutoff_hz: float = 0.008,
                      motion_regression: bool = True, lowfreq_regression: bool = True):
    """Clean a (frames, 360) run; returns (z-scored cleaned areas, QC dict)."""
    design = confounds(motion, tr, cutoff_hz, motion_regression, lowfreq_regression)
    cleaned = regress_out(areas, design)
    before = areas - areas.mean(0)
    fd = framewise_displacement(motion)
    qc = {
        "frames": int(areas.shape[0]),
        "fd_mean_mm": float(fd.mean()), "fd_max_mm": float(fd.max()),
        "fd_fraction_over_0.5mm": float((fd > 0.5).mean()),
        "variance_removed_fraction": float(1.0 - cleaned.var(0).sum() / before.var(0).sum()),
        "max_abs_corr_with_motion_before": _max_abs_corr(areas, motion),
        "max_abs_corr_with_motion_after": _max_abs_corr(cleaned, motion),
        "lowfreq_power_fraction_before": lowfreq_power_fraction(areas, tr, cutoff_hz),
        "lowfreq_power_fraction_after": lowfreq_power_fraction(cleaned, tr, cutoff_hz),
        "n_confounds": int(design.shape[1]), "cutoff_hz": cutoff_hz,
    }
    return zscore(cleaned), qc
