"""The HCP branch run by Snakemake: simulated cohort end to end, and real-data mode with a broken subject."""

import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from report_check import check_report

from vanishing_saliency.hcp.geometry import build_atlas
from vanishing_saliency.hcp.io import run_paths
from vanishing_saliency.hcp.simulate import SimulationSettings, simulate_subject

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--cores", "2"]
pytestmark = pytest.mark.workflow


def _config(tmp_path, **hcp):
    cfg = yaml.safe_load((ROOT / "tests" / "tiny_hcp_config.yaml").read_text())
    cfg["hcp"].update(hcp)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _benchmark(name):
    """A module of the benchmarks package (repository root on sys.path: tests run as python -m pytest)."""
    return importlib.import_module(f"benchmarks.{name}")


def _run(cwd, config, *extra):
    return subprocess.run([*SNAKEMAKE, "--configfile", str(config), *extra], cwd=cwd, capture_output=True, text=True)


def test_simulated_cohort_end_to_end(tmp_path):
    res = _run(tmp_path, _config(tmp_path))
    assert res.returncode == 0, res.stderr[-4000:]
    qc = pd.read_csv(tmp_path / "results/hcp/qc.tsv", sep="\t")
    assert len(qc) == 3 * 3 * 2 and set(qc.status) == {"ok"}
    assert not (tmp_path / "resources/hcp/simulated").exists() or not any(
        (tmp_path / "resources/hcp/simulated").iterdir()
    )
    split = pd.read_csv(tmp_path / "results/hcp/split.tsv", sep="\t", dtype=str)
    assert split.subject.is_unique and set(split.set) == {"train", "val", "test"}
    with np.load(tmp_path / "results/hcp/samples/on_task.npz") as f:
        assert set(f["labels"]) == {0, 1} and f["data"].shape[2] == 360
        assert len(set(f["lengths"])) > 1  # gambling and relational blocks differ
        assert set(f["subjects"]) == set(split.subject)
    with np.load(tmp_path / "results/hcp/samples/on_off.npz") as f:
        assert set(f["lengths"]) == {48} and f["on_mask"][:, :38].all() and not f["on_mask"][:, 38:].any()
    ts = sorted((tmp_path / "results/hcp/timeseries").glob("sub-*/*_timeseries.npz"))
    assert len(ts) == 18
    with np.load(ts[0]) as f:
        assert f["timeseries"].shape[1] == 360 and str(f["area_names"][0]) == "R_V1_ROI"
        assert np.allclose(f["timeseries"].mean(0), 0, atol=1e-5)
    # part 2: models x runs (seed, controls) per experiment, saliency, reports
    hcp = tmp_path / "results/hcp"
    acc = pd.read_csv(hcp / "off_task/accuracy.tsv", sep="\t")
    runs = acc[acc.run != "logistic control"]
    assert sorted(runs.model) == ["inputcell_lstm"] * 4 + ["lstm"] * 4
    assert set(runs.run) == {"seed0", "permuted0", "untrained0", "timeshuffled0"}  # as many control runs as seeds
    assert set(acc[acc.run == "logistic control"].model) == {"length_only", "mean_only"}
    assert (acc.null_lo <= acc.null_hi).all() and acc.p_perm.between(0, 1).all()
    # a label-permuted run trains for exactly the epochs its matched seed kept (SPEC section 10), and says so
    for model in ("lstm", "inputcell_lstm"):
        seed = json.loads((tmp_path / f"results/hcp/off_task/models/{model}_seed0.json").read_text())
        permuted = json.loads((tmp_path / f"results/hcp/off_task/models/{model}_permuted0.json").read_text())
        assert permuted["matched_run"] == "seed0" and permuted["matched_epochs"] == seed["best_epoch"]
        assert permuted["epochs_run"] == permuted["best_epoch"] == seed["best_epoch"]
        assert permuted["selection"] == "last"
    on_task = pd.read_csv(hcp / "on_task/accuracy.tsv", sep="\t").set_index("model")
    assert on_task.loc["length_only", "test_accuracy"] > 0.9  # gambling and relational blocks differ in length
    test_subjects = set(split.subject[split.set == "test"])
    # every run's maps served the share, drop, truth and mean-map outputs and are gone (temp: 1 GB with 8 seeds)
    assert not list((hcp / "on_off/saliency").glob("*.npz"))
    with np.load(hcp / "on_off/saliency_maps.npz") as f:
        assert f["maps"].shape[-2:] == (48, 360) and len(f["models"]) == 2
    drop = pd.read_csv(hcp / "on_off/feature_drop.tsv", sep="\t")
    assert set(drop.source) == {"lstm", "inputcell_lstm", "random"} and set(drop.fraction) == {0.0, 0.1, 0.3}
    assert set(drop.kind) == {"own", "cross", "untrained", "random"} and set(
        drop[drop.kind == "untrained"].fraction
    ) == {0.1}
    random = drop[drop.kind == "random"]
    assert (random[random.fraction == 0.1].draws == 20).all() and (random[random.fraction != 0.1].draws == 5).all()
    assert drop.headroom.notna().all()
    assert set(drop.method) == {"gradient"} and (drop[drop.fraction == 0]["drop"] == 0).all()
    per_subject = pd.read_csv(hcp / "on_off/feature_drop_subjects.tsv", sep="\t", dtype={"subject": str})
    assert set(per_subject.subject) == test_subjects
    share = pd.read_csv(hcp / "on_off/onoff_share.tsv", sep="\t")
    trained = share[share.run.str.startswith("seed")]
    buckets = trained[["on_bucket_1", "on_bucket_2", "on_bucket_3", "on_bucket_4", "off_bucket"]].sum(axis=1)
    assert np.allclose(buckets, 1) and np.allclose(share.on_task_share + share.off_task_share, 1)
    assert np.allclose(share[share.run.str.startswith("uniform")].on_task_share, 38 / 48)
    assert {"permuted0", "untrained0"} <= set(share.run)
    truth = pd.read_csv(hcp / "on_task/truth_recovery.tsv", sep="\t")
    assert truth.area_precision_at_k.between(0, 1).all() and (truth.k == 48).all()
    assert truth.area_auroc.between(0, 1).all()
    for exp in ("on_task", "on_off"):
        for fig in ("feature_drop", "saliency_maps", "saliency_maps_sorted", "brain_maps"):
            assert (hcp / exp / "figures" / f"{fig}.png").stat().st_size > 10_000
    summary = (hcp / "summary.md").read_text()
    for claim in (
        "6a LSTM top saliency mostly off-task",
        "6c own top entries hurt input-cell attention",
        "6e off-task frames alone are at chance",
        "## Each verdict with what decided it",
        "## How a verdict is decided",
        "## Confound controls",
        "## Ground truth of the simulated cohort",
        "Where the off-task information comes from",
    ):
        assert claim in summary, claim
    verdicts = pd.read_csv(hcp / "summary.tsv", sep="\t")
    # one run of each model and control in the tiny cohort (and one test subject): no claim can be tested
    assert set(verdicts.verdict) == {"not testable"}
    reasons = " ".join(verdicts.reason)
    assert "a run-level test needs at least 2" in reasons or "0 of 1 run(s) above" in reasons
    check_report(
        tmp_path,
        tmp_path / "config.yaml",
        "results/hcp",
        ["HCP"],
        ["summary.md", "qc.tsv", "accuracy.tsv", "feature_drop.tsv", "onoff_share.tsv", "truth_recovery.tsv"],
    )


def test_a_cohort_without_task_signal_reproduces_no_claim(tmp_path):
    # SPEC section 10: simulated with no task response at all (amplitude 0), every claim must stay unreproduced;
    # with 5 test subjects and 2 runs of every model and control, it is the gates that stop them, not the design
    base = yaml.safe_load((ROOT / "tests" / "tiny_hcp_config.yaml").read_text())["hcp"]
    experiments = {
        "on_off": {"kind": "on_off", "tasks": ["GAMBLING", "WM"]},
        "off_task": {"kind": "off_task", "tasks": ["GAMBLING", "WM"]},
    }
    config = _config(
        tmp_path,
        tasks=["GAMBLING", "WM"],
        directions=["LR"],
        experiments=experiments,
        split={"ratio": [1, 1], "val_fraction": 0.1},
        cleaning={**base["cleaning"], "compare_strategies": ["paper"]},
        simulate={**base["simulate"], "n_subjects": 10, "amplitude": 0.0},
        analysis={
            **base["analysis"],
            "experiments": ["on_off", "off_task"],
            "seeds": 2,
            "controls": ["permuted", "untrained"],
            "min_test_subjects": 5,
        },
    )
    res = subprocess.run(
        [*SNAKEMAKE, "results/hcp/summary.tsv", "--configfile", str(config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr[-4000:]
    hcp = tmp_path / "results/hcp"
    verdicts = pd.read_csv(hcp / "summary.tsv", sep="\t")
    assert set(verdicts[verdicts.scope == "all"].claim) == {"6a", "6a-learned", "6b", "6c", "6d", "6e"}
    assert "reproduced" not in set(verdicts.verdict), verdicts[["claim", "scope", "verdict", "reason"]].to_string()
    assert "| **reproduced** |" not in (hcp / "summary.md").read_text()
    assert (pd.read_csv(hcp / "split.tsv", sep="\t").set == "test").sum() == 5
    assert not verdicts.reason.str.contains("test subjects").any()  # enough subjects: the gates decide
    accuracy = pd.read_csv(hcp / "on_off/accuracy.tsv", sep="\t")
    assert (accuracy[accuracy.kind != "logistic control"].group_runs == 2).all()


def _series(work, subject, task, run="dir-LR"):
    """A cleaned run's series in its subject's folder of results/hcp/timeseries."""
    return work / f"results/hcp/timeseries/sub-{subject}/sub-{subject}_task-{task}_{run}_atlas-MMP360_timeseries.npz"


def test_real_layout_a_broken_run_is_left_out_alone_a_broken_subject_keep_going_then_exclude(tmp_path):
    """S1200 tree: 100408 lacks its WM run (HCP subjects have fixed runs: the check reports it) and keeps its GAMBLING
    run; 102311 has no usable run and fails alone under --keep-going, named with its file, until excluded."""
    raw = tmp_path / "hcp_raw"
    atlas = build_atlas()
    for i, subject in enumerate(("100307", "100408", "101915", "102311")):
        simulate_subject(
            raw,
            subject,
            atlas,
            ["GAMBLING", "WM"],
            ["LR"],
            seed=i,
            settings=SimulationSettings(),
            truth_path=tmp_path / f"truth_{subject}.npz",
            area_seed=0,
        )
    broken = run_paths(raw, "100408", "WM", "LR")["dtseries"]
    broken.unlink()
    dead = [run_paths(raw, "102311", task, "LR")["dtseries"] for task in ("GAMBLING", "WM")]
    for path in dead:
        path.unlink()
    analysis = yaml.safe_load((ROOT / "tests" / "tiny_hcp_config.yaml").read_text())["hcp"]["analysis"]
    common = dict(
        source="raw",
        root=str(raw),
        tasks=["GAMBLING", "WM"],
        directions=["LR"],
        experiments={"off_task": {"kind": "off_task", "tasks": ["GAMBLING", "WM"]}},
        analysis={**analysis, "experiments": ["off_task"], "models": ["lstm"], "seeds": 1},
    )
    work = tmp_path / "work"
    work.mkdir()
    res = _run(work, _config(tmp_path, **common), "--keep-going")
    assert res.returncode != 0
    log = (work / "logs/hcp/preprocess/sub-102311.log").read_text()
    assert "subject 102311" in log and str(dead[0]) in log and "hcp.exclude" in log
    for subject in ("100307", "101915"):  # the others still finished
        assert _series(work, subject, "WM").exists() and _series(work, subject, "GAMBLING").exists()
    # the broken run is left out alone: its subject keeps its other run, and its run table says why
    assert _series(work, "100408", "GAMBLING").exists() and not _series(work, "100408", "WM").exists()
    table = pd.read_csv(work / "results/hcp/timeseries/sub-100408/runs.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert list(zip(table.task, table.status, strict=True)) == [("GAMBLING", "ok"), ("WM", "error")]
    assert "missing dense time series" in table.message.iloc[1] and table.timeseries.iloc[1] == ""
    log = (work / "logs/hcp/preprocess/sub-100408.log").read_text()
    assert "100408 WM LR left out" in log and str(broken) in log
    qc = pd.read_csv(work / "results/hcp/qc.tsv", sep="\t", dtype=str)
    bad = qc[qc.status == "error"]
    assert list(zip(bad.subject, bad.task, strict=True)) == [("100408", "WM"), ("102311", "GAMBLING"), ("102311", "WM")]
    assert bad.message.str.contains("missing dense time series").all()
    # excluding the subject with nothing usable lets the run finish, and the re-run resumes from what is done
    done = _series(work, "100307", "WM")
    stamp = done.stat().st_mtime_ns
    res = _run(work, _config(tmp_path, **common, exclude=["102311"]))
    assert res.returncode == 0, res.stderr[-4000:]
    assert done.stat().st_mtime_ns == stamp
    qc = pd.read_csv(work / "results/hcp/qc.tsv", sep="\t", dtype=str)
    excluded = qc[qc.subject == "102311"]
    assert set(excluded.status) == {"excluded"}  # ... and keeps what its check found
    assert excluded.message.str.contains("listed in hcp.exclude; check: error").all()
    assert excluded.message.str.contains("missing dense time series").all()
    with np.load(work / "results/hcp/samples/off_task.npz") as f:
        assert set(f["subjects"]) == {"100307", "100408", "101915"}
        assert set(f["labels"][f["subjects"] == "100408"]) == {0}  # its GAMBLING blocks only
        assert set(f["labels"][f["subjects"] == "100307"]) == {0, 1}
    # an edited raw file (declared once, as hcp_check's input) re-runs its subject's check and, through the
    # check's newer report, its preprocessing; no other subject's (Snakemake compares small files' checksums,
    # so the edit changes the content: a trailing blank line)
    with open(run_paths(raw, "101915", "GAMBLING", "LR")["motion"], "a") as f:
        f.write("\n")
    res = _run(work, _config(tmp_path, **common, exclude=["102311"]), "-n")
    assert res.returncode == 0, res.stderr[-4000:]
    planned = [
        (rule, re.search(r"subject=(\w+)", block).group(1))
        for rule, block in _benchmark("memory_table").job_blocks(res.stdout + res.stderr)
        if rule in ("hcp_check", "hcp_preprocess")
    ]
    assert sorted(planned) == [("hcp_check", "101915"), ("hcp_preprocess", "101915")], res.stdout[-3000:]


def test_subject_listed_twice_is_a_config_error(tmp_path):
    res = _run(tmp_path, _config(tmp_path, source="raw", root=str(tmp_path), subjects=["100307", "100307"]), "-n")
    assert res.returncode != 0
    assert "subject 100307 is listed twice" in res.stderr + res.stdout


def test_listed_subjects_missing_under_the_root_are_named_in_one_error(tmp_path):
    root = tmp_path / "hcp_raw"
    (root / "100307" / "MNINonLinear" / "Results").mkdir(parents=True)
    res = _run(
        tmp_path,
        _config(tmp_path, source="raw", root=str(root), subjects=["100307", "100408", "101915", "102311"]),
        "-n",
    )
    assert res.returncode != 0
    assert f"hcp.subjects: 3 listed subject(s) have no folder under hcp.root {root}: 100408, 101915, 102311" in (
        res.stderr + res.stdout
    )


def test_folders_that_are_not_subject_ids_are_skipped_with_a_warning(tmp_path):
    root = tmp_path / "hcp_raw"
    for name in ("100307", "100408", "101915", "100002_v2"):
        (root / name / "MNINonLinear" / "Results").mkdir(parents=True)
    res = _run(
        tmp_path,
        _config(
            tmp_path,
            source="raw",
            root=str(root),
            tasks=["GAMBLING", "WM"],
            experiments={"off_task": {"kind": "off_task", "tasks": ["GAMBLING", "WM"]}},
            analysis={
                **yaml.safe_load((ROOT / "tests" / "tiny_hcp_config.yaml").read_text())["hcp"]["analysis"],
                "experiments": ["off_task"],
            },
        ),
        "-n",
    )
    out = res.stderr + res.stdout
    assert res.returncode == 0, out[-3000:]
    assert "skipping 1 folder(s) whose names are not subject IDs (letters and digits only): 100002_v2" in out
    assert "100002_v2" not in out.split("skipping")[0] and "sub-100408" in out


def test_too_few_subjects_is_a_config_error(tmp_path):
    res = _run(
        tmp_path,
        _config(
            tmp_path,
            simulate={
                **yaml.safe_load((ROOT / "tests" / "tiny_hcp_config.yaml").read_text())["hcp"]["simulate"],
                "n_subjects": 3,
            },
            exclude=["900001"],
        ),
        "-n",
    )
    assert res.returncode != 0
    assert (
        "hcp: 2 subject(s) after hcp.exclude, but the train / validation / test split (hcp.split) needs at least 3"
        in res.stderr + res.stdout
    )


def test_subjects_sheet_is_validated(tmp_path):
    sheet = tmp_path / "subjects.tsv"
    sheet.write_text("participant\n100307\n")
    res = _run(tmp_path, _config(tmp_path, source="raw", root=str(tmp_path), subjects_sheet=str(sheet)), "-n")
    assert res.returncode != 0
    assert "'subject' is a required property" in res.stderr + res.stdout


def test_raw_files_are_read_one_subject_per_job(tmp_path):
    # the scale rule: only per-subject jobs read raw files, each exactly its own subject's (benchmarks/bench_dag.py
    # runs the same check on a 1,000-subject tree); that an edited raw file re-runs only its subject is checked in
    # test_real_layout_with_a_broken_subject_keep_going_then_exclude
    bench_dag = _benchmark("bench_dag")
    tree, subjects = tmp_path / "tree", ["100307", "100408", "101915", "102311"]
    n_files = bench_dag.write_tree(tree, subjects, ["GAMBLING", "RELATIONAL", "WM"], ["LR"], "_Atlas_MSMAll")
    cfg = _config(tmp_path, source="raw", root=str(tree), tasks=["GAMBLING", "RELATIONAL", "WM"], directions=["LR"])
    res = _run(tmp_path, cfg, "-n")
    assert res.returncode == 0, res.stderr[-3000:]
    readers = bench_dag.jobs_reading_raw(res.stdout + res.stderr, tree)
    assert set(readers) == {"hcp_check"}  # hcp_preprocess follows the check's report
    for rule, jobs in readers.items():
        assert sorted(s for subject_set in jobs for s in subject_set) == subjects, rule
    declared = [
        f
        for line in re.findall(r"^\s+input: (.*)$", res.stdout + res.stderr, re.M)
        for f in line.split(", ")
        if f.startswith(str(tree))
    ]
    assert len(declared) == n_files and len(set(declared)) == n_files  # every raw file, once


def test_the_cohort_written_as_fmriprep_derivatives_runs_end_to_end_like_the_s1200_tree(tmp_path):
    """Issue #29: the simulated cohort as a BIDS dataset + fMRIPrep derivatives runs the whole branch, cleans to the
    S1200 tree's series, and writes a BIDS derivative dataset that nibabel and Connectome Workbench read."""
    from local_workbench import WorkbenchUnavailable, env, wb_command

    from vanishing_saliency.hcp import bids, cifti, runs
    from vanishing_saliency.hcp.clean import CleaningOptions, clean_parcellated
    from vanishing_saliency.hcp.geometry import load_atlas

    fmriprep, s1200 = tmp_path / "fmriprep", tmp_path / "s1200"
    fmriprep.mkdir(), s1200.mkdir()
    simulate = {**yaml.safe_load((ROOT / "tests" / "tiny_hcp_config.yaml").read_text())["hcp"]["simulate"]}
    analysis = yaml.safe_load((ROOT / "tests" / "tiny_hcp_config.yaml").read_text())["hcp"]["analysis"]
    cfg = _config(
        fmriprep,
        simulate={**simulate, "layout": "fmriprep", "keep_raw": True},
        analysis={**analysis, "experiments": ["on_off"]},
    )
    res = _run(fmriprep, cfg)
    assert res.returncode == 0, res.stderr[-4000:]
    raw = fmriprep / "resources/hcp/simulated_bids"
    assert (raw / "derivatives/fmriprep/sub-900001/func").is_dir() and not (raw / "rawdata/900001").exists()
    qc = pd.read_csv(fmriprep / "results/hcp/qc.tsv", sep="\t")
    assert len(qc) == 3 * 3 * 2 and set(qc.status) == {"ok"} and set(qc.run) == {"dir-LR", "dir-RL"}
    assert (fmriprep / "results/hcp/summary.md").is_file()
    strategies = pd.read_csv(fmriprep / "results/hcp/qc/strategies.tsv", sep="\t")
    assert list(strategies.strategy) == ["paper", "24P", "24P+GS"]

    # the same subject from the S1200 tree, with every compared strategy: the same cleaned series
    res = subprocess.run(
        [*SNAKEMAKE, "results/hcp/timeseries/sub-900001", "results/hcp/qc/sub-900001_fc.npz"]
        + ["--configfile", str(_config(s1200))],
        cwd=s1200,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr[-4000:]
    compared = sorted((s1200 / "results/hcp/timeseries/sub-900001").glob("sub-900001_*_timeseries.npz"))
    assert len(compared) == 6
    for path in compared:
        with np.load(path) as a, np.load(fmriprep / "results/hcp/timeseries/sub-900001" / path.name) as b:
            assert np.abs(a["timeseries"] - b["timeseries"]).max() < 1e-6, path.name
            assert (a["censored"] == b["censored"]).all() and np.allclose(a["block_onset_s"], b["block_onset_s"])
    with (
        np.load(s1200 / "results/hcp/qc/sub-900001_fc.npz") as a,
        np.load(fmriprep / "results/hcp/qc/sub-900001_fc.npz") as b,
    ):  # paper, 24P and 24P+GS (nilearn's motion derivatives / full and global_signal full)
        assert list(a["strategies"]) == list(b["strategies"]) and np.abs(a["fc"] - b["fc"]).max() < 1e-6

    # the BIDS derivative dataset: CIFTI-2 series with the 360 official names in order, TSV, sidecars
    atlas = load_atlas(fmriprep / "resources/hcp/atlas.npz")
    deriv = fmriprep / "results/hcp/derivatives"
    assert yaml.safe_load((deriv / "dataset_description.json").read_text())["DatasetType"] == "derivative"
    stem = "sub-900001_task-gambling_dir-LR_space-fsLR_seg-Glasser_den-91k_stat-mean_timeseries"
    data, names, series = cifti.read_parcellated(deriv / "sub-900001/func" / f"{stem}.ptseries.nii")
    assert names == [str(n) for n in atlas["names"]] and series["step"] == pytest.approx(0.72)
    with np.load(_series(fmriprep, "900001", "GAMBLING")) as f:
        assert np.allclose(data, f["timeseries"], atol=1e-6)
    table = pd.read_csv(deriv / "sub-900001/func" / f"{stem}.tsv", sep="\t")
    assert list(table.columns) == names and np.allclose(table.to_numpy(), data, atol=1e-5)
    maps_stem = deriv / "space-fsLR_seg-Glasser_den-91k_desc-onoff_stat-mean_saliency"
    maps, map_names, models = cifti.read_parcellated(f"{maps_stem}.pscalar.nii")
    assert names == map_names and set(models) == {"lstm", "inputcell_lstm"} and np.isfinite(maps).all()
    sidecar = json.loads(maps_stem.with_suffix(".json").read_text())
    assert [m["Name"] for m in sidecar["Maps"]] == models
    assert all(len(m["Seeds"]) == analysis["seeds"] for m in sidecar["Maps"])
    assert (sidecar["Method"], sidecar["Output"], sidecar["Experiment"]["kind"]) == (
        "gradient",
        "probability",
        "on_off",
    )
    split = pd.read_csv(fmriprep / "results/hcp/split.tsv", sep="\t", dtype=str)
    assert sidecar["Split"]["TestSubjects"] == sorted(split.subject[split.set == "test"])

    # each source is a BIDS URI into a dataset the description links, and the file is there (keep_raw)
    description = json.loads((deriv / "dataset_description.json").read_text())
    links = description["DatasetLinks"]
    assert set(links) == {"raw", "fmriprep"}
    assert sorted(d["URL"] for d in description["SourceDatasets"]) == sorted(links.values())
    sources = json.loads((deriv / "sub-900001/func" / f"{stem}.json").read_text())["Sources"]
    assert {s.split(":")[1] for s in sources} == {"raw", "fmriprep"}
    for uri in sources:
        _, name, rel = uri.split(":", 2)
        assert (Path(links[name].removeprefix("file://")) / rel).is_file(), uri
    atlas_table = pd.read_csv(deriv / "atlas-Glasser_dseg.tsv", sep="\t")
    red, green, blue = np.rint(atlas["colours"][0, :3] * 255).astype(int)
    assert list(atlas_table.name) == names and atlas_table.color.iloc[0] == f"#{red:02x}{green:02x}{blue:02x}"

    # the BIDS validator (the schema validator of the whole specification) finds no error in the dataset
    validator = Path(sys.executable).parent / "bids-validator-deno"
    done = subprocess.run([validator, "--format", "json", deriv], capture_output=True, text=True, timeout=300)
    issues = json.loads(done.stdout)["issues"]["issues"]
    errors = [(i["code"], i.get("location")) for i in issues if i["severity"] == "error"]
    assert not errors, errors
    # ... and it does find one in a file misnamed (the check can fail): the dlabel with its entities reordered
    misnamed = tmp_path / "misnamed"
    shutil.copytree(deriv, misnamed, ignore=shutil.ignore_patterns("sub-*"))
    (misnamed / "space-fsLR_atlas-Glasser_den-91k_dseg.dlabel.nii").rename(
        misnamed / "atlas-Glasser_space-fsLR_den-91k_dseg.dlabel.nii"
    )
    done = subprocess.run([validator, "--format", "json", misnamed], capture_output=True, text=True, timeout=300)
    codes = {i["code"] for i in json.loads(done.stdout)["issues"]["issues"] if i["severity"] == "error"}
    assert "FILENAME_MISMATCH" in codes, codes

    # Connectome Workbench reads every CIFTI output, and parcellates a raw run as the workflow does
    try:
        wb = wb_command()
    except WorkbenchUnavailable as exc:
        pytest.skip(f"Connectome Workbench: {exc}")
    outputs = sorted((fmriprep / "results/hcp").rglob("*.nii"))
    assert len(outputs) == 3 * 6 + 1 + 2  # ptseries per run, the dlabel, pscalar + dscalar of the experiment
    for path in outputs:
        info = subprocess.run([wb, "-file-information", str(path)], capture_output=True, text=True, env=env())
        assert info.returncode == 0 and "Number of Rows" in info.stdout, (path, info.stderr)
    spec = yaml.safe_load(cfg.read_text())["hcp"]
    run = bids.expected_runs(
        raw / "rawdata", raw / "derivatives/fmriprep", "900001", ["GAMBLING"], ["LR"], spec["fmriprep"]["tasks"]
    )[0]
    out = tmp_path / "wb.ptseries.nii"
    done = subprocess.run(
        [
            wb,
            "-cifti-parcellate",
            run["dtseries"],
            str(deriv / "space-fsLR_atlas-Glasser_den-91k_dseg.dlabel.nii"),
            "COLUMN",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env(),
    )
    assert done.returncode == 0, done.stderr
    wb_areas, wb_names, _ = cifti.read_parcellated(out)
    assert wb_names == names
    loaded = runs.load(run, "900001", 0.72, spec["cleaning"])
    nuisance, scrubbed = loaded["nuisance"]["paper"]
    cleaned, _, _ = clean_parcellated(
        wb_areas, loaded["motion"], 0.72, CleaningOptions(), None, None, nuisance, loaded["fd"], scrubbed
    )
    r = [np.corrcoef(cleaned[:, k], data[:, k])[0, 1] for k in range(360)]
    assert min(r) > 0.9999, min(r)


def test_a_ragged_bids_dataset_uses_every_run_each_subject_has(tmp_path):
    """Issue #38: a BIDS dataset as labs have it (a participants.tsv, a task sidecar at the root, the workflow's own
    task names; runs that differ between subjects): sub-01 has two sessions, sub-02 one run whose events hold an
    unmapped trial type, sub-03 a repeated run (run-2), sub-04 no gamble run and a confounds table without the global
    signal's squares.  Every run that exists is cleaned and used; none is reported missing that its subject never
    had; the broken run alone is left out; 24P+GS, a compared strategy, is reported for the run that cannot build it
    and fails nothing."""
    from vanishing_saliency.hcp import bids
    from vanishing_saliency.hcp.io import subject_runs

    staging, raw, deriv = tmp_path / "s1200", tmp_path / "ds", tmp_path / "ds/derivatives/fmriprep"
    atlas = build_atlas()
    hcp_tasks = yaml.safe_load((ROOT / "config.yaml").read_text())["hcp"]["fmriprep"]["tasks"]
    tasks = {"gamble": hcp_tasks["GAMBLING"], "nback": hcp_tasks["WM"]}  # any names; the BIDS labels stay
    # each subject's runs: (task, entities) <- its simulated (task, direction)
    layout = {
        "01": [(t, {"ses": ses, "dir": "LR"}, (t, d)) for ses, d in (("01", "LR"), ("02", "RL")) for t in tasks],
        "02": [(t, {"dir": "LR"}, (t, "LR")) for t in tasks],
        "03": [("gamble", {"dir": "LR"}, ("gamble", "LR"))]
        + [("nback", {"dir": "LR", "run": r}, ("nback", d)) for r, d in (("1", "LR"), ("2", "RL"))],
        "04": [("nback", {"dir": "LR"}, ("nback", "LR"))],
    }
    s1200_task = {"gamble": "GAMBLING", "nback": "WM"}
    for i, (subject, runs_) in enumerate(layout.items()):
        directions = sorted({d for *_, (_, d) in runs_})
        simulate_subject(
            staging, subject, atlas, ["GAMBLING", "WM"], directions, i, SimulationSettings(),
            tmp_path / f"truth_{subject}.npz", 0,
        )  # fmt: skip
        simulated = {(r["task"], r["run"]): r for r in subject_runs(staging, subject, ["GAMBLING", "WM"], directions)}
        for task, entities, (_, d) in runs_:
            s1200_run = simulated[(s1200_task[task], d)]
            run = bids.run_entry(raw, deriv, subject, task, tasks[task], entities)
            bids.write_run(s1200_run, run, nib_data(s1200_run["dtseries"]), 0.72)
    for sidecar in raw.glob("sub-*/**/func/*_task-gambling_*_bold.json"):  # BIDS inheritance: one file at the root
        sidecar.unlink()
    (raw / "task-gambling_bold.json").write_text('{"RepetitionTime": 0.72}')
    (raw / "participants.tsv").write_text("participant_id\tage\n" + "".join(f"sub-{s}\t30\n" for s in layout))
    events = raw / "sub-02/func/sub-02_task-wm_dir-LR_events.tsv"
    events.write_text(events.read_text() + "250.0\t5.0\tfixation\n")
    no_squares = deriv / "sub-04/func/sub-04_task-wm_dir-LR_desc-confounds_timeseries.tsv"
    table = pd.read_csv(no_squares, sep="\t", na_values=["n/a"], keep_default_na=False)
    bids.write_table(no_squares, table.drop(columns=["global_signal_power2", "global_signal_derivative1_power2"]))
    analysis = yaml.safe_load((ROOT / "tests" / "tiny_hcp_config.yaml").read_text())["hcp"]["analysis"]
    common = dict(
        source="fmriprep",
        fmriprep={"bids_root": str(raw), "derivatives": str(deriv), "tasks": tasks},
        subjects_sheet=str(raw / "participants.tsv"),
        tasks=["gamble", "nback"],
        experiments={"off_task": {"kind": "off_task", "tasks": ["gamble", "nback"]}},
        analysis={**analysis, "experiments": ["off_task"], "models": ["lstm"], "seeds": 1},
    )
    work = tmp_path / "work"
    work.mkdir()
    res = _run(work, _config(tmp_path, **common))
    assert res.returncode == 0, res.stderr[-4000:]
    qc = pd.read_csv(work / "results/hcp/qc.tsv", sep="\t", dtype=str, keep_default_na=False)
    rows = {(r.subject, r.task, r.run): r for r in qc.itertuples()}
    assert sorted(rows) == [
        ("01", "gamble", "ses-01_dir-LR"),
        ("01", "gamble", "ses-02_dir-LR"),
        ("01", "nback", "ses-01_dir-LR"),
        ("01", "nback", "ses-02_dir-LR"),
        ("02", "gamble", "dir-LR"),
        ("02", "nback", "dir-LR"),
        ("03", "gamble", "dir-LR"),
        ("03", "nback", "dir-LR_run-1"),
        ("03", "nback", "dir-LR_run-2"),
        ("04", "gamble", "single"),
        ("04", "nback", "dir-LR"),
    ]  # each subject's own runs: nobody is asked for another's session or repeat
    found = pd.read_csv(work / "results/hcp/runs.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert sorted(zip(found.subject, found.task, found.run, strict=True)) == sorted(rows)  # the cohort's runs, once
    assert sorted(found.session[found.subject == "01"]) == ["01", "01", "02", "02"]
    assert set(found.session[found.subject != "01"]) == {""}
    one = found[(found.subject == "03") & (found.run == "dir-LR_run-2")].files.iloc[0].split()
    assert [Path(f).name for f in one][:2] == [
        "sub-03_task-wm_dir-LR_run-2_space-fsLR_den-91k_bold.dtseries.nii",
        "sub-03_task-wm_dir-LR_run-2_desc-confounds_timeseries.tsv",
    ] and all(Path(f).is_file() for f in one)
    broken = rows[("02", "nback", "dir-LR")]
    assert broken.status == "error" and broken.file == str(events) and "'fixation'" in broken.message
    absent = rows[("04", "gamble", "single")]
    assert absent.status == "absent" and absent.message == "no run of task gamble for this subject"
    assert {r.status for k, r in rows.items() if k not in {("02", "nback", "dir-LR"), ("04", "gamble", "single")}} == {
        "ok"
    }
    unbuilt = rows[("04", "nback", "dir-LR")].strategies_unbuilt
    assert unbuilt.startswith("24P+GS: the confound strategy '24P+GS' cannot be built from this table: missing")
    assert "global_signal_power2" in unbuilt
    assert {r.strategies_unbuilt for k, r in rows.items() if r.status == "ok" and k[0] != "04"} == {""}
    # the broken run is left out alone; its subject keeps its other run; every other run is cleaned and used
    cleaned = sorted(p.name for p in (work / "results/hcp/timeseries").glob("sub-*/*_timeseries.npz"))
    assert len(cleaned) == 9 and not any(n.startswith("sub-02_task-nback") for n in cleaned)
    with np.load(work / "results/hcp/samples/off_task.npz") as f:
        subjects, labels, sample_runs = f["subjects"], f["labels"], f["runs"]
    assert set(subjects) == {"01", "02", "03", "04"}
    assert set(labels[subjects == "02"]) == {0} and set(labels[subjects == "04"]) == {1}  # gamble / nback only
    assert {r.split("_")[0] for r in sample_runs[subjects == "01"]} == {"ses-01", "ses-02"}  # both sessions
    assert set(sample_runs[(subjects == "03") & (labels == 1)]) == {"dir-LR_run-1", "dir-LR_run-2"}
    split = pd.read_csv(work / "results/hcp/split.tsv", sep="\t", dtype=str)
    assert sorted(split.subject) == ["01", "02", "03", "04"]  # by subject: a subject's sessions stay together
    # the compared strategy that one run lacks: reported there, its row computed from the runs that have it
    strategies = pd.read_csv(work / "results/hcp/qc/strategies.tsv", sep="\t")
    assert dict(zip(strategies.strategy, strategies.runs_unbuilt, strict=True)) == {"paper": 0, "24P": 0, "24P+GS": 1}
    assert dict(zip(strategies.strategy, strategies.n_subjects, strict=True)) == {"paper": 4, "24P": 4, "24P+GS": 3}
    md = (work / "results/hcp/qc/strategies.md").read_text()
    assert "**24P+GS**: 1 of 9 runs' confounds table cannot build it" in md and "sub-04 nback dir-LR" in md
    assert (
        work / "results/hcp/derivatives/sub-01/ses-02/func/sub-01_ses-02_task-wm_dir-LR_space-fsLR_seg-Glasser_den-"
        "91k_stat-mean_timeseries.ptseries.nii"
    ).is_file()
    res = _run(work, _config(tmp_path, **common), "-n")  # a re-run has nothing to do
    assert res.returncode == 0 and "Nothing to be done" in res.stdout + res.stderr, res.stdout[-2000:]

    # hcp.require_runs {dir: [LR]}: sub-04, without a gamble run, is left out before any job (qc.tsv says why);
    # sub-02 has its nback dir-LR run, but it failed its check: its hcp_preprocess stops with the reason
    strict = _config(tmp_path, **common, require_runs={"dir": ["LR"]})
    res = _run(work, strict, "--keep-going", "results/hcp/qc.tsv", "results/hcp/timeseries/sub-02")
    log = res.stdout + res.stderr
    assert res.returncode != 0
    assert "hcp.require_runs: leaving out 1 subject(s) without the runs it demands: sub-04 (no gamble dir-LR)" in log
    qc = pd.read_csv(work / "results/hcp/qc.tsv", sep="\t", dtype=str, keep_default_na=False)
    excluded = qc[qc.subject == "04"]
    assert set(excluded.status) == {"excluded"}
    assert all(m.startswith("hcp.require_runs: no gamble dir-LR; check: ") for m in excluded.message)
    assert set(qc[qc.subject != "04"].status) == {"ok", "error"}
    assert "hcp.require_runs demands nback dir-LR, which no run that passed its check has" in log
    assert "'fixation'" in log and "hcp.exclude skips the subject" in log


def nib_data(path):
    from vanishing_saliency.hcp.io import read_dtseries

    return read_dtseries(path)[0]


def test_an_fmriprep_task_label_no_subject_has_is_a_config_error_before_any_job(tmp_path):
    raw, deriv = tmp_path / "ds", tmp_path / "ds/derivatives/fmriprep"
    for s in ("01", "02", "03"):
        func = deriv / f"sub-{s}/func"
        func.mkdir(parents=True)
        for task in ("gambling", "wm"):
            (func / f"sub-{s}_task-{task}_run-1_space-fsLR_den-91k_bold.dtseries.nii").touch()
    tasks = yaml.safe_load((ROOT / "config.yaml").read_text())["hcp"]["fmriprep"]["tasks"]
    tasks = {**tasks, "WM": {**tasks["WM"], "bids_task": "workingmemory"}}  # the dataset calls it task-wm
    res = _run(
        tmp_path,
        _config(
            tmp_path,
            source="fmriprep",
            fmriprep={"bids_root": str(raw), "derivatives": str(deriv), "tasks": tasks},
            tasks=["GAMBLING", "WM"],
            experiments={"off_task": {"kind": "off_task", "tasks": ["GAMBLING", "WM"]}},
            analysis={
                **yaml.safe_load((ROOT / "tests" / "tiny_hcp_config.yaml").read_text())["hcp"]["analysis"],
                "experiments": ["off_task"],
            },
        ),
        "-n",
    )
    assert res.returncode != 0
    err = res.stdout + res.stderr
    assert "no subject of the cohort has a run of WM (task-workingmemory)" in err, err[-3000:]
    assert "task labels found: gambling, wm" in err and "Traceback" not in err


def test_a_strategy_no_runs_table_can_build_is_said_once_before_any_job(tmp_path):
    """A compared strategy whose columns every confounds table lacks is one warning before any job (not an error per
    run later); the cleaning's own strategy is a config error, also before any job."""
    raw, deriv = tmp_path / "ds", tmp_path / "ds/derivatives/fmriprep"
    motion = [f"{p}{s}" for p in ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z") for s in
              ("", "_derivative1", "_power2", "_derivative1_power2")]  # fmt: skip
    header = "\t".join([*motion, "global_signal", "global_signal_derivative1"]) + "\n"  # no squares of the GS
    for s in ("01", "02", "03"):
        func = deriv / f"sub-{s}/func"
        func.mkdir(parents=True)
        for task in ("gambling", "wm"):
            (func / f"sub-{s}_task-{task}_space-fsLR_den-91k_bold.dtseries.nii").touch()
            (func / f"sub-{s}_task-{task}_desc-confounds_timeseries.tsv").write_text(header + "\t".join(["0"] * 26))
    tasks = yaml.safe_load((ROOT / "config.yaml").read_text())["hcp"]["fmriprep"]["tasks"]
    analysis = yaml.safe_load((ROOT / "tests" / "tiny_hcp_config.yaml").read_text())["hcp"]["analysis"]
    common = dict(
        source="fmriprep",
        fmriprep={"bids_root": str(raw), "derivatives": str(deriv), "tasks": tasks},
        tasks=["GAMBLING", "WM"],
        experiments={"off_task": {"kind": "off_task", "tasks": ["GAMBLING", "WM"]}},
        analysis={**analysis, "experiments": ["off_task"]},
    )
    cleaning = yaml.safe_load((ROOT / "tests" / "tiny_hcp_config.yaml").read_text())["hcp"]["cleaning"]
    compared = {**cleaning, "strategy": "paper", "compare_strategies": ["24P", "24P+GS"]}
    res = _run(tmp_path, _config(tmp_path, **common, cleaning=compared), "-n")
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    warning = "hcp.cleaning.compare_strategies: no run can build '24P+GS': the confound strategy '24P+GS' cannot be"
    assert log.count(warning) == 1 and "global_signal_power2" in log and "no run can build '24P'" not in log
    res = _run(tmp_path, _config(tmp_path, **common, cleaning={**compared, "strategy": "24P+GS"}), "-n")
    log = res.stdout + res.stderr
    assert res.returncode != 0 and "hcp.cleaning.strategy '24P+GS': no run's confounds table can build it" in log
    assert "Traceback" not in log and "hcp_check" not in log  # before any job


def test_the_bids_derivative_copies_can_be_switched_off(tmp_path):
    """hcp.bids_derivatives false: no derivative dataset is planned (disk: about 1.8 MB per run)."""
    planned = {}
    for on in (True, False):
        work = tmp_path / str(on)
        work.mkdir()
        res = _run(work, _config(work, bids_derivatives=on), "-n")
        assert res.returncode == 0, res.stderr[-3000:]
        planned[on] = res.stdout + res.stderr
    folder = "results/hcp/derivatives/sub-"  # each subject's folder of the dataset (.ptseries.nii, .tsv, .json)
    assert "hcp_derivatives" in planned[True] and folder in planned[True]
    assert "hcp_derivatives" not in planned[False] and folder not in planned[False]
    assert "hcp_preprocess" in planned[False]
