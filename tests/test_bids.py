"""HCP branch, fMRIPrep input: one simulated S1200 run written in the BIDS + fMRIPrep layout (hcp.bids.write_run),
loaded through hcp.runs.load, then broken one file at a time; confound strategies on a handmade confounds table;
discovery of runs and subjects."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from vanishing_saliency.configcheck import hcp_subjects
from vanishing_saliency.errors import ConfigError, HCPDataError
from vanishing_saliency.hcp import bids, runs
from vanishing_saliency.hcp.clean import framewise_displacement
from vanishing_saliency.hcp.geometry import N_GRAYORDINATES, brain_model_axis, build_atlas
from vanishing_saliency.hcp.io import read_blocks, read_dtseries
from vanishing_saliency.hcp.io import subject_runs as s1200_runs
from vanishing_saliency.hcp.simulate import SimulationSettings, simulate_subject, write_dtseries

ROOT = Path(__file__).resolve().parents[1]
SUBJECT = "900001"
FRAMES = 253  # an HCP GAMBLING run
TR = 0.72


@pytest.fixture(scope="module")
def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.fixture(scope="module")
def specs(config):
    return config["hcp"]["fmriprep"]["tasks"]


@pytest.fixture(scope="module")
def cleaning(config):
    return config["hcp"]["cleaning"]


@pytest.fixture(scope="module")
def atlas():
    return build_atlas()


@pytest.fixture(scope="module")
def written(tmp_path_factory, atlas, specs):
    """One simulated GAMBLING LR run, written as ``raw`` (BIDS) and ``derivatives/fmriprep``; with the S1200 run's
    blocks and motion regressors to compare against."""
    root = tmp_path_factory.mktemp("bids")
    simulate_subject(
        root / "s1200",
        SUBJECT,
        atlas,
        ["GAMBLING"],
        ["LR"],
        seed=3,
        settings=SimulationSettings(),
        truth_path=root / "truth.npz",
        area_seed=1,
    )
    s1200 = s1200_runs(root / "s1200", SUBJECT, ["GAMBLING"], ["LR"])[0]
    blocks = read_blocks(s1200, SUBJECT, FRAMES, TR)
    motion = np.loadtxt(s1200["motion"])
    data, _, _ = read_dtseries(s1200["dtseries"])
    run = _run(root, specs)
    bids.write_run(s1200, run, data, TR)
    return {"root": root, "blocks": blocks, "motion": motion}


def _run(root, specs):
    return bids.expected_runs(root / "raw", root / "derivatives" / "fmriprep", SUBJECT, ["GAMBLING"], ["LR"], specs)[0]


def _sidecar(run) -> Path:
    return Path(run["bold"].removesuffix(".nii.gz") + ".json")


@pytest.fixture
def run(written, tmp_path, specs):
    """A copy of the written run under tmp_path, to edit."""
    for tree in ("raw", "derivatives"):
        shutil.copytree(written["root"] / tree, tmp_path / tree)
    return _run(tmp_path, specs)


def _expect(run, cleaning, path, *parts):
    """runs.load fails on ``path``, naming the subject, task and run, the file and each of ``parts``."""
    with pytest.raises(HCPDataError) as err:
        runs.load(run, SUBJECT, TR, cleaning)
    msg = str(err.value)
    assert err.value.path == str(path)
    assert msg.startswith(f"subject {SUBJECT}, task GAMBLING, run dir-LR: {path}: "), msg
    for part in parts:
        assert part in msg, msg
    return err.value


def _edit_table(path, edit):
    table = pd.read_csv(path, sep="\t", na_values=["n/a"], keep_default_na=False)
    bids.write_table(path, edit(table))


def test_a_valid_run_loads_as_its_s1200_original(written, run, cleaning):
    loaded = runs.load(run, SUBJECT, TR, cleaning)
    assert loaded["blocks"] == written["blocks"]
    assert loaded["data"].shape == (FRAMES, N_GRAYORDINATES) and loaded["data"].dtype == np.float32
    assert loaded["motion"].shape == (FRAMES, 12)
    assert np.abs(loaded["fd"] - framewise_displacement(written["motion"])).max() < 1e-9
    assert loaded["tr"] == TR
    assert {k: v[0].shape for k, v in loaded["nuisance"].items()} == {
        "paper": (FRAMES, 12),
        "24P": (FRAMES, 24),
        "24P+GS": (FRAMES, 28),
    }
    assert not any(v[1].any() for v in loaded["nuisance"].values())  # no strategy scrubs


def test_a_missing_motion_column_names_the_confounds_table(run, cleaning):
    _edit_table(run["confounds"], lambda t: t.drop(columns="trans_x"))
    _expect(run, cleaning, run["confounds"], "missing confound column(s) trans_x", "fMRIPrep writes them")


def test_a_missing_global_signal_fails_only_the_strategy_that_needs_it(run, cleaning):
    _edit_table(run["confounds"], lambda t: t.drop(columns="global_signal"))
    runs.load(run, SUBJECT, TR, {**cleaning, "strategy": "paper", "compare_strategies": ["24P"]})
    _expect(
        run,
        {**cleaning, "strategy": "24P+GS", "compare_strategies": []},
        run["confounds"],
        "the confound strategy '24P+GS' cannot be built from this table: missing column",
        "global_signal",
    )


def test_a_compared_strategy_the_table_cannot_build_leaves_the_run_usable(run, cleaning):
    """The cleaning's strategy is required of a run; a compared one its table lacks columns for is reported by name
    with the missing columns, in the run's check row, and the run still loads and checks ok."""
    squares = ["global_signal_power2", "global_signal_derivative1_power2"]
    _edit_table(run["confounds"], lambda t: t.drop(columns=squares))
    compared = {**cleaning, "strategy": "paper", "compare_strategies": ["paper", "24P", "24P+GS"]}
    loaded = runs.load(run, SUBJECT, TR, compared)
    assert sorted(loaded["nuisance"]) == ["24P", "paper"]
    problem = loaded["unbuilt"]["24P+GS"]
    assert problem.startswith("the confound strategy '24P+GS' cannot be built from this table: missing columns ")
    assert all(c in problem for c in squares) and "{" not in problem  # named, not a dict of arguments
    (row,) = runs.check_subject(SUBJECT, [run], TR, compared)["runs"]
    assert row["status"] == "ok" and row["strategies_unbuilt"] == f"24P+GS: {problem}"
    # the same strategy as the cleaning's fails the run, by name
    _expect(run, {**compared, "strategy": "24P+GS"}, run["confounds"], "'24P+GS'", *squares)


def test_the_header_alone_says_which_strategies_a_table_cannot_build(run, cleaning):
    """What the workflow asks of each distinct confounds header before any job: nilearn's own answer on a stand-in,
    the same as loading the run gives."""
    strategies = runs.strategy_arguments(cleaning, ["paper", "24P", "24P+GS"])
    assert bids.strategies_a_table_cannot_build(run["confounds"], strategies) == {}
    squares = ["global_signal_power2", "global_signal_derivative1_power2"]
    _edit_table(run["confounds"], lambda t: t.drop(columns=squares))
    problems = bids.strategies_a_table_cannot_build(run["confounds"], strategies)
    loaded = runs.load(run, SUBJECT, TR, {**cleaning, "strategy": "paper", "compare_strategies": ["24P", "24P+GS"]})
    assert problems == loaded["unbuilt"] and list(problems) == ["24P+GS"]


def test_a_sidecar_tr_other_than_the_ciftis_names_the_dtseries_and_the_sidecar(run, cleaning):
    sidecar = _sidecar(run)
    sidecar.write_text(json.dumps({"RepetitionTime": 2.0, "TaskName": "gambling"}))
    _expect(
        run,
        cleaning,
        run["dtseries"],
        "has TR 0.72 s in its SeriesAxis, expected 2 s",
        f"RepetitionTime in the sidecar {sidecar}",
    )


def test_repetition_time_follows_bids_inheritance(run, cleaning):
    own = _sidecar(run)
    top = Path(run["bids_root"]) / "task-gambling_bold.json"
    subject_level = Path(run["bids_root"]) / f"sub-{SUBJECT}" / f"sub-{SUBJECT}_task-gambling_bold.json"
    other_task = Path(run["bids_root"]) / "task-wm_bold.json"
    other_task.write_text(json.dumps({"RepetitionTime": 3.0}))  # another task's: never applies

    own.unlink()
    top.write_text(json.dumps({"RepetitionTime": TR}))
    assert runs.load(run, SUBJECT, TR, cleaning)["tr"] == TR  # from the root file alone

    top.write_text(json.dumps({"RepetitionTime": 2.0}))
    own.write_text(json.dumps({"RepetitionTime": TR}))
    assert runs.load(run, SUBJECT, TR, cleaning)["tr"] == TR  # the run's own file wins over the root's
    assert bids.repetition_time(run, SUBJECT) == (TR, str(own))

    own.unlink()
    subject_level.write_text(json.dumps({"RepetitionTime": TR}))
    assert bids.repetition_time(run, SUBJECT) == (TR, str(subject_level))  # the subject's wins over the root's

    top.write_text(json.dumps({"RepetitionTime": TR}))
    own.write_text(json.dumps({"RepetitionTime": 2.0}))  # the nearer file's wrong TR is the one reported
    _expect(run, cleaning, run["dtseries"], "expected 2 s", f"RepetitionTime in the sidecar {own}")

    for f in (own, top, subject_level):
        f.unlink()
    _expect(run, cleaning, own, "no RepetitionTime for this run", "task-gambling_bold.json at the dataset root")


def test_an_event_after_the_end_of_the_run_names_its_line(run, cleaning):
    n = len(pd.read_csv(run["events"], sep="\t"))
    late = pd.DataFrame([{"onset": 181.0, "duration": 3.0, "trial_type": "neut_event"}])
    _edit_table(run["events"], lambda t: pd.concat([t, late], ignore_index=True))
    _expect(
        run,
        cleaning,
        run["events"],
        f"line {n + 2} (neut_event at 181 s, duration 3 s): outside the run (0-182.16 s: 253 frames of 0.72 s)",
    )


def test_an_unmapped_trial_type_says_where_to_map_it(written, run, cleaning):
    n = len(pd.read_csv(run["events"], sep="\t"))
    fixation = pd.DataFrame([{"onset": 0.0, "duration": 2.0, "trial_type": "fixation"}])
    _edit_table(run["events"], lambda t: pd.concat([t, fixation], ignore_index=True))
    _expect(
        run,
        cleaning,
        run["events"],
        f"trial type(s) 'fixation' (first on line {n + 2}) are not mapped",
        "hcp.fmriprep.tasks.GAMBLING.blocks (an active block) or .ignore",
    )
    ignoring = {**run, "ignore": [*run["ignore"], "fixation"]}
    assert runs.load(ignoring, SUBJECT, TR, cleaning)["blocks"] == written["blocks"]


def test_a_dtseries_off_the_91k_grayordinates_names_the_dtseries(run, cleaning, atlas):
    data, _, _ = read_dtseries(run["dtseries"])
    axis = brain_model_axis(atlas)
    keep = np.flatnonzero(axis.name != "CIFTI_STRUCTURE_BRAIN_STEM")
    write_dtseries(run["dtseries"], data[:, keep], axis[keep], tr=TR)
    _expect(
        run,
        cleaning,
        run["dtseries"],
        f"has {len(keep)} grayordinates, expected 91282 (the HCP 91k space, fsLR den-91k)",
    )


# ---- confound strategies on a handmade fMRIPrep confounds table ----------------------------------------------

N_HANDMADE = 60
SPIKES = [20, 23, 40]  # framewise displacement above 0.5 mm


@pytest.fixture(scope="module")
def handmade(tmp_path_factory, specs):
    """A run whose confounds table has every column the strategies read (its dense time series is an empty file:
    load_confounds only finds the table beside it)."""
    root = tmp_path_factory.mktemp("confounds")
    run = bids.run_entry(root / "raw", root / "deriv", "01", "GAMBLING", specs["GAMBLING"], {"dir": "LR"})
    Path(run["dtseries"]).parent.mkdir(parents=True)
    Path(run["dtseries"]).touch()
    rng = np.random.default_rng(0)
    cols = {}
    motion = [f"{a}_{x}" for a in ("trans", "rot") for x in "xyz"]
    for base in [*motion, "global_signal", "white_matter", "csf"]:
        x = rng.normal(size=N_HANDMADE)
        dx = np.r_[np.nan, np.diff(x)]
        cols.update({base: x, f"{base}_derivative1": dx, f"{base}_power2": x**2, f"{base}_derivative1_power2": dx**2})
    fd = rng.uniform(0, 0.3, N_HANDMADE)
    fd[0], fd[SPIKES] = np.nan, 0.9
    cols["framewise_displacement"] = fd
    cols["std_dvars"] = np.r_[np.nan, rng.uniform(0.8, 1.2, N_HANDMADE - 1)]
    for i in range(5):
        cols[f"a_comp_cor_{i:02d}"] = rng.normal(size=N_HANDMADE)
    bids.write_table(run["confounds"], pd.DataFrame(cols))
    compcor = {"Method": "aCompCor", "Mask": "combined", "Retained": True}
    Path(run["confounds"].removesuffix(".tsv") + ".json").write_text(
        json.dumps({f"a_comp_cor_{i:02d}": compcor for i in range(5)})
    )
    return run


def _strategy(run, name, custom=None, motion_regression=True):
    args = bids.confound_arguments(name, custom, motion_regression)
    return bids.strategy_confounds(run, "01", args, N_HANDMADE)


@pytest.mark.parametrize(
    "name, columns", [("paper", 12), ("24P", 24), ("24P+GS", 28), ("36P", 36), ("aCompCor", 24 + 5)]
)
def test_each_strategy_reads_its_columns(handmade, cleaning, name, columns):
    custom = copy.deepcopy(cleaning["confound_strategies"])
    if "high_pass" not in custom["aCompCor"]["strategy"]:  # nilearn reads fMRIPrep's compcor only with its cosines
        custom["aCompCor"]["strategy"].append("high_pass")  # (the table has none: no columns added)
    regressors, scrubbed = _strategy(handmade, name, custom)
    assert regressors.shape == (N_HANDMADE, columns) and np.isfinite(regressors).all()
    assert not scrubbed.any()


def test_scrubbing_removes_the_high_motion_frames_and_the_short_segments_between(handmade, cleaning):
    custom = copy.deepcopy(cleaning["confound_strategies"])
    assert custom["scrubbing"]["fd_threshold"] == 0.5 and custom["scrubbing"]["scrub"] == 5
    fd = pd.read_csv(handmade["confounds"], sep="\t", na_values=["n/a"])["framewise_displacement"].to_numpy()
    assert list(np.flatnonzero(fd > 0.5)) == SPIKES
    regressors, scrubbed = _strategy(handmade, "scrubbing", custom)
    assert regressors.shape == (N_HANDMADE, 24 + 2)
    # frames 21 and 22 lie between two scrubbed frames: a 2-frame segment, shorter than scrub: 5
    assert list(np.flatnonzero(scrubbed)) == [20, 21, 22, 23, 40]
    custom["scrubbing"]["scrub"] = 0
    assert list(np.flatnonzero(_strategy(handmade, "scrubbing", custom)[1])) == SPIKES


def test_built_in_strategies_without_motion_regression(handmade):
    assert _strategy(handmade, "paper", motion_regression=False)[0].shape == (N_HANDMADE, 0)
    assert _strategy(handmade, "24P+GS", motion_regression=False)[0].shape == (N_HANDMADE, 4)


def test_an_undefined_strategy_is_a_config_error(cleaning):
    with pytest.raises(ConfigError, match="unknown confound strategy 'nowhere'") as err:
        bids.confound_arguments("nowhere", cleaning["confound_strategies"])
    assert err.value.key == "hcp.cleaning.strategy"
    with pytest.raises(ConfigError, match="define it under hcp.cleaning.confound_strategies"):
        runs.strategy_arguments({**cleaning, "confound_strategies": None}, ["paper", "36P"])


# ---- discovery ------------------------------------------------------------------------------------------------


def test_subject_runs_finds_one_run_per_file_with_sessions_and_runs(tmp_path, specs):
    raw, deriv = tmp_path / "raw", tmp_path / "deriv"
    names = [("1", "LR", "1"), ("1", "RL", "1"), ("2", "LR", "2")]
    for ses, d, r in names:
        func = deriv / "sub-01" / f"ses-{ses}" / "func"
        func.mkdir(parents=True, exist_ok=True)
        (func / f"sub-01_ses-{ses}_task-gambling_dir-{d}_run-{r}_space-fsLR_den-91k_bold.dtseries.nii").touch()
        (func / f"sub-01_ses-{ses}_task-gambling_dir-{d}_run-{r}_space-MNI152NLin2009cAsym_bold.nii.gz").touch()
        (func / f"sub-01_ses-{ses}_task-wm_dir-{d}_run-{r}_space-fsLR_den-91k_bold.dtseries.nii").touch()
    (deriv / "sub-02" / "ses-1" / "func").mkdir(parents=True)
    (deriv / "sub-02" / "ses-1" / "func" / "sub-02_ses-1_task-gambling_space-fsLR_den-91k_bold.dtseries.nii").touch()

    found = bids.subject_runs(raw, deriv, "01", ["GAMBLING", "RELATIONAL"], specs)
    assert [(r["task"], r["run"]) for r in found] == [
        ("GAMBLING", "ses-1_dir-LR_run-1"),
        ("GAMBLING", "ses-1_dir-RL_run-1"),
        ("GAMBLING", "ses-2_dir-LR_run-2"),
        ("RELATIONAL", "single"),
    ]
    first = found[0]
    stem, func = "sub-01_ses-1_task-gambling_dir-LR_run-1", deriv / "sub-01" / "ses-1" / "func"
    assert first["name"] == runs.run_name(first) == "ses-1_dir-LR_run-1"
    assert first["dtseries"] == str(func / f"{stem}_space-fsLR_den-91k_bold.dtseries.nii")
    assert first["confounds"] == str(func / f"{stem}_desc-confounds_timeseries.tsv")
    assert first["events"] == str(raw / "sub-01" / "ses-1" / "func" / f"{stem}_events.tsv")
    assert first["entities"] == {"sub": "01", "ses": "1", "dir": "LR", "run": "1"}
    assert all(Path(r["dtseries"]).is_file() for r in found[:3])
    missing = found[3]
    assert missing["name"] == "" and not Path(missing["dtseries"]).exists() and missing["absent"]
    assert missing["dtseries"] == str(deriv / "sub-01" / "func" / f"sub-01_task-relational{bids.CIFTI_ENTITIES}")


def test_a_task_without_files_is_reported_absent_not_missing(run, cleaning, specs):
    # a subject of a ragged dataset may not have every task: its check says so without failing the subject
    deriv = Path(run["dtseries"]).parents[2]
    found = bids.subject_runs(run["bids_root"], deriv, SUBJECT, ["GAMBLING", "RELATIONAL"], specs)
    assert [r["run"] for r in found] == ["dir-LR", "single"] and found[1]["absent"] and "absent" not in found[0]
    result = runs.check_subject(SUBJECT, found, TR, cleaning)
    assert result["ok"]
    ok, absent = result["runs"]
    assert ok["status"] == "ok" and ok["frames"] == FRAMES and ok["tr"] == TR
    assert absent["status"] == "absent" and absent["message"] == "no run of task RELATIONAL for this subject"
    # a run that is listed but whose dense time series is gone is an error of that run
    Path(run["dtseries"]).unlink()
    (gone,) = runs.check_subject(SUBJECT, found[:1], TR, cleaning)["runs"]
    assert gone["status"] == "error" and gone["file"] == run["dtseries"]
    assert "missing dense time series" in gone["problem"]
    assert gone["message"].startswith(f"subject {SUBJECT}, task GAMBLING, run dir-LR: {run['dtseries']}: ")


def test_subjects_from_the_derivatives_folders_and_a_participants_tsv(tmp_path, config):
    raw, deriv = tmp_path / "raw", tmp_path / "deriv"
    for name in ("sub-01", "sub-02", "sub-03", "sub-x_y", "logs"):
        (deriv / name).mkdir(parents=True)
    (deriv / "sub-04.html").touch()
    raw.mkdir()
    assert bids.discover_subjects(deriv) == (["01", "02", "03"], ["x_y"])
    with pytest.raises(ConfigError, match="is not a directory") as err:
        bids.discover_subjects(tmp_path / "nowhere")
    assert err.value.key == "hcp.fmriprep.derivatives"

    cfg = copy.deepcopy(config)
    cfg["hcp"].update(source="fmriprep")
    cfg["hcp"]["fmriprep"].update(bids_root=str(raw), derivatives=str(deriv))
    assert hcp_subjects(cfg) == (["01", "02", "03"], ["x_y"])
    participants = raw / "participants.tsv"
    participants.write_text("participant_id\tage\tsex\nsub-03\t22\tF\nsub-01\tn/a\tM\nsub-02\t30\tn/a\n")
    cfg["hcp"]["subjects_sheet"] = str(participants)
    assert hcp_subjects(cfg) == (["03", "01", "02"], [])
    participants.write_text("participant_id\nsub-01\nsub-02\nsub-03\nsub-05\n")
    with pytest.raises(
        ConfigError, match=r"1 listed subject\(s\) have no folder under hcp.fmriprep.derivatives"
    ) as err:
        hcp_subjects(cfg)
    assert str(err.value).endswith("(sub-<label>): 05")
