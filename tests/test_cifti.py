"""CIFTI-2 outputs (vanishing_saliency.hcp.cifti): nibabel round trips, and Connectome Workbench reading them.

The Workbench tests install Debian's ``connectome-workbench`` when they can (tests/local_workbench.py) and skip,
with the reason, only when they cannot.  The agreement test parcellates one simulated raw run with
``wb_command -cifti-parcellate`` (the official Glasser dlabel from ../shared/data/hcp when present, and the dlabel
:func:`write_dlabel` writes) and with the package's ``Parcellator``, cleans both the same way and compares areas.
"""

import re
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from local_workbench import WorkbenchUnavailable, env, wb_command

from vanishing_saliency.hcp.cifti import (
    parcels_axis,
    read_parcellated,
    write_dlabel,
    write_dscalar,
    write_pscalar,
    write_ptseries,
)
from vanishing_saliency.hcp.clean import clean_parcellated
from vanishing_saliency.hcp.geometry import N_AREAS, N_CORTEX, TR, Parcellator, brain_model_axis, build_atlas
from vanishing_saliency.hcp.simulate import area_noise, write_dtseries

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "hcp"
OFFICIAL_DLABEL = (
    SHARED / "Q1-Q6_RelatedValidation210.CorticalAreas_dil_Final_Final_Areas_Group_Colors.32k_fs_LR.dlabel.nii"
)
FRAMES = 100
MAP_NAMES = ["saliency", "gradient x input", "t statistic"]
N_SUBCORTICAL = 91282 - N_CORTEX


@pytest.fixture(scope="module")
def atlas():
    return build_atlas()


@pytest.fixture(scope="module")
def written(tmp_path_factory, atlas):
    """Each writer's file and the values it was given."""
    folder = tmp_path_factory.mktemp("cifti")
    rng = np.random.default_rng(0)
    series = rng.standard_normal((FRAMES, N_AREAS))
    maps = rng.standard_normal((len(MAP_NAMES), N_AREAS))
    paths = {kind: folder / f"sub-01_atlas-MMP360.{kind}.nii" for kind in ("ptseries", "pscalar", "dscalar", "dlabel")}
    write_ptseries(paths["ptseries"], series, TR, atlas, start=1.44)
    write_pscalar(paths["pscalar"], maps, MAP_NAMES, atlas)
    write_dscalar(paths["dscalar"], maps, MAP_NAMES, atlas)
    write_dlabel(paths["dlabel"], atlas)
    return paths, series, maps


# ---- nibabel round trips -------------------------------------------------------------------------------


def test_parcels_axis_holds_each_areas_vertices_in_key_order(atlas):
    axis = parcels_axis(atlas)
    labels = atlas["labels"]
    n_left = len(atlas["grayl"])
    assert list(axis.name) == list(atlas["names"]) and axis.name[0] == "R_V1_ROI" and axis.name[180] == "L_V1_ROI"
    for key in (1, 2, 180, 181, 360):
        vertices = axis.vertices[key - 1]
        if key <= 180:  # right hemisphere
            expected = {"CIFTI_STRUCTURE_CORTEX_RIGHT": atlas["grayr"][labels[n_left:N_CORTEX] == key]}
        else:
            expected = {"CIFTI_STRUCTURE_CORTEX_LEFT": atlas["grayl"][labels[:n_left] == key]}
        assert vertices.keys() == expected.keys()
        assert all(np.array_equal(vertices[s], v) for s, v in expected.items())
    assert sum(len(v) for parcel in axis.vertices for v in parcel.values()) == N_CORTEX
    assert all(len(voxels) == 0 for voxels in axis.voxels)


def test_ptseries_round_trip(written, atlas):
    paths, series, _ = written
    data, names, info = read_parcellated(paths["ptseries"])
    assert names == list(atlas["names"])
    assert info == {"start": 1.44, "step": TR, "unit": "SECOND", "size": FRAMES}
    assert data.shape == (FRAMES, N_AREAS) and np.array_equal(data, series.astype(np.float32))
    img = nib.load(str(paths["ptseries"]))
    assert img.get_data_dtype() == np.float32 and img.nifti_header.get_intent()[0] == "ConnParcelSries"


def test_pscalar_round_trip(written, atlas):
    paths, _, maps = written
    data, names, map_names = read_parcellated(paths["pscalar"])
    assert names == list(atlas["names"]) and map_names == MAP_NAMES
    assert np.array_equal(data, maps.astype(np.float32))
    assert nib.load(str(paths["pscalar"])).nifti_header.get_intent()[0] == "ConnParcelScalr"


def test_dscalar_paints_each_area_on_its_grayordinates(written, atlas):
    paths, _, maps = written
    img = nib.load(str(paths["dscalar"]))
    scalars, brain = img.header.get_axis(0), img.header.get_axis(1)
    assert list(scalars.name) == MAP_NAMES and brain == brain_model_axis(atlas)
    data = img.get_fdata()
    labels = atlas["labels"]
    assert data.shape == (len(MAP_NAMES), 91282) and img.get_data_dtype() == np.float32
    assert np.array_equal(data[:, :N_CORTEX], maps.astype(np.float32)[:, labels[:N_CORTEX] - 1])
    for key in (1, 180, 181, 360):
        assert np.all(data[:, labels == key] == np.float32(maps[:, key - 1])[:, None])
    assert np.isnan(data[:, N_CORTEX:]).all()


def test_dlabel_holds_the_atlas(written, atlas):
    img = nib.load(str(written[0]["dlabel"]))
    table = img.header.get_axis(0).label[0]
    assert sorted(table) == list(range(N_AREAS + 1)) and table[0][0] == "???"
    assert [table[k][0] for k in range(1, N_AREAS + 1)] == list(atlas["names"])
    assert np.allclose([table[k][1] for k in range(1, N_AREAS + 1)], atlas["colours"])  # the official colours
    assert img.header.get_axis(1) == brain_model_axis(atlas)[:N_CORTEX]
    assert np.array_equal(img.get_fdata()[0], atlas["labels"][:N_CORTEX])
    if OFFICIAL_DLABEL.is_file():  # the same keys on the same grayordinates as the official file
        official = nib.load(str(OFFICIAL_DLABEL))
        assert official.header.get_axis(1) == img.header.get_axis(1)
        assert np.array_equal(official.get_fdata(), img.get_fdata())
        assert {k: v[0] for k, v in official.header.get_axis(0).label[0].items()} == {k: v[0] for k, v in table.items()}
        assert np.allclose([official.header.get_axis(0).label[0][k][1] for k in table], [v[1] for v in table.values()])


def test_read_parcellated_names_the_file_it_rejects(written, tmp_path, atlas):
    paths = written[0]
    few = tmp_path / "ten.pscalar.nii"
    img = nib.cifti2.Cifti2Image(
        np.zeros((1, 10), np.float32), header=(nib.cifti2.ScalarAxis(["x"]), parcels_axis(atlas)[:10])
    )
    img.to_filename(str(few))
    text = tmp_path / "areas.ptseries.nii"
    text.write_text("not a CIFTI file\n")
    cases = {
        paths["dscalar"]: "not parcellated",
        paths["dlabel"]: "not parcellated",
        few: "has 10 parcels, expected 360",
        text: "not a readable CIFTI-2 file",
        tmp_path / "missing.ptseries.nii": "no such file",
    }
    for path, problem in cases.items():
        with pytest.raises(ValueError, match=problem) as err:
            read_parcellated(path)
        assert str(path) in str(err.value)


def test_writers_reject_arrays_that_are_not_per_area(tmp_path, atlas):
    with pytest.raises(ValueError, match=r"\(rows, 360\), got shape \(100, 359\)"):
        write_ptseries(tmp_path / "x.ptseries.nii", np.zeros((100, 359)), TR, atlas)
    with pytest.raises(ValueError, match="2 map names for 3 maps"):
        write_pscalar(tmp_path / "x.pscalar.nii", np.zeros((3, N_AREAS)), ["a", "b"], atlas)
    with pytest.raises(ValueError, match="tr must be positive"):
        write_ptseries(tmp_path / "x.ptseries.nii", np.zeros((5, N_AREAS)), 0.0, atlas)
    assert not list(tmp_path.iterdir())  # nothing half-written


# ---- Connectome Workbench ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wb():
    try:
        return wb_command()
    except WorkbenchUnavailable as err:
        pytest.skip(f"Connectome Workbench unavailable: {err}")


def run_wb(wb, *args) -> str:
    res = subprocess.run([wb, *map(str, args)], env=env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"wb_command {' '.join(map(str, args))} failed:\n{res.stderr[-3000:]}"
    return res.stdout


def file_information(wb, path) -> dict:
    """``wb_command -file-information``: its ``key: value`` lines, parcel names, map rows and label table."""
    out = run_wb(wb, "-file-information", path)
    info = {"parcels": [], "maps": [], "labels": {}}
    in_maps = False
    for line in out.splitlines():
        if m := re.match(r"^(\S[^:]*):\s+(.*?)\s*$", line):
            info.setdefault(m[1], m[2])
        if m := re.match(r"^\s+Parcel (\d+):\s+(\S+)\s*$", line):
            info["parcels"].append(m[2])
        if m := re.match(r"^\s+(\d+)\s+(\S+)(\s+[\d.]+){4}\s*$", line):
            info["labels"][int(m[1])] = m[2]
        if line.startswith("Map ") and "Minimum" in line:
            in_maps = True
        elif in_maps and line.strip():
            index, low, high, mean, sd, pos, neg, nonfinite, name = line.split(maxsplit=8)
            info["maps"].append({"min": float(low), "max": float(high), "nan": int(nonfinite), "name": name.strip()})
        elif in_maps:
            in_maps = False
    return info


def test_workbench_reads_every_file(wb, written, atlas):
    paths, series, maps = written
    names = list(atlas["names"])

    pt = file_information(wb, paths["ptseries"])
    assert pt["Type"] == "CIFTI - Parcel Series" and pt["parcels"] == names
    assert int(pt["Number of Maps"]) == FRAMES and int(pt["Number of Rows"]) == N_AREAS
    assert float(pt["Map Interval Step"]) == TR and float(pt["Map Interval Start"]) == 1.44
    assert np.allclose([m["min"] for m in pt["maps"]], series.min(1), atol=6e-4)
    assert np.allclose([m["max"] for m in pt["maps"]], series.max(1), atol=6e-4)

    ps = file_information(wb, paths["pscalar"])
    assert ps["Type"] == "CIFTI - Parcel Scalar" and ps["parcels"] == names
    assert int(ps["Number of Maps"]) == len(MAP_NAMES) and [m["name"] for m in ps["maps"]] == MAP_NAMES
    assert np.allclose([m["max"] for m in ps["maps"]], maps.max(1), atol=6e-4)

    ds = file_information(wb, paths["dscalar"])
    assert ds["Type"] == "CIFTI - Dense Scalar" and int(ds["Number of Rows"]) == 91282
    assert [m["name"] for m in ds["maps"]] == MAP_NAMES
    # Workbench counts the subcortical NaNs as non-numeric and leaves them out of its statistics
    assert [m["nan"] for m in ds["maps"]] == [N_SUBCORTICAL] * len(MAP_NAMES)
    assert np.allclose([m["min"] for m in ds["maps"]], maps.min(1), atol=6e-4)

    dl = file_information(wb, paths["dlabel"])
    assert dl["Type"] == "CIFTI - Dense Label" and int(dl["Number of Rows"]) == N_CORTEX
    assert dl["labels"] == {0: "???", **dict(enumerate(names, 1))}


def test_workbench_parcellates_our_dscalar_back_to_the_area_values(wb, written, tmp_path):
    paths, _, maps = written
    out = tmp_path / "back.pscalar.nii"
    run_wb(wb, "-cifti-parcellate", paths["dscalar"], paths["dlabel"], "COLUMN", out)
    data, _, map_names = read_parcellated(out)
    assert map_names == MAP_NAMES and np.allclose(data, maps.astype(np.float32), rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def raw_run(tmp_path_factory, atlas):
    """A (frames, 91282) run with area structure, motion artefact, drift and baseline; its motion; its dtseries."""
    rng = np.random.default_rng(7)
    labels = atlas["labels"]
    area_signal = np.zeros((FRAMES, N_AREAS + 1), np.float32)  # column 0: no area
    area_signal[:, 1:] = area_noise(FRAMES, N_AREAS, sd=1.0, ar=0.6, rng=rng)
    positions = np.cumsum(rng.normal(0, 0.05, (FRAMES, 6)), axis=0)
    motion = np.hstack([positions, np.vstack([np.zeros((1, 6)), np.diff(positions, axis=0)])])
    data = rng.standard_normal((FRAMES, labels.size), dtype=np.float32) + area_signal[:, labels]
    data += (motion @ rng.normal(0, 1, (12, labels.size))).astype(np.float32)
    data += np.float32(100.0) + np.linspace(0, 2, FRAMES, dtype=np.float32)[:, None]
    path = tmp_path_factory.mktemp("raw") / "sub-01_task-WM_bold.dtseries.nii"
    write_dtseries(path, data, brain_model_axis(atlas), tr=TR)
    return data, motion, path


@pytest.mark.parametrize("which", ["official", "ours"])
def test_workbench_parcellation_agrees_with_ours_after_cleaning(which, wb, raw_run, written, atlas, tmp_path):
    """wb_command -cifti-parcellate keeps the dlabel's key order (R_V1_ROI first), so no mapping by name."""
    if which == "official" and not OFFICIAL_DLABEL.is_file():
        pytest.skip("../shared/data/hcp (the official Glasser dlabel) absent")
    data, motion, dtseries = raw_run
    dlabel = OFFICIAL_DLABEL if which == "official" else written[0]["dlabel"]
    out = tmp_path / "wb.ptseries.nii"
    run_wb(wb, "-cifti-parcellate", dtseries, dlabel, "COLUMN", out)
    theirs, names, info = read_parcellated(out)
    assert names == list(atlas["names"]) and info["step"] == pytest.approx(TR) and info["size"] == FRAMES
    ours = Parcellator(atlas["labels"])(data)
    assert np.abs(theirs - ours).max() < 1e-3  # float32 sums of ~100-value means; measured ~4e-6
    clean_theirs, _, _ = clean_parcellated(theirs, motion, TR)
    clean_ours, _, _ = clean_parcellated(ours, motion, TR)
    a = (clean_theirs - clean_theirs.mean(0)) / clean_theirs.std(0)
    b = (clean_ours - clean_ours.mean(0)) / clean_ours.std(0)
    r = (a * b).mean(0)
    assert r.shape == (N_AREAS,) and r.min() > 0.9999, f"lowest r {r.min():.6f} in {names[int(r.argmin())]}"
