"""HCP branch, part 1: simulator formats, geometry, cleaning, parcellation, blocks, split, bad inputs."""

import shutil
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from vanishing_saliency.errors import HCPDataError
from vanishing_saliency.hcp.blocks import block_frames, on_off_samples, split_subjects
from vanishing_saliency.hcp.clean import CleaningOptions, clean_parcellated, confounds, regress_out, zscore
from vanishing_saliency.hcp.geometry import FRAMES, N_GRAYORDINATES, Parcellator, brain_model_axis, build_atlas
from vanishing_saliency.hcp.io import load_run, read_ev, run_paths, subject_runs
from vanishing_saliency.hcp.simulate import (
    DtseriesWriter,
    SimulationSettings,
    simulate_run,
    simulate_subject,
    write_dtseries,
)
from vanishing_saliency.steps import hcp_preprocess
from vanishing_saliency.workflow import Job

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "hcp"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/hcp (official HCP geometry) absent")


@pytest.fixture(scope="module")
def atlas():
    return build_atlas()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory, atlas):
    """One simulated subject, every task, LR only."""
    root = tmp_path_factory.mktemp("raw")
    truth = root / "truth.npz"
    simulate_subject(
        root,
        "900001",
        atlas,
        list(FRAMES),
        ["LR"],
        seed=3,
        settings=SimulationSettings(),
        truth_path=truth,
        area_seed=1,
    )
    return root, truth


def test_simulated_files_have_the_hcp_formats(cohort):
    root, _ = cohort
    for task, frames in FRAMES.items():
        paths = run_paths(root, "900001", task, "LR")
        img = nib.load(str(paths["dtseries"]))
        series, brain = img.header.get_axis(0), img.header.get_axis(1)
        assert img.shape == (frames, N_GRAYORDINATES) and img.get_data_dtype() == np.float32
        assert isinstance(series, nib.cifti2.SeriesAxis) and series.step == pytest.approx(0.72)
        assert img.nifti_header.get_intent()[0] == "ConnDenseSeries"
        counts = {n: int((brain.name == n).sum()) for n in np.unique(brain.name)}
        assert counts["CIFTI_STRUCTURE_CORTEX_LEFT"] == 29696 and counts["CIFTI_STRUCTURE_CEREBELLUM_RIGHT"] == 9144
        motion_text = paths["motion"].read_text().splitlines()
        assert len(motion_text) == frames and len(motion_text[1].split()) == 12
        motion = np.loadtxt(paths["motion"])
        assert np.all(motion[0, 6:] == 0)
        assert np.allclose(motion[1:, 6:], np.diff(motion[:, :6], axis=0), atol=2e-6)
    assert {p.name for p in run_paths(root, "900001", "WM", "LR")["evs"].iterdir()} >= {
        "0bk_body.txt",
        "2bk_tools.txt",
        "0bk_cor.txt",
        "all_bk_err.txt",
    }
    assert {p.name for p in run_paths(root, "900001", "GAMBLING", "LR")["evs"].iterdir()} == {
        "win.txt",
        "loss.txt",
        "win_event.txt",
        "loss_event.txt",
        "neut_event.txt",
    }
    ev = np.loadtxt(run_paths(root, "900001", "RELATIONAL", "LR")["evs"] / "relation.txt")
    assert (
        ev.shape == (3, 3) and "\t" in (run_paths(root, "900001", "RELATIONAL", "LR")["evs"] / "match.txt").read_text()
    )


@needs_shared
def test_dtseries_writer_writes_what_nibabel_writes(atlas, tmp_path):
    """The simulator's writer (the CIFTI-2 XML built once per series length) writes the same bytes as
    nibabel's Cifti2Image, for every length it has cached and a new one."""
    axis = brain_model_axis(atlas)
    writer = DtseriesWriter(axis)
    rng = np.random.default_rng(0)
    for n in (FRAMES["RELATIONAL"], FRAMES["GAMBLING"], FRAMES["RELATIONAL"]):
        data = rng.standard_normal((n, axis.size), dtype=np.float32)
        write_dtseries(tmp_path / "nibabel.dtseries.nii", data, axis)
        writer.write(tmp_path / "writer.dtseries.nii", data)
        assert (tmp_path / "writer.dtseries.nii").read_bytes() == (tmp_path / "nibabel.dtseries.nii").read_bytes()
    assert sorted(writer._xml) == sorted({FRAMES["RELATIONAL"], FRAMES["GAMBLING"]})


def test_read_dtseries_agrees_with_nibabels_cifti2_image(cohort):
    """The fast reader (NIfTI-2 through nibabel, the CIFTI-2 XML through the standard library) gives the
    data, the series step and the brain-model layout nibabel's Cifti2Image gives."""
    from vanishing_saliency.hcp.io import read_dtseries

    path = run_paths(cohort[0], "900001", "WM", "LR")["dtseries"]
    data, series_map, brain_map = read_dtseries(path)
    img = nib.load(str(path))
    assert np.array_equal(data, np.asarray(img.dataobj, dtype=np.float32))
    assert float(series_map.get("SeriesStep")) == img.header.get_axis(0).step
    axis = img.header.get_axis(1)
    ours = [(bm.get("BrainStructure"), int(bm.get("IndexCount"))) for bm in brain_map.iter("BrainModel")]
    assert ours == [(name, len(sub)) for name, _, sub in axis.iter_structures()]


@needs_shared
def test_geometry_matches_the_real_hcp_grayordinates(atlas):
    real = nib.load(str(SHARED / "91282_Greyordinates.dscalar.nii")).header.get_axis(1)
    ours = brain_model_axis(atlas)
    assert np.array_equal(real.name, ours.name)  # same structures, same order and counts
    assert np.array_equal(real.vertex[:59412], ours.vertex[:59412])  # same cortical vertices
    assert len(np.unique(ours.voxel[59412:], axis=0)) == 31870


@needs_shared
def test_parcellation_agrees_with_the_official_glasser_dlabel(atlas):
    dlabel = nib.load(
        str(SHARED / "Q1-Q6_RelatedValidation210.CorticalAreas_dil_Final_Final_Areas_Group_Colors.32k_fs_LR.dlabel.nii")
    )
    keys = np.asarray(dlabel.get_fdata()[0], dtype=int)
    table = dlabel.header.get_axis(0).label[0]
    # the same key on every cortical grayordinate, and each key's name spelled and coloured as the dlabel does
    assert keys.shape == (59412,) and np.array_equal(keys, atlas["labels"][:59412])
    assert [table[k][0] for k in range(1, 361)] == list(atlas["names"])
    assert np.array_equal([table[k][1] for k in range(1, 361)], atlas["colours"])
    assert atlas["names"][0] == "R_V1_ROI" and atlas["names"][180] == "L_V1_ROI"


def test_the_atlas_holds_the_arrays_rule_hcp_atlas_declares(atlas):
    from vanishing_saliency.hcp.geometry import ATLAS_ARRAYS

    assert tuple(atlas) == ATLAS_ARRAYS  # the rule rebuilds a file made with other arrays (params.arrays)


def test_parcellator_averages_within_areas(atlas):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((5, N_GRAYORDINATES)).astype(np.float32)
    out = Parcellator(atlas["labels"])(data)
    labels = atlas["labels"]
    for area in (1, 180, 181, 360):
        assert np.allclose(out[:, area - 1], data[:, labels == area].mean(1), atol=1e-6)
    assert str(atlas["names"][0]) == "R_V1_ROI" and str(atlas["names"][180]) == "L_V1_ROI"  # official order


def test_parcellate_then_clean_equals_clean_then_parcellate_on_a_real_size_run(atlas):
    rng = np.random.default_rng(1)
    areas_of = {t: np.arange(1, 25) + 30 * i for i, t in enumerate(FRAMES)}
    data, motion, _, _ = simulate_run("WM", atlas["labels"], areas_of, rng, SimulationSettings())
    assert data.shape == (405, 91282)
    design = confounds(motion, 0.72, 0.008)
    parcellate = Parcellator(atlas["labels"])
    first = zscore(regress_out(parcellate(data), design))
    cortex = np.asarray(data[:, :59412], dtype=np.float64)
    cleaned_full = regress_out(cortex, design)
    padded = np.zeros((405, N_GRAYORDINATES))
    padded[:, :59412] = cleaned_full
    second = zscore(parcellate(padded))
    assert np.abs(first - second).max() < 1e-8


def test_cleaning_removes_planted_motion_and_drift_but_keeps_the_task(atlas):
    rng = np.random.default_rng(2)
    areas_of = {t: np.arange(1, 25) + 30 * i for i, t in enumerate(FRAMES)}
    data, motion, _, truth = simulate_run("GAMBLING", atlas["labels"], areas_of, rng, SimulationSettings())
    areas = Parcellator(atlas["labels"])(data)
    ts, _, qc = clean_parcellated(areas, motion, 0.72)
    assert qc["max_abs_corr_with_motion_before"] > 0.5
    assert qc["max_abs_corr_with_motion_after"] < 1e-8
    assert qc["lowfreq_power_fraction_before"] > 0.2
    assert qc["lowfreq_power_fraction_after"] < 0.01
    responsive = truth["areas"] - 1
    r = [np.corrcoef(ts[:, a], truth["response"])[0, 1] for a in responsive]
    silent = [np.corrcoef(ts[:, a], truth["response"])[0, 1] for a in range(300, 310)]
    assert np.mean(r) > 0.4 and np.max(np.abs(silent)) < 0.3  # measured: 0.57 vs < 0.3
    # without motion regression the artefact stays
    _, _, qc_nomotion = clean_parcellated(areas, motion, 0.72, CleaningOptions(motion_regression=False))
    assert qc_nomotion["max_abs_corr_with_motion_after"] > 0.3
    # and without the low-frequency regression the drift stays
    _, _, qc_nodrift = clean_parcellated(areas, motion, 0.72, CleaningOptions(lowfreq_regression=False))
    assert (
        qc_nodrift["lowfreq_power_fraction_after"] > 0.03 > 100 * qc["lowfreq_power_fraction_after"]
    )  # measured 0.078


def test_block_frames_and_on_off_samples():
    assert block_frames([0.0, 7.2], [3.6, 1.44], 100) == [(0, 5), (10, 12)]
    assert block_frames([0.0], [3.6], 100, shift_s=1.44) == [(2, 7)]
    ts = np.arange(100)[:, None] * np.ones((1, 3))
    # block 2 is followed directly by block 3, so it gives no on/off sample
    samples, starts = on_off_samples(ts, [(5, 50), (60, 70), (70, 80)], on_frames=8, off_frames=5)
    assert starts == [42, 72] and all(len(s) == 13 for s in samples)
    assert samples[0][0, 0] == 42 and samples[0][-1, 0] == 54


def test_split_is_by_subject_deterministic_and_disjoint():
    subjects = [str(100000 + i) for i in range(749)]
    a = split_subjects(subjects, seed=4)
    assert a == split_subjects(subjects, seed=4) and a != split_subjects(subjects, seed=5)
    sets = {k: {s for s, v in a.items() if v == k} for k in ("train", "val", "test")}
    assert len(sets["test"]) == 183 and len(sets["train"]) + len(sets["val"]) == 566
    assert not (sets["train"] & sets["test"]) and not (sets["val"] & sets["test"]) and not (sets["train"] & sets["val"])


# ---- bad inputs: each error names the subject and the file ---------------------------------------------


def _copy_run(cohort, tmp_path, task="GAMBLING"):
    root, _ = cohort
    src = run_paths(root, "900001", task, "LR")["dir"]
    dst = run_paths(tmp_path, "900001", task, "LR")["dir"]
    shutil.copytree(src, dst)
    return run_paths(tmp_path, "900001", task, "LR")


def _expect(paths, match, file_key="dtseries"):
    with pytest.raises(HCPDataError, match=match) as err:
        load_run(paths, "900001", "GAMBLING", "LR", 0.72, 253)
    msg = str(err.value)
    assert "subject 900001" in msg and "GAMBLING" in msg and str(paths[file_key]) in msg


def _rewrite(paths, data, step=0.72, axis=None):
    img = nib.load(str(paths["dtseries"]))
    write_dtseries(paths["dtseries"], data, axis or img.header.get_axis(1), tr=step)


def test_missing_dtseries(cohort, tmp_path):
    paths = _copy_run(cohort, tmp_path)
    paths["dtseries"].unlink()
    _expect(paths, "missing dense time series")


def test_truncated_cifti(cohort, tmp_path):
    paths = _copy_run(cohort, tmp_path)
    raw = paths["dtseries"].read_bytes()
    paths["dtseries"].write_bytes(raw[: len(raw) // 2])
    _expect(paths, "truncated or corrupt")


def test_wrong_grayordinate_count(cohort, tmp_path, atlas):
    paths = _copy_run(cohort, tmp_path)
    data = np.asarray(nib.load(str(paths["dtseries"])).dataobj)
    axis = brain_model_axis(atlas)[:59412]
    _rewrite(paths, data[:, :59412], axis=axis)
    _expect(paths, "has 59412 grayordinates, expected 91282")


def test_wrong_tr(cohort, tmp_path):
    paths = _copy_run(cohort, tmp_path)
    _rewrite(paths, np.asarray(nib.load(str(paths["dtseries"])).dataobj), step=2.0)
    _expect(paths, "TR 2 s .* expected 0.72 s")


def test_frames_differ_from_motion_file(cohort, tmp_path):
    paths = _copy_run(cohort, tmp_path)
    lines = paths["motion"].read_text().splitlines()
    paths["motion"].write_text("\n".join(lines[:-3]) + "\n")
    _expect(
        paths,
        r"has 250 rows but the dense time series \(tfMRI_GAMBLING_LR_Atlas_MSMAll.dtseries.nii\) has 253 frames "
        r"\(one row per frame\); an HCP GAMBLING run has 253 frames",
        file_key="motion",
    )


def test_a_time_series_one_frame_short_names_the_motion_file_that_has_the_run_length(cohort, tmp_path):
    paths = _copy_run(cohort, tmp_path)
    _rewrite(paths, np.asarray(nib.load(str(paths["dtseries"])).dataobj)[:-1])
    _expect(
        paths,
        r"has 252 frames, but the run's motion regressors \(Movement_Regressors.txt\) have 253 rows, one per frame, "
        r"and an HCP GAMBLING run has 253 frames: truncated\?",
    )


def test_a_run_shorter_than_the_protocol_in_both_files_says_so(cohort, tmp_path):
    paths = _copy_run(cohort, tmp_path)
    _rewrite(paths, np.asarray(nib.load(str(paths["dtseries"])).dataobj)[:-2])
    paths["motion"].write_text("\n".join(paths["motion"].read_text().splitlines()[:-2]) + "\n")
    _expect(paths, r"has 251 frames \(and Movement_Regressors.txt as many rows\), but an HCP GAMBLING run has 253")


def test_nan_values(cohort, tmp_path):
    paths = _copy_run(cohort, tmp_path)
    data = np.asarray(nib.load(str(paths["dtseries"])).dataobj).copy()
    data[17, 4242] = np.nan
    _rewrite(paths, data)
    _expect(paths, "non-finite values .*frame 17, grayordinate 4242")


@pytest.mark.parametrize(
    "content, match",
    [
        ("12.0\tabc\t1\n", "malformed EV file"),
        ("", "empty EV file"),
        (
            "170.0\t28.0\t1\n",
            r"row 1 \(onset 170 s, duration 28 s\): ends at 198.00 s, after the end of the run \(182.16 s\)",
        ),
        ("8.0\t-28.0\t1\n", r"row 1 \(onset 8 s, duration -28 s\): duration is not positive"),
        ("8.0\t0.0\t1\n", "duration is not positive"),
        ("8.0\t28.0\t1\n-2.0\t28.0\t1\n", r"row 2 \(onset -2 s, duration 28 s\): onset before the start of the run"),
        ("8.0\t28.0\n", "has 2 columns, expected 3"),
    ],
)
def test_bad_ev_files(cohort, tmp_path, content, match):
    paths = _copy_run(cohort, tmp_path)
    ev = paths["evs"] / "win.txt"
    ev.write_text(content)
    with pytest.raises(HCPDataError, match=match) as err:
        read_ev(ev, "900001", "GAMBLING", "LR", 253 * 0.72)
    assert "subject 900001" in str(err.value) and str(ev) in str(err.value)


@pytest.mark.parametrize(
    "win, loss, match",
    [
        ("8.0\t28.0\t1\n8.0\t28.0\t1\n", "51.0\t28.0\t1\n", r"the win block at 8 s repeats the win block at 8 s"),
        ("8.0\t28.0\t1\n", "30.0\t28.0\t1\n", r"and .*loss.txt: the loss block at 30 s overlaps the win block at 8 s"),
    ],
)
def test_repeated_or_overlapping_blocks(cohort, tmp_path, win, loss, match):
    from vanishing_saliency.hcp.io import read_blocks

    paths = _copy_run(cohort, tmp_path)
    (paths["evs"] / "win.txt").write_text(win)
    (paths["evs"] / "loss.txt").write_text(loss)
    run = subject_runs(tmp_path, "900001", ["GAMBLING"], ["LR"])[0]
    with pytest.raises(HCPDataError, match=match) as err:
        read_blocks(run, "900001", 253, 0.72)
    assert "win.txt" in str(err.value) and "subject 900001" in str(err.value)


def test_missing_ev_file(cohort, tmp_path):
    from vanishing_saliency.hcp.io import read_blocks

    paths = _copy_run(cohort, tmp_path)
    (paths["evs"] / "loss.txt").unlink()
    with pytest.raises(HCPDataError, match=r"loss.txt: missing EV file"):
        read_blocks(subject_runs(tmp_path, "900001", ["GAMBLING"], ["LR"])[0], "900001", 253, 0.72)


@pytest.mark.parametrize(
    "content, match",
    [
        ("1 2 3\n" * 253, "has 3 columns, expected 12"),
        ("a b c d e f g h i j k l\n" * 253, "is not a numeric table"),
        ("", "is empty"),
    ],
)
def test_bad_motion_files(cohort, tmp_path, content, match):
    paths = _copy_run(cohort, tmp_path)
    paths["motion"].write_text(content)
    _expect(paths, match, file_key="motion")


def test_constant_data(cohort, tmp_path):
    paths = _copy_run(cohort, tmp_path)
    data = np.asarray(nib.load(str(paths["dtseries"])).dataobj).copy()
    data[:, :30000] = 100.0
    _rewrite(paths, data)
    _expect(paths, "is constant over time in 30000 of 59412 cortical grayordinates")


def test_wrong_brain_model_layout(cohort, tmp_path, atlas):
    paths = _copy_run(cohort, tmp_path)
    axis = brain_model_axis(atlas)
    names = np.array(axis.name)
    amyg = np.flatnonzero(names == "CIFTI_STRUCTURE_AMYGDALA_LEFT")
    names[amyg] = "CIFTI_STRUCTURE_AMYGDALA_RIGHT"  # the same count, the wrong structure
    bad = nib.cifti2.BrainModelAxis(
        name=names,
        vertex=axis.vertex,
        voxel=axis.voxel,
        affine=axis.affine,
        volume_shape=axis.volume_shape,
        nvertices=axis.nvertices,
    )
    _rewrite(paths, np.asarray(nib.load(str(paths["dtseries"])).dataobj), axis=bad)
    _expect(
        paths,
        r"brain-model layout differs from the HCP 91k grayordinates: \('AMYGDALA_RIGHT', \d+\) where "
        r"\('AMYGDALA_LEFT', 315\) was expected",
    )


def test_the_error_names_the_file_at_fault_whole(cohort, tmp_path, atlas):
    # the check records the faulty file (here the motion regressors, not the dense time series) and the whole
    # problem; preprocessing then raises exactly that, message intact
    root, _ = cohort
    shutil.copytree(root / "900001", tmp_path / "900001")
    motion = run_paths(tmp_path, "900001", "WM", "LR")["motion"]
    motion.write_text("\n".join(motion.read_text().splitlines()[:-5]) + "\n")
    runs = subject_runs(tmp_path, "900001", list(FRAMES), ["LR"])
    check = hcp_preprocess.check(
        Job.make(
            output=[tmp_path / "check.json"],
            params={"runs": runs, "tr": 0.72, "cleaning": {}},
            wildcards={"subject": "900001"},
        )
    )
    wm = [r for r in check["runs"] if r["task"] == "WM"][0]
    problem = (
        "has 400 rows but the dense time series (tfMRI_WM_LR_Atlas_MSMAll.dtseries.nii) has 405 frames (one row per "
        "frame); an HCP WM run has 405 frames"
    )
    assert wm["file"] == str(motion) and wm["problem"] == problem
    from vanishing_saliency.io import save_npz

    save_npz(tmp_path / "atlas.npz", **atlas)
    # a subject left with no usable run: preprocessing raises exactly what the check found (a subject with another
    # run that passed keeps it: tests/test_hcp_workflow.py)
    only_wm = [r for r in runs if r["task"] == "WM"]
    hcp_preprocess.check(
        Job.make(
            output=[tmp_path / "check.json"],
            params={"runs": only_wm, "tr": 0.72, "cleaning": {}},
            wildcards={"subject": "900001"},
        )
    )
    job = Job.make(
        input={"check": tmp_path / "check.json", "atlas": tmp_path / "atlas.npz"},
        output={"timeseries": tmp_path / "sub-900001", "fc": tmp_path / "fc.npz", "qc_png": tmp_path / "qc.png"},
        params={"runs": only_wm, "tr": 0.72, "cleaning": {}},
        wildcards={"subject": "900001"},
    )
    with pytest.raises(HCPDataError) as err:
        hcp_preprocess.preprocess(job)
    assert str(err.value) == (
        f"subject 900001, task WM, run LR: {motion}: {problem}  (no run of this subject passed its check; hcp.exclude "
        "skips it)"
    )
    assert not (tmp_path / "sub-900001").exists() and not (tmp_path / "fc.npz").exists()  # nothing half-written


def test_subject_missing_one_run_is_reported_not_raised(cohort, tmp_path):
    root, _ = cohort
    shutil.copytree(root / "900001", tmp_path / "900001")
    shutil.rmtree(run_paths(tmp_path, "900001", "WM", "LR")["dir"])
    runs = subject_runs(tmp_path, "900001", list(FRAMES), ["LR"])
    result = hcp_preprocess.check(
        Job.make(
            output=[tmp_path / "check.json"],
            params={"runs": runs, "tr": 0.72, "cleaning": {}},
            wildcards={"subject": "900001"},
        )
    )
    status = {r["task"]: r["status"] for r in result["runs"]}
    assert status == {"GAMBLING": "ok", "RELATIONAL": "ok", "WM": "error"}
    wm = [r for r in result["runs"] if r["task"] == "WM"][0]
    assert "subject 900001" in wm["message"] and "tfMRI_WM_LR_Atlas_MSMAll.dtseries.nii" in wm["message"]


def test_blocks_step_labels_and_masks(tmp_path):
    from vanishing_saliency.io import save_npz

    def blocks_step(paths, kind, tasks, shift, on_frames, off_frames, out, frames=None, baseline="run"):
        hcp_preprocess.blocks(
            Job.make(
                input=paths,
                output=[out],
                wildcards={"experiment": kind},
                params={
                    "spec": {
                        "kind": kind,
                        "tasks": tasks,
                        "hrf_shift_s": shift,
                        "on_frames": on_frames,
                        "off_frames": off_frames,
                        "frames": frames,
                        "baseline": baseline,
                        "max_censored": 0.25,
                    }
                },
            )
        )

    paths, folder = [], tmp_path / "sub-1"  # a subject's folder of cleaned runs, as hcp_preprocess writes it
    folder.mkdir()
    for task, onsets, durs in (("GAMBLING", [7.2, 43.2], [21.6, 21.6]), ("RELATIONAL", [7.2], [14.4])):
        p = folder / f"{task}.npz"
        save_npz(
            p,
            timeseries=np.random.default_rng(0).standard_normal((100, 360)).astype(np.float32),
            tr=0.72,
            subject="1",
            task=task,
            run="LR",
            block_onset_s=np.array(onsets),
            block_duration_s=np.array(durs),
        )
        paths.append(p)
    table = {"subject": "1", "task": ["GAMBLING", "RELATIONAL", "WM"], "run": "LR", "status": ["ok", "ok", "error"]}
    pd.DataFrame({**table, "timeseries": [p.name for p in paths] + [""]}).to_csv(folder / "runs.tsv", sep="\t")
    blocks_step([folder], "on_task", ["GAMBLING", "RELATIONAL"], 0.0, 38, 10, tmp_path / "on_task.npz")
    with np.load(tmp_path / "on_task.npz") as f:
        assert list(f["labels"]) == [0, 0, 1] and list(f["lengths"]) == [30, 30, 20]
        assert list(f["block_start_frame"]) == [10, 60, 10]
        assert np.array_equal(f["on_mask"].sum(1), f["lengths"])
        assert np.all(f["data"][2, 20:] == 0)  # padding
    blocks_step([folder], "off_task", ["GAMBLING", "RELATIONAL"], 0.0, 38, 10, tmp_path / "off.npz")
    with np.load(tmp_path / "off.npz") as f:
        assert list(f["lengths"]) == [10, 10, 10] and not f["on_mask"].any()
    # length-matched: every block cut to its first 20 frames (the 20-frame RELATIONAL block included)
    blocks_step([folder], "on_task", ["GAMBLING", "RELATIONAL"], 0.0, 38, 10, tmp_path / "matched.npz", frames=20)
    with np.load(tmp_path / "matched.npz") as f:
        assert list(f["lengths"]) == [20, 20, 20] and list(f["labels"]) == [0, 0, 1]
        assert list(f["block_start_frame"]) == [10, 60, 10]
    # rest baseline: every run's frames outside its blocks have mean 0 and sd 1 in every area
    blocks_step([folder], "off_task", ["GAMBLING", "RELATIONAL"], 0.0, 38, 10, tmp_path / "rest.npz", baseline="rest")
    with np.load(tmp_path / "rest.npz") as f, np.load(paths[0]) as g:
        from vanishing_saliency.hcp.blocks import active_mask, block_frames, rest_standardised

        ranges = block_frames(g["block_onset_s"], g["block_duration_s"], 100, 0.0, 0.72)
        rest = rest_standardised(g["timeseries"], ranges)[~active_mask(ranges, 100)]
        assert np.allclose(rest.mean(0), 0, atol=1e-6) and np.allclose(rest.std(0), 1, atol=1e-6)
        assert np.allclose(f["data"][0], rest_standardised(g["timeseries"], ranges)[40:50], atol=1e-6)


# ---- confound strategies, censoring, QC-FC: hand computations ------------------------------------------


def _small_run(seed=0, n=120, areas=6):
    rng = np.random.default_rng(seed)
    motion = np.cumsum(rng.normal(0, 0.05, (n, 12)), 0)
    y = rng.normal(size=(n, areas)) + motion[:, :areas] * 0.5
    return y, motion


def test_paper_and_24p_designs_equal_a_hand_computation():
    from vanishing_saliency.hcp.clean import cosine_basis

    y, motion = _small_run()
    n = len(y)
    m = motion - motion.mean(0)
    sq = m**2 - (m**2).mean(0)
    trend = np.linspace(-1, 1, n)[:, None]
    for strategy, cols in (("paper", [m]), ("24P", [m, sq])):
        hand = np.hstack([np.ones((n, 1)), *cols, trend, cosine_basis(n, 0.72, 0.008)])
        assert np.allclose(confounds(motion, 0.72, 0.008, strategy=strategy), hand)
        beta = np.linalg.solve(hand.T @ hand, hand.T @ y)
        resid = y - hand @ beta
        ts, censored, qc = clean_parcellated(y, motion, 0.72, CleaningOptions(strategy=strategy))
        assert np.allclose(ts, (resid - resid.mean(0)) / resid.std(0), atol=1e-8) and not censored.any()
    assert confounds(motion, 0.72, 0.008, strategy="24P").shape[1] == 1 + 24 + 1 + 1
    assert confounds(motion, 0.72, 0.008, strategy="24P+GS", global_signal=y.mean(1)).shape[1] == 1 + 24 + 4 + 2


def test_regression_equals_nilearns_signal_clean():
    from nilearn.signal import clean

    y, motion = _small_run(1)
    design = confounds(motion, 0.72, 0.008, strategy="24P")
    ours = regress_out(y, design)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nilearn's notices about its future defaults
        theirs = clean(
            y,
            confounds=design[:, 1:],
            detrend=False,
            standardize=False,
            standardize_confounds=False,
            filter=False,
            t_r=0.72,
        )
    # our columns (but the intercept) have mean 0, so nilearn's projection equals least squares up to the mean
    assert np.allclose(ours - ours.mean(0), theirs - theirs.mean(0), atol=1e-8)


def test_global_signal_is_the_cortical_mean(atlas):
    rng = np.random.default_rng(3)
    data = rng.normal(size=(4, N_GRAYORDINATES)).astype(np.float32)
    parcellate = Parcellator(atlas["labels"])
    cortex = atlas["labels"] > 0
    assert np.allclose(parcellate.global_signal(parcellate(data)), data[:, cortex].mean(1), atol=1e-5)


def test_framewise_displacement_and_censoring_by_hand():
    from vanishing_saliency.hcp.clean import framewise_displacement

    motion = np.zeros((6, 12))
    motion[2, 0] = 0.3  # a 0.3 mm step at frame 2 and back at frame 3
    motion[4, 3] = 1.0  # a 1 degree rotation at frame 4: 50 mm x pi / 180 = 0.873 mm
    fd = framewise_displacement(motion)
    assert np.allclose(fd, [0, 0, 0.3, 0.3, np.pi / 180 * 50, np.pi / 180 * 50])
    y, m = _small_run(2, n=60)
    m[:, :6] = 0
    m[[10, 11, 40], 0] = [2.0, 0.0, 3.0]  # spikes: FD > 0.5 at frames 10, 11, 40, 41
    ts, censored, qc = clean_parcellated(y, m, 0.72, CleaningOptions(fd_threshold=0.5))
    assert list(np.flatnonzero(censored)) == [10, 11, 40, 41] and qc["n_censored"] == 4
    design = confounds(m, 0.72, 0.008)
    kept = ~censored
    beta = np.linalg.lstsq(design[kept], y[kept], rcond=None)[0]
    resid = y - design @ beta
    assert np.allclose(ts[kept], (resid[kept] - resid[kept].mean(0)) / resid[kept].std(0), atol=1e-8)
    # censored frames interpolated between their kept neighbours (in the cleaned, standardised series)
    assert np.allclose(ts[10], ts[9] + (ts[12] - ts[9]) / 3, atol=1e-8)
    assert qc["tdof_lost"] == design.shape[1] + 4


def test_qcfc_by_hand():
    from vanishing_saliency.hcp.qc import edge_distances, qcfc, qcfc_summary

    rng = np.random.default_rng(4)
    fd = rng.random(30)
    fc = rng.normal(size=(30, 3))
    fc[:, 0] += 5 * fd  # edge 0 tracks motion
    r, p = qcfc(fc, fd)
    for k in range(3):
        assert r[k] == pytest.approx(np.corrcoef(fd, fc[:, k])[0, 1])
    assert p[0] < 1e-6 and p[1] > 0.01
    summary = qcfc_summary(r, p, np.array([10.0, 50.0, 90.0]))
    assert summary["qcfc_significant_percent"] == pytest.approx(100 / 3)
    assert summary["qcfc_median_abs"] == pytest.approx(np.median(np.abs(r)))
    assert np.allclose(edge_distances(np.array([[0, 0, 0], [3, 4, 0], [0, 0, 12.0]])), [5, 12, 13])


def test_simulated_motion_is_not_collinear_with_the_task():
    from vanishing_saliency.hcp.blocks import task_regressor
    from vanishing_saliency.hcp.clean import explained_fraction
    from vanishing_saliency.hcp.simulate import jittered_blocks, motion_regressors

    shares = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        blocks = jittered_blocks("WM", rng, 1.0)
        task = task_regressor([(on, dur) for _, on, dur in blocks], 405)
        shares.append(explained_fraction(task, confounds(motion_regressors(405, rng), 0.72, 0.008)))
    # random regressors of this size explain ~ p / n of any series; the earlier random-walk motion: 31 %
    assert np.mean(shares) < 0.12


def test_required_runs_are_each_tasks_entity_values_and_absent_runs_do_not_count():
    from vanishing_saliency.hcp.runs import missing_required

    s1200 = [{"task": "WM", "run": "LR"}, {"task": "WM", "run": "RL"}, {"task": "GAMBLING", "run": "LR"}]
    assert missing_required(s1200, ["WM", "GAMBLING"], None) == []
    assert missing_required(s1200, ["WM", "GAMBLING"], {"dir": ["LR", "RL"]}) == ["GAMBLING dir-RL"]
    bids_runs = [
        {"layout": "fmriprep", "task": "wm", "entities": {"ses": "01", "dir": "LR"}},
        {"layout": "fmriprep", "task": "wm", "entities": {"ses": "02", "dir": "LR"}},
        {"layout": "fmriprep", "task": "gamble", "entities": {}, "absent": True},
    ]
    assert missing_required(bids_runs, ["wm", "gamble"], {}) == ["gamble"]  # a run of every task
    assert missing_required(bids_runs, ["wm"], {"ses": ["01", "02"]}) == []
    assert missing_required(bids_runs, ["wm", "gamble"], {"ses": ["01", "02"], "dir": ["RL"]}) == [
        "wm dir-RL",
        "gamble ses-01",
        "gamble ses-02",
        "gamble dir-RL",
    ]
