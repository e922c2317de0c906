"""Denoising of one run: confound strategies, motion censoring, parcellation first, z-scoring, run QC.

Confound strategies (``hcp.cleaning.strategy``), each with an intercept, a linear trend and the
discrete-cosine high-pass basis below ``cutoff_hz`` (0.008 Hz: periods over 125 s; the cosine set
nilearn and SPM use) when ``lowfreq_regression`` is on:

- ``paper``: the 12 HCP motion regressors (6 parameters and their backward differences), as the
  original study;
- ``24P``: those 12 and their squares (Friston et al. 1996; Satterthwaite et al. 2013);
- ``24P+GS``: 24P plus the mean cortical grayordinate signal, its backward difference and the
  squares of both (the CIFTI holds no white-matter or CSF signal, so the 36P set of Satterthwaite /
  Ciric cannot be built from it alone).

Motion censoring (``fd_threshold``, mm): frames whose framewise displacement (Power et al. 2012:
the sum of the absolute backward differences of the 6 parameters, rotations as arcs on a 50 mm
sphere) exceeds the threshold are left out of the regression fit, and their cleaned values are
then replaced by linear interpolation between the nearest kept frames, so every run keeps its
frames and the block timing; the censored frames are returned, and the experiments drop samples
with too many of them.  An optional band-pass (``bandpass`` = [low, high] Hz, e.g. 0.01-0.08) is
applied after the regression with nilearn's Butterworth filter (:func:`nilearn.signal.butterworth`),
on the interpolated series.  Each area is z-scored over its kept frames.

Regression and parcel averaging are both linear (one along time, one across grayordinates), so
they commute: the 360 areas are averaged first and the (frames x 360) matrix is cleaned, which
``tests/test_hcp.py`` checks equals clean-then-parcellate on a real-size run.  The global signal is
exact too: the mean over every cortical grayordinate is the area means weighted by area size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

STRATEGIES = ("paper", "24P", "24P+GS")
RADIUS_MM = 50.0


@dataclass(frozen=True)
class CleaningOptions:
    """How one run is cleaned: config ``hcp.cleaning`` (schemas/config.schema.yaml describes each key; the workflow
    builds these in ``steps.hcp_preprocess.cleaning_options``, a library user from these defaults, the paper's).

    Parameters
    ----------
    strategy : {"paper", "24P", "24P+GS"}
        The confound set: the paper's 12 motion regressors, the 24-parameter expansion, or 24P and the global signal.
    motion_regression, lowfreq_regression : bool
        Whether the motion regressors and the low-frequency cosines are regressed out.
    highpass_cutoff_hz : float
        Cosines below this frequency model the slow drift.
    fd_threshold : float or None
        Frames whose framewise displacement (mm) exceeds it are censored: left out of the fit and interpolated.
    bandpass : tuple of float or None
        ``(low, high)`` Hz of a Butterworth band-pass after the regression.
    """

    strategy: str = "paper"
    motion_regression: bool = True
    lowfreq_regression: bool = True
    highpass_cutoff_hz: float = 0.008
    fd_threshold: float | None = None
    bandpass: tuple[float, float] | None = None


def cosine_basis(n_frames: int, tr: float, cutoff_hz: float) -> np.ndarray:
    """DCT-II regressors with frequency below ``cutoff_hz``: (frames, K), K = floor(2 n tr f)."""
    k_max = int(np.floor(2 * n_frames * tr * cutoff_hz))
    t = np.arange(n_frames)
    return (
        np.stack(
            [np.sqrt(2.0 / n_frames) * np.cos(np.pi * k * (t + 0.5) / n_frames) for k in range(1, k_max + 1)], axis=1
        )
        if k_max
        else np.zeros((n_frames, 0))
    )


def backward_difference(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return np.vstack([np.zeros((1,) + x.shape[1:]), np.diff(x, axis=0)]) if x.ndim > 1 else np.r_[0.0, np.diff(x)]


def confounds(
    motion: np.ndarray,
    tr: float,
    cutoff_hz: float,
    motion_regression: bool = True,
    lowfreq_regression: bool = True,
    strategy: str = "paper",
    global_signal=None,
    nuisance=None,
) -> np.ndarray:
    """(frames, p) design: intercept [+ the strategy's motion (and global-signal) terms] [+ trend + cosines].

    ``nuisance``: the strategy's columns read from a confounds table (the fMRIPrep path: nilearn's
    ``load_confounds``), used instead of the terms built here from ``motion`` and ``global_signal``."""
    n = motion.shape[0]
    cols = [np.ones((n, 1))]
    if nuisance is not None:
        nuisance = np.asarray(nuisance, np.float64).reshape(n, -1)
        cols.append(nuisance - nuisance.mean(0))
        if lowfreq_regression:
            cols += [np.linspace(-1.0, 1.0, n)[:, None], cosine_basis(n, tr, cutoff_hz)]
        return np.hstack(cols)
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown hcp.cleaning.strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    if motion_regression:
        m = motion - motion.mean(0)
        cols.append(m)
        if strategy in ("24P", "24P+GS"):
            sq = m**2
            cols.append(sq - sq.mean(0))
    if strategy == "24P+GS":
        if global_signal is None:
            raise ValueError("strategy 24P+GS needs the global signal")
        gs = np.asarray(global_signal, np.float64)
        gs = gs - gs.mean()
        terms = np.stack([gs, backward_difference(gs)], 1)
        cols += [terms - terms.mean(0), terms**2 - (terms**2).mean(0)]
    if lowfreq_regression:
        trend = np.linspace(-1.0, 1.0, n)[:, None]
        cols += [trend, cosine_basis(n, tr, cutoff_hz)]
    return np.hstack(cols)


def regress_out(y: np.ndarray, design: np.ndarray, fit_mask=None) -> np.ndarray:
    """Residuals of ``y`` (frames, k) after least squares on ``design`` (frames, p), the fit on the
    frames of ``fit_mask`` only (all frames when None)."""
    fit = slice(None) if fit_mask is None else np.asarray(fit_mask, bool)
    beta, *_ = np.linalg.lstsq(design[fit], y[fit], rcond=None)
    return y - design @ beta


def zscore(y: np.ndarray, mask=None) -> np.ndarray:
    ref = y if mask is None else y[np.asarray(mask, bool)]
    sd = ref.std(0)
    return (y - ref.mean(0)) / np.where(sd > 0, sd, 1.0)


def framewise_displacement(motion: np.ndarray, radius_mm: float = RADIUS_MM, degrees: bool = True) -> np.ndarray:
    """Power et al. (2012) FD per frame (mm): rotations (HCP: degrees; fMRIPrep, ``degrees=False``: radians) become
    arc length on a 50 mm sphere."""
    params = np.array(motion[:, :6], np.float64)
    params[:, 3:] = (np.deg2rad(params[:, 3:]) if degrees else params[:, 3:]) * radius_mm
    return np.concatenate([[0.0], np.abs(np.diff(params, axis=0)).sum(1)])


def dvars(y: np.ndarray) -> np.ndarray:
    """Per frame: root mean square over areas of the backward difference (the first frame 0)."""
    return np.concatenate([[0.0], np.sqrt((np.diff(np.asarray(y, np.float64), axis=0) ** 2).mean(1))])


def interpolate_censored(y: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Censored frames replaced by linear interpolation between the nearest kept frames (held at the edges)."""
    censored = np.asarray(censored, bool)
    if not censored.any() or censored.all():
        return y
    t = np.arange(len(y))
    out = np.array(y, copy=True)
    for k in range(y.shape[1]):
        out[censored, k] = np.interp(t[censored], t[~censored], y[~censored, k])
    return out


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


def explained_fraction(target: np.ndarray, design: np.ndarray) -> float:
    """Share of the variance of ``target`` (frames,) that least squares on ``design`` explains (R^2)."""
    target = np.asarray(target, np.float64) - np.mean(target)
    if not np.any(target):
        return float("nan")
    resid = regress_out(target[:, None], design)[:, 0]
    return float(1 - resid.var() / target.var())


def clean_parcellated(
    areas: np.ndarray,
    motion: np.ndarray,
    tr: float,
    options: CleaningOptions | None = None,
    global_signal=None,
    task_regressor=None,
    nuisance=None,
    fd=None,
    scrubbed=None,
):
    """Clean a (frames, 360) run; returns (z-scored cleaned areas, censored frames (bool), QC dict).

    ``options``: :class:`CleaningOptions` (its defaults when None); ``global_signal``: the mean cortical
    grayordinate signal per frame (strategy 24P+GS); ``task_regressor``: the run's block design convolved with an
    HRF, for the QC's share of task variance the confounds would remove.  From a confounds table (the fMRIPrep
    path): ``nuisance``, the strategy's columns (replacing the terms built from ``motion``); ``fd``, the table's
    framewise displacement (mm; else computed from ``motion``, rotations in degrees); ``scrubbed``, frames the
    strategy's scrubbing removes (censored like frames over ``fd_threshold``)."""
    o = options if options is not None else CleaningOptions()
    cutoff_hz, strategy, fd_threshold, bandpass = o.highpass_cutoff_hz, o.strategy, o.fd_threshold, o.bandpass
    design = confounds(
        motion, tr, cutoff_hz, o.motion_regression, o.lowfreq_regression, strategy, global_signal, nuisance
    )
    fd = framewise_displacement(motion) if fd is None else np.asarray(fd, np.float64)
    censored = fd > fd_threshold if fd_threshold is not None else np.zeros(len(fd), bool)
    if scrubbed is not None:
        censored = censored | np.asarray(scrubbed, bool)
    if censored.all():
        censored[:] = False  # nothing would be left to fit: keep the run, report it censored in QC
        all_censored = True
    else:
        all_censored = False
    kept = ~censored
    cleaned = interpolate_censored(regress_out(areas, design, kept), censored)
    if bandpass is not None:
        from nilearn.signal import butterworth

        cleaned = butterworth(cleaned, sampling_rate=1.0 / tr, low_pass=bandpass[1], high_pass=bandpass[0])
    before = areas - areas.mean(0)
    n_dof_filtered = 0
    if bandpass is not None:
        freqs = np.fft.rfftfreq(len(areas), tr)
        n_dof_filtered = int(2 * ((freqs < bandpass[0]) | (freqs > bandpass[1])).sum())
    qc = {
        "frames": int(areas.shape[0]),
        "strategy": strategy,
        "fd_mean_mm": float(fd.mean()),
        "fd_max_mm": float(fd.max()),
        "fd_fraction_over_0.5mm": float((fd > 0.5).mean()),
        "fd_threshold_mm": fd_threshold,
        "n_censored": int(censored.sum()),
        "censored_fraction": float(censored.mean()),
        "all_frames_over_threshold": all_censored,
        "dvars_mean_before": float(dvars(before)[1:].mean()),
        "dvars_mean_after": float(dvars(cleaned)[1:].mean()),
        "variance_removed_fraction": float(1.0 - cleaned.var(0).sum() / before.var(0).sum()),
        "max_abs_corr_with_motion_before": _max_abs_corr(areas, motion),
        "max_abs_corr_with_motion_after": _max_abs_corr(cleaned[kept], motion[kept]),
        "lowfreq_power_fraction_before": lowfreq_power_fraction(areas, tr, cutoff_hz),
        "lowfreq_power_fraction_after": lowfreq_power_fraction(cleaned, tr, cutoff_hz),
        "n_confounds": int(design.shape[1]),
        "cutoff_hz": cutoff_hz,
        "tdof_lost": int(min(design.shape[1] + censored.sum() + n_dof_filtered, len(areas))),
        "task_variance_in_confounds": (
            explained_fraction(task_regressor, design) if task_regressor is not None else None
        ),
    }
    return zscore(cleaned, kept), censored, qc
