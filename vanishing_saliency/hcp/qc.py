"""Cohort QC of the denoising: functional connectivity and the QC-FC benchmark (Ciric et al. 2017,
Parkes et al. 2018).

QC-FC: across subjects, the correlation between each subject's mean framewise displacement and
each area pair's connectivity.  A strategy that removes motion well leaves few edges whose QC-FC
is significant (Benjamini-Hochberg FDR 5 %, statsmodels), a small median |QC-FC|, and little
distance dependence (Spearman correlation of QC-FC with the distance between the two areas'
centroids: motion inflates short-range connectivity).  Connectivity of a subject: the Pearson
correlation of every area pair over each run's kept (uncensored) frames, averaged over runs
through Fisher's z.
"""

from __future__ import annotations

import numpy as np


def connectivity(ts: np.ndarray) -> np.ndarray:
    """Upper triangle (k = 1) of the area x area Pearson correlation of ``ts`` (frames, areas)."""
    r = np.corrcoef(np.asarray(ts, np.float64).T)
    return r[np.triu_indices(r.shape[0], 1)]


def mean_connectivity(edges: list) -> np.ndarray:
    """Average of several runs' edge correlations through Fisher's z."""
    z = np.arctanh(np.clip(np.stack(edges), -0.999999, 0.999999))
    return np.tanh(z.mean(0))


def edge_distances(centroids: np.ndarray) -> np.ndarray:
    """Euclidean distance (mm) between the centroids of every area pair, upper triangle (k = 1)."""
    d = np.linalg.norm(centroids[:, None, :] - centroids[None, :, :], axis=-1)
    return d[np.triu_indices(len(centroids), 1)]


def qcfc(fc: np.ndarray, mean_fd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r, p) per edge: Pearson correlation across subjects of mean FD with the edge's connectivity.

    fc: (subjects, edges); mean_fd: (subjects,).  Edges with no spread get r = 0, p = 1."""
    from scipy import stats  # here, not at the top: every subject's preprocessing job imports this module

    fc, fd = np.asarray(fc, np.float64), np.asarray(mean_fd, np.float64)
    n = len(fd)
    fcc, fdc = fc - fc.mean(0), fd - fd.mean()
    denom = np.linalg.norm(fcc, axis=0) * np.linalg.norm(fdc)
    r = np.divide(fdc @ fcc, denom, out=np.zeros(fc.shape[1]), where=denom > 0)
    r = np.clip(r, -1, 1)
    t = r * np.sqrt(max(n - 2, 1) / np.maximum(1 - r**2, 1e-12))
    p = 2 * stats.t.sf(np.abs(t), max(n - 2, 1))
    return r, np.where(denom > 0, p, 1.0)


def qcfc_summary(r: np.ndarray, p: np.ndarray, distances: np.ndarray, alpha: float = 0.05) -> dict:
    """Share of edges significant at FDR ``alpha``, median |QC-FC| and its distance dependence."""
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    reject = multipletests(p, alpha=alpha, method="fdr_bh")[0]
    rho = stats.spearmanr(r, distances).statistic if np.ptp(r) > 0 else np.nan
    return {
        "qcfc_significant_percent": float(100 * reject.mean()),
        "qcfc_median_abs": float(np.median(np.abs(r))),
        "qcfc_distance_rho": float(rho),
    }
