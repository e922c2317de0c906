"""Reproducibility guarantees, with Snakemake really running the workflow:

- determinism: every branch at its smallest (tests/tiny_all_config.yaml, every target) run in a fresh
  directory gives the same tables, arrays, model state_dicts, sidecars and PNGs (CPU) as the committed
  table tests/expected_hashes.tsv, made by another run; on a mismatch, a second fresh run tells a
  nondeterministic run from a change that moved results;
- resume: the tiny run (its Table 1) killed (SIGKILL, whole process group) in the middle of a training job and
  re-run finishes with outputs identical to an uninterrupted run and no partial file left;
- provenance: each branch's result folder has provenance.json with the job seeds the jobs used.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fingerprint import cpu_model, differences, fingerprint, read_expected, run_tiny_all, versions

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
TINY = ROOT / "tests" / "tiny_config.yaml"


def snakemake(args, cwd, **kw):
    return subprocess.run([*SNAKEMAKE, "--cores", "2", *args], cwd=cwd, capture_output=True, text=True, **kw)


def temp_files(workdir: Path) -> list[str]:
    """Files an atomic write left behind (hidden .<name>.tmp-* siblings)."""
    return sorted(
        str(p.relative_to(workdir)) for top in ("results", "resources") for p in (workdir / top).rglob(".*.tmp-*")
    )


@pytest.mark.workflow
def test_a_fresh_run_of_every_branch_matches_the_committed_hashes(tmp_path):
    # The committed table was made by another run in another folder (python tests/fingerprint.py --update), so a
    # match shows both determinism and unchanged results; on a mismatch a second fresh run says which it is.
    def fresh(name):
        work = tmp_path / name
        work.mkdir()
        res = run_tiny_all(work)
        assert res.returncode == 0, res.stderr[-4000:]
        return fingerprint(work)

    first = fresh("first")
    # every branch, every kind of output, is covered
    for branch in ("synthetic", "hcp", "mnist", "dynamics"):
        kinds = {Path(k).suffix for k in first if k.startswith((f"results/{branch}/", f"resources/{branch}/"))}
        assert {".tsv", ".npz", ".pt", ".json", ".md", ".png"} <= kinds, (branch, kinds)
    assert any(k.startswith("resources/hcp/simulated_truth/") for k in first)
    assert any(k.startswith("results/hcp/timeseries/") for k in first)
    expected, made_with = read_expected()
    diff = differences(expected, first)
    if diff:
        again = differences(first, fresh("second"))
        assert not again, "two fresh runs differ (the run is not deterministic):\n" + "\n".join(again)
    now = "# made with: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + f"\n# cpu: {cpu_model()}"
    assert not diff, (
        "results differ from tests/expected_hashes.tsv, and a second fresh run reproduces the new "
        "ones: a change moved results (if on purpose: python tests/fingerprint.py --update), or this processor "
        "computes other floats than the one the table was made on (compare the cpu lines)\n"
        f"{made_with}\n{now}\n" + "\n".join(diff)
    )


def _training_pairs():
    import yaml

    cfg = yaml.safe_load(TINY.read_text())["synthetic"]
    t1 = cfg["table1"]
    runs = [f"seed{k}" for k in range(cfg["seeds"])] + [f"untrained{k}" for k in range(cfg["seeds"])]
    return [(d, m, runs) for d in t1["datasets"] for m in t1["models"]]


def _training_in_progress(work: Path) -> list[tuple[str, str, str]]:
    """(dataset, model, run) of the runs a training job has logged an epoch of but not yet written the sidecar of
    (one job trains every run of a (dataset, model) pair, one after the other)."""
    busy = []
    for dataset, model, runs in _training_pairs():
        log = work / f"logs/synthetic/train/{dataset}/{model}.log"
        if not log.exists() or "train_acc=" not in log.read_text(errors="replace"):
            continue
        missing = [r for r in runs if not (work / f"results/synthetic/models/{dataset}/{model}_{r}.json").exists()]
        if missing:
            busy.append((dataset, model, missing[0]))
    return busy


@pytest.mark.workflow
def test_killed_mid_training_then_rerun_matches_uninterrupted_run(tiny_run, tmp_path):
    # Table 1 of the tiny config (its datasets, trainings of 2 seeds and the untrained floors, saliency, noise)
    target = "results/synthetic/table1.tsv"
    proc = subprocess.Popen(
        [*SNAKEMAKE, target, "--cores", "2", "--configfile", str(TINY)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    interrupted, deadline = [], time.monotonic() + 600
    try:
        while not interrupted and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            if not (tmp_path / "logs/synthetic/train").is_dir():
                continue
            os.killpg(proc.pid, signal.SIGSTOP)  # freeze the whole run, then look
            interrupted = _training_in_progress(tmp_path)
            if not interrupted:
                os.killpg(proc.pid, signal.SIGCONT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # like a lost node: no handler runs
            proc.wait()
    assert interrupted, "the run finished before any training job could be interrupted"
    assert not (tmp_path / "results/synthetic/table1.tsv").exists()

    # a hard kill leaves Snakemake's lock behind; the documented recovery is --unlock, then the same command
    res = snakemake(["--configfile", str(TINY), "--unlock"], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    res = snakemake([target, "--configfile", str(TINY)], tmp_path)
    assert res.returncode == 0, res.stderr[-4000:]
    for dataset, model, run in interrupted:  # trained again from the start, to the end
        log = (tmp_path / f"logs/synthetic/train/{dataset}/{model}.log").read_text()
        assert re.search(rf"{model} on {dataset} {run}: \d+ epochs \(best", log), log[-2000:]

    assert temp_files(tmp_path) == []
    resumed = fingerprint(tmp_path)
    reference = {k: v for k, v in fingerprint(tiny_run).items() if k in resumed}
    assert len(resumed) >= 25 and (tmp_path / target).exists()
    diff = differences(reference, resumed)
    assert not diff, "\n".join(diff)
    res = snakemake([target, "--configfile", str(TINY), "-n"], tmp_path)
    assert "Nothing to be done" in res.stdout + res.stderr


@pytest.mark.workflow
def test_provenance_in_every_result_folder(tiny_run):
    import yaml

    from vanishing_saliency.provenance import config_hash

    record = json.loads((tiny_run / "results/synthetic/provenance.json").read_text())
    cfg = yaml.safe_load(TINY.read_text())
    assert record["seeds"]["base"] == cfg["seed"]
    for key in ("config_sha256", "packages", "git", "created_utc", "host_cpu", "compute", "outputs"):
        assert record[key], key
    assert record["packages"]["torch"].startswith("2.13")
    assert record["host_cpu"]["logical_cpus"] == os.cpu_count()
    assert len(record["git"]["commit"] or "") == 40 or record["git"]["commit"] is None
    assert "results/synthetic/table1.tsv" in record["outputs"]
    # every trained model's seed is listed under its job, as the model's sidecar recorded it
    models = sorted((tiny_run / "results/synthetic/models").rglob("*.json"))
    assert models
    jobs = record["seeds"]["jobs"]
    # a training job covers one pair's runs: "<rule>/<dataset>/<model>" with each run's seed under the run's name,
    # and each run's saliency seed under "<method>/<run>"
    pair_jobs = {k.split("/", 1)[1]: v for k, v in jobs.items() if k.startswith("synthetic_train_seeds")}
    trained = {k: v for k, v in pair_jobs.items() if k.count("/") == 2}
    for sidecar in models:
        model, run = sidecar.stem.rsplit("_", 1)
        job = f"{sidecar.parent.name}/{model}/{run}"
        assert trained[job] == json.loads(sidecar.read_text())["seed"], job
    # ... and every generated dataset's, as the data file recorded it
    datasets = sorted((tiny_run / "resources/synthetic").glob("*.npz"))
    assert datasets
    for path in datasets:
        with np.load(path) as f:
            assert jobs[f"synthetic_generate/{path.stem}"] == int(f["seed"]), path.name
    # one seed per seeded job that ran, and no job of another branch
    n_metrics = len([p for p in (tiny_run / "results/synthetic/metrics").rglob("*.tsv") if p.name != "noise.tsv"])
    assert len([k for k in pair_jobs if k.count("/") == 3]) == n_metrics
    assert len(trained) == len(models)
    assert all(k.startswith("synthetic_") for k in jobs)
    assert re.fullmatch(r"[0-9a-f]{64}", record["config_sha256"])
    assert record["config_sha256"] != record["branch_config_sha256"]
    assert config_hash({"a": 1, "b": [2]}) == config_hash({"b": [2], "a": 1}) != config_hash({"a": 2, "b": [2]})
    assert not (tiny_run / "results/hcp").exists()  # disabled branches get no folder
