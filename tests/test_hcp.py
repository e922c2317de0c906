"""HCP branch, part 1: simulator formats, geometry, cleaning, parcellation, blocks, split, bad inputs."""

import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from vanishing_saliency.hcp.blocks import block_frames, on_off_samples, split_subjects
from vanishing_saliency.hcp.clean import clean_parcellated, confounds, regress_out, zscore
from vanishing_saliency.hcp.geometry import FRAMES, N_GRAYORDINATES, Parcellator, brain_model_axis, build_atlas
from vanishing_saliency.errors import HCPDataError
from vanishing_saliency.hcp.io import load_run, read_ev, run_paths, subject_runs
from vanishing_saliency.hcp.simulate import SimulationSettings, simulate_run, simulate_subject, write_dtseries
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
    simulate_subject(root, "900001", atlas, list(FRAMES), ["LR"], seed=3, settings=SimulationSettings(),
                     truth_path=truth, area_seed=1)
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
        "0bk_body.txt", "2bk_tools.txt", "0bk_cor.txt", "all_bk_err.txt"}
    assert {p.name for p in run_paths(root, "900001", "GAMBLING", "LR")["evs"].iterdir()} == {
        "win.txt", "loss.txt", "win_event.txt", "loss_event.txt", "neut_event.txt"}
    ev = np.loadtxt(run_paths(root, "900001", "RELATIONAL", "LR")["evs"] / "relation.txt")
    assert ev.shape == (3, 3) and "\t" in (run_paths(root, "900001", "RELATIONAL", "LR")["evs"] / "match.txt").read_text()


@needs_shared
def test_geometry_matches_the_real_hcp_grayordinates(atlas):
    real = nib.load(str(SHARED / "91282_Greyordinates.dscalar.nii")).header.get_axis(1)
    ours = brain_model_axis(atlas)
    assert np.array_equal(real.name, ours.name)                      # same structures, same order and counts
    assert np.array_equal(real.vertex[:59412], ours.vertex[:59412])   # same cortical vertices
    assert len(np.unique(ours.voxel[59412:], axis=0)) == 31870


@needs_shared
def test_parcellation_agrees_with_the_official_glasser_dlabel(atlas):
    dlabel = nib.load(str(SHARED / "Q1-Q6_RelatedValidation210.CorticalAreas_dil_Final_Final_Areas_Group_Colors.32k_fs_LR.dlabel.nii"))
    keys = np.asarray(dlabel.get_fdata()[0], dtype=int)
    table = dlabel.header.get_axis(0).label[0]
    # the same key on every cortical grayordinate, and each key's name spelled as the dlabel does
    assert keys.shape == (59412,) and np.array_equal(keys, atlas["labels"][:59412])
    assert [table[k][0] for k in range(1, 361)] == list(atlas["names"])
    assert atlas["names"][0] == "R_V1_ROI" and atlas["names"][180] == "L_V1_ROI"


def test_parcellator_averages_within_areas(atlas):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((5, N_GRAYORDINATES)).astype(np.float32)
    out = Parcellator(atlas["labels"])(data)
    labels = atlas["labels"]
    for area in (1, 180, 181, 360):
        assert np.allclose(out[:, area - 1], data[:, labels == area].mean(1), atol=1e-6)
    assert str(atlas["names"][0]) == "R_V1_ROI" and str(atlas["names"][180]) == "L_V1_ROI"   # official order


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
    ts, qc = clean_parcellated(areas, motion, 0.72)
    assert qc["max_abs_corr_with_motion_before"] > 0.5
    assert qc["max_abs_corr_with_motion_after"] < 1e-8
    assert qc["lowfreq_power_fraction_before"] > 0.2
    assert qc["lowfreq_power_fraction_after"] < 0.01
    responsive = truth["areas"] - 1
    r = [np.corrcoef(ts[:, a], truth["response"])[0, 1] for a in responsive]
    silent = [np.corrcoef(ts[:, a], truth["response"])[0, 1] for a in range(300, 310)]
    assert np.mean(r) > 0.4 and np.max(np.abs(silent)) < 0.3          # measured: 0.57 vs < 0.3
    # without motion regression the artefact stays
    _, qc_nomotion = clean_parcellated(areas, motion, 0.72, motion_regression=False)
    assert qc_nomotion["max_abs_corr_with_motion_after"] > 0.3
    # and without the low-frequency regression the drift stays
    _, qc_nodrift = clean_parcellated(areas, motion, 0.72, lowfreq_regression=False)
    assert qc_nodrift["lowfreq_power_fraction_after"] > 0.03 > 100 * qc["lowfreq_power_fraction_after"]  # measured 0.078


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
    _expect(paths, "has 250 rows but the dense time series has 253 frames", file_key="motion")


def test_nan_values(cohort, tmp_path):
    paths = _copy_run(cohort, tmp_path)
    data = np.asarray(nib.load(str(paths["dtseries"])).dataobj).copy()
    data[17, 4242] = np.nan
    _rewrite(paths, data)
    _expect(paths, "non-finite values .*frame 17, grayordinate 4242")


@pytest.mark.parametrize("content, match", [("12.0\tabc\t1\n", "malformed EV file"), ("", "empty EV file"),
                                            ("170.0\t28.0\t1\n", "beyond the run")])
def test_bad_ev_files(cohort, tmp_path, content, match):
    paths = _copy_run(cohort, tmp_path)
    ev = paths["evs"] / "win.txt"
    ev.write_text(content)
    with pytest.raises(HCPDataError, match=match) as err:
        read_ev(ev, "900001", "GAMBLING", "LR", 253 * 0.72)
    assert "subject 900001" in str(err.value) and str(ev) in str(err.value)


def test_subject_missing_one_run_is_reported_not_raised(cohort, tmp_path):
    root, _ = cohort
    shutil.copytree(root / "900001", tmp_path / "900001")
    shutil.rmtree(run_paths(tmp_path, "900001", "WM", "LR")["dir"])
    runs = subject_runs(tmp_path, "900001", list(FRAMES), ["LR"])
    result = hcp_preprocess.check(Job.make(output=[tmp_path / "check.json"], params={"runs": runs, "tr": 0.72},
                                           wildcards={"subject": "900001"}))
    status = {r["task"]: r["status"] for r in result["runs"]}
    assert status == {"GAMBLING": "ok", "RELATIONAL": "ok", "WM": "error"}
    wm = [r for r in result["runs"] if r["task"] == "WM"][0]
    assert "subject 900001" in wm["message"] and "tfMRI_WM_LR_Atlas_MSMAll.dtseries.nii" in wm["message"]


def test_blocks_step_labels_and_masks(tmp_path):
    from vanishing_saliency.io import save_npz

    def blocks_step(paths, kind, tasks, shift, on_frames, off_frames, out, frames=None, baseline="run"):
        hcp_preprocess.blocks(Job.make(input=paths, output=[out], wildcards={"experiment": kind},
                                       params={"spec": {"kind": kind, "tasks": tasks, "hrf_shift_s": shift,
                                                        "on_frames": on_frames, "off_frames": off_frames,
                                                        "frames": frames, "baseline": baseline}}))

    paths = []
    for task, onsets, durs in (("GAMBLING", [7.2, 43.2], [21.6, 21.6]), ("RELATIONAL", [7.2], [14.4])):
        p = tmp_path / f"{task}.npz"
        save_npz(p, timeseries=np.random.default_rng(0).standard_normal((100, 360)).astype(np.float32), tr=0.72,
                 subject="1", task=task, run="LR", block_onset_s=np.array(onsets), block_duration_s=np.array(durs))
        paths.append(p)
    blocks_step(paths, "on_task", ["GAMBLING", "RELATIONAL"], 0.0, 38, 10, tmp_path / "on_task.npz")
    with np.load(tmp_path / "on_task.npz") as f:
        assert list(f["labels"]) == [0, 0, 1] and list(f["lengths"]) == [30, 30, 20]
        assert list(f["block_start_frame"]) == [10, 60, 10]
        assert np.array_equal(f["on_mask"].sum(1), f["lengths"])
        assert np.all(f["data"][2, 20:] == 0)                         # padding
    blocks_step(paths, "off_task", ["GAMBLING", "RELATIONAL"], 0.0, 38, 10, tmp_path / "off.npz")
    with np.load(tmp_path / "off.npz") as f:
        assert list(f["lengths"]) == [10, 10, 10] and not f["on_mask"].any()
    # length-matched: every block cut to its first 20 frames (the 20-frame RELATIONAL block included)
    blocks_step(paths, "on_task", ["GAMBLING", "RELATIONAL"], 0.0, 38, 10, tmp_path / "matched.npz", frames=20)
    with np.load(tmp_path / "matched.npz") as f:
        assert list(f["lengths"]) == [20, 20, 20] and list(f["labels"]) == [0, 0, 1]
        assert list(f["block_start_frame"]) == [10, 60, 10]
    # rest baseline: every run's frames outside its blocks have mean 0 and sd 1 in every area
    blocks_step(paths, "off_task", ["GAMBLING", "RELATIONAL"], 0.0, 38, 10, tmp_path / "rest.npz", baseline="rest")
    with np.load(tmp_path / "rest.npz") as f, np.load(paths[0]) as g:
        from vanishing_saliency.hcp.blocks import active_mask, block_frames, rest_standardised

        ranges = block_frames(g["block_onset_s"], g["block_duration_s"], 100, 0.0, 0.72)
        rest = rest_standardised(g["timeseries"], ranges)[~active_mask(ranges, 100)]
        assert np.allclose(rest.mean(0), 0, atol=1e-6) and np.allclose(rest.std(0), 1, atol=1e-6)
        assert np.allclose(f["data"][0], rest_standardised(g["timeseries"], ranges)[40:50], atol=1e-6)
