"""Parcellated results as CIFTI-2 files that Connectome Workbench opens (``wb_view``, ``wb_command``).

Every writer goes through nibabel's public CIFTI-2 API (``nibabel.cifti2``: ``ParcelsAxis``,
``SeriesAxis``, ``ScalarAxis``, ``LabelAxis``, ``Cifti2Image``) and writes atomically
(:func:`vanishing_saliency.io.atomic_path`).  All files share the atlas of
:mod:`vanishing_saliency.hcp.geometry`: the 360 Glasser areas in the official dlabel's key order
(``R_V1_ROI`` first), so column ``i`` of a parcellated array is parcel ``i`` of every file here.

- :func:`write_ptseries`: ``(frames, 360)`` -> ``.ptseries.nii`` (a cleaned run, for example);
- :func:`write_pscalar`: ``(maps, 360)`` -> ``.pscalar.nii`` (one value per area and map);
- :func:`write_dscalar`: ``(maps, 360)`` -> ``.dscalar.nii`` on the 91282 grayordinates (each
  area's value painted on its grayordinates, for surface figures);
- :func:`write_dlabel`: the atlas itself as a ``.dlabel.nii``, for ``wb_command -cifti-parcellate``;
- :func:`read_parcellated`: a ``.ptseries.nii`` / ``.pscalar.nii`` back as arrays.

``tests/test_cifti.py`` checks the files with ``wb_command -file-information`` and checks that
``wb_command -cifti-parcellate`` with the official Glasser dlabel, or with :func:`write_dlabel`'s,
gives the areas :class:`~vanishing_saliency.hcp.geometry.Parcellator` gives.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import nibabel as nib
import numpy as np

from ..errors import DataError
from ..io import atomic_path
from .geometry import N_AREAS, brain_model_axis

LABEL_MAP_NAME = "MMP1.0 (Glasser 2016), 360 areas"
UNLABELLED = ("???", (1.0, 1.0, 1.0, 0.0))  # key 0, as in the official dlabel


def parcels_axis(atlas: dict) -> nib.cifti2.ParcelsAxis:
    """The 360 Glasser areas as a CIFTI-2 parcels axis, each holding its cortical vertices.

    Parameters
    ----------
    atlas : dict
        The atlas of :func:`~vanishing_saliency.hcp.geometry.build_atlas` /
        :func:`~vanishing_saliency.hcp.geometry.load_atlas` (``labels``, ``names``, ``grayl``, ``grayr``).

    Returns
    -------
    nibabel.cifti2.ParcelsAxis
        360 parcels in key order (1..360), named ``atlas["names"]``; parcel ``k - 1`` holds the
        fs_LR 32k vertices of the grayordinates whose label is ``k`` (areas have no voxels).

    Raises
    ------
    ValueError
        When the atlas's labels do not cover the 91282 grayordinates, it has not 360 names, or an
        area has no grayordinate.
    """
    labels = np.asarray(atlas["labels"])
    names = [str(n) for n in atlas["names"]]
    key = hashlib.sha1(labels.tobytes() + "\0".join(names).encode()).hexdigest()
    if key not in _PARCELS_AXES:  # 0.45 s to build; a preprocessing job writes one file per run with it
        _PARCELS_AXES[key] = _parcels_axis(atlas, labels, names)
    return _PARCELS_AXES[key]


_PARCELS_AXES: dict = {}


def _parcels_axis(atlas: dict, labels: np.ndarray, names: list) -> nib.cifti2.ParcelsAxis:
    axis = brain_model_axis(atlas)
    if labels.shape != (len(axis),) or len(names) != N_AREAS:
        raise ValueError(
            f"atlas has {labels.shape} labels and {len(names)} names; expected ({len(axis)},) and {N_AREAS}"
        )
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(1, N_AREAS + 2))
    empty = np.flatnonzero(np.diff(bounds) == 0) + 1
    if len(empty):
        raise ValueError(f"atlas has empty areas (keys {empty.tolist()})")
    members = [np.sort(order[bounds[k] : bounds[k + 1]]) for k in range(N_AREAS)]
    return nib.cifti2.ParcelsAxis.from_brain_models(
        [(name, axis[idx]) for name, idx in zip(names, members, strict=True)]
    )


def _check_rows(values, what: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2 or values.shape[1] != N_AREAS:
        raise ValueError(f"{what} must be (rows, {N_AREAS}), got shape {values.shape}")
    return values


def _check_map_names(map_names, values: np.ndarray) -> list[str]:
    map_names = [str(n) for n in map_names]
    if len(map_names) != values.shape[0]:
        raise ValueError(f"{len(map_names)} map names for {values.shape[0]} maps")
    return map_names


def _write(path, data: np.ndarray, axes, intent: str, suffix: str) -> None:
    img = nib.cifti2.Cifti2Image(data, header=axes)
    img.nifti_header.set_intent(intent)
    with atomic_path(path, suffix=suffix) as tmp:
        img.to_filename(str(tmp))


def write_ptseries(path, timeseries: np.ndarray, tr: float, atlas: dict, start: float = 0.0) -> None:
    """Write parcel time series as a CIFTI-2 parcellated dense series (``.ptseries.nii``).

    Parameters
    ----------
    path : str or path-like
        The file to write (its folder is created; written to a temporary name, then renamed).
    timeseries : array-like, (frames, 360)
        One row per frame, one column per area (key ``k`` in column ``k - 1``); stored as float32.
    tr : float
        Repetition time in seconds: the series step.
    atlas : dict
        The atlas (see :func:`parcels_axis`).
    start : float, optional
        Time of the first frame in seconds.

    Raises
    ------
    ValueError
        When ``timeseries`` is not ``(frames, 360)`` or ``tr`` is not positive.
    """
    data = _check_rows(timeseries, "timeseries")
    if not tr > 0:
        raise ValueError(f"tr must be positive seconds, got {tr}")
    series = nib.cifti2.SeriesAxis(start=float(start), step=float(tr), size=data.shape[0], unit="SECOND")
    _write(path, data, (series, parcels_axis(atlas)), "ConnParcelSries", ".ptseries.nii")


def write_pscalar(path, values: np.ndarray, map_names, atlas: dict) -> None:
    """Write one or more maps of area values as a CIFTI-2 parcellated scalar file (``.pscalar.nii``).

    Parameters
    ----------
    path : str or path-like
        The file to write (atomically).
    values : array-like, (maps, 360)
        One row per map, one column per area; stored as float32.
    map_names : sequence of str
        One name per map (shown as the map's name in Workbench).
    atlas : dict
        The atlas (see :func:`parcels_axis`).

    Raises
    ------
    ValueError
        When ``values`` is not ``(maps, 360)`` or there is not one name per map.
    """
    data = _check_rows(values, "values")
    scalars = nib.cifti2.ScalarAxis(_check_map_names(map_names, data))
    _write(path, data, (scalars, parcels_axis(atlas)), "ConnParcelScalr", ".pscalar.nii")


def write_dscalar(path, values: np.ndarray, map_names, atlas: dict) -> None:
    """Write maps of area values on the 91282 grayordinates (``.dscalar.nii``), for surface figures.

    Every grayordinate of area ``k`` holds the area's value; the subcortical grayordinates (no
    Glasser area) hold NaN, not 0, so that no map gains a spurious value there.  Workbench treats
    NaN as non-numeric: ``wb_command -file-information`` and ``-cifti-parcellate`` with the
    cortical dlabel handle these files (``tests/test_cifti.py``), whereas a reduction over every
    grayordinate (``-cifti-stats -reduce MEAN``) gives NaN unless restricted to the cortex.

    Parameters
    ----------
    path : str or path-like
        The file to write (atomically).
    values : array-like, (maps, 360)
        One row per map, one column per area; stored as float32.
    map_names : sequence of str
        One name per map.
    atlas : dict
        The atlas (see :func:`parcels_axis`); its brain-model axis is
        :func:`~vanishing_saliency.hcp.geometry.brain_model_axis`.

    Raises
    ------
    ValueError
        When ``values`` is not ``(maps, 360)`` or there is not one name per map.
    """
    data = _check_rows(values, "values")
    scalars = nib.cifti2.ScalarAxis(_check_map_names(map_names, data))
    labels = np.asarray(atlas["labels"])
    padded = np.concatenate([np.full((data.shape[0], 1), np.nan, np.float32), data], axis=1)
    _write(path, padded[:, labels], (scalars, brain_model_axis(atlas)), "ConnDenseScalar", ".dscalar.nii")


def write_dlabel(path, atlas: dict) -> None:
    """Write the atlas as a CIFTI-2 dense label file (``.dlabel.nii``), for ``wb_command -cifti-parcellate``.

    The file covers the 59412 cortical grayordinates, as the official Glasser dlabel does, so it
    parcellates any 91282-grayordinate file whatever its subcortical voxels (Workbench averages
    each parcel's members, ignoring grayordinates the label file lacks).  Key ``k`` (1-360) is
    ``atlas["names"][k - 1]`` in its official colour (``atlas["colours"]``); key 0 is ``???`` (transparent).

    Parameters
    ----------
    path : str or path-like
        The file to write (atomically).
    atlas : dict
        The atlas (see :func:`parcels_axis`), with ``colours`` (360, 4): RGBA in 0-1.

    Raises
    ------
    ValueError
        When the atlas has not 360 names and colours.
    """
    names = [str(n) for n in atlas["names"]]
    colours = np.asarray(atlas["colours"], np.float64)
    if len(names) != N_AREAS or colours.shape != (N_AREAS, 4):
        raise ValueError(f"atlas has {len(names)} names and colours of shape {colours.shape}, expected {N_AREAS}")
    axis = brain_model_axis(atlas)
    cortex = len(atlas["grayl"]) + len(atlas["grayr"])
    table = {
        0: UNLABELLED,
        **{k: (name, tuple(colour)) for k, (name, colour) in enumerate(zip(names, colours, strict=True), 1)},
    }
    keys = np.asarray(atlas["labels"], np.float32)[None, :cortex]
    labels = nib.cifti2.LabelAxis([LABEL_MAP_NAME], [table])
    _write(path, keys, (labels, axis[:cortex]), "ConnDenseLabel", ".dlabel.nii")


def read_parcellated(path):
    """Read a parcellated CIFTI-2 file (``.ptseries.nii`` or ``.pscalar.nii``) on the 360 areas.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    data : numpy.ndarray, (rows, 360) float64
        One row per frame (ptseries) or map (pscalar), one column per parcel in the file's order.
    parcel_names : list of str
        The 360 parcel names, in the file's order (for this package's files, ``atlas["names"]``).
    rows : list of str or dict
        A pscalar's map names; a ptseries' series as ``{"start": s, "step": s, "unit": str, "size": n}``
        (``step`` is the TR in seconds when ``unit`` is ``SECOND``).

    Raises
    ------
    DataError
        (:class:`vanishing_saliency.errors.DataError`, a ``ValueError``) naming the file, when it is
        missing, not CIFTI-2, or not a series or scalar axis by a parcels axis of 360 parcels.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file (expected a parcellated CIFTI-2 file)")
    try:
        img = nib.load(os.fspath(path))
    except Exception as err:  # nibabel raises many types for unreadable files
        raise DataError(f"{path}: not a readable CIFTI-2 file ({type(err).__name__}: {err})") from None
    if not isinstance(img, nib.cifti2.Cifti2Image):
        raise DataError(f"{path}: not a CIFTI-2 file ({type(img).__name__}); expected a .ptseries.nii or .pscalar.nii")
    axes = [img.header.get_axis(i) for i in range(img.ndim)]
    kinds = ", ".join(type(a).__name__ for a in axes)
    if len(axes) != 2 or not isinstance(axes[1], nib.cifti2.ParcelsAxis):
        raise DataError(f"{path}: axes ({kinds}) are not parcellated; expected series or scalars x {N_AREAS} parcels")
    if len(axes[1]) != N_AREAS:
        raise DataError(f"{path}: has {len(axes[1])} parcels, expected {N_AREAS}")
    rows = axes[0]
    if isinstance(rows, nib.cifti2.SeriesAxis):
        info = {"start": float(rows.start), "step": float(rows.step), "unit": str(rows.unit), "size": int(rows.size)}
    elif isinstance(rows, nib.cifti2.ScalarAxis):
        info = [str(n) for n in rows.name]
    else:
        raise DataError(f"{path}: rows are {type(rows).__name__}; expected a series (ptseries) or scalars (pscalar)")
    data = np.asarray(img.get_fdata(dtype=np.float64))
    return data, [str(n) for n in axes[1].name], info
