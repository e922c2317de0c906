"""Integration test: a cut-down tiny config through `snakemake --profile profiles/slurm-squeue` on a real
single-node Slurm started here (Debian's slurmctld, slurmd and munge; see tests/local_slurm.py).

Skips, with the reason, when not root or when Slurm cannot be installed; never hangs (every wait
and the Snakemake run itself are bounded)."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from local_slurm import LocalSlurm, SlurmUnavailable

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
pytestmark = [pytest.mark.workflow, pytest.mark.slurm]
RUN_TIMEOUT_S = 1200


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    slurm = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        slurm.start()
    except SlurmUnavailable as exc:
        pytest.skip(f"no local Slurm: {exc}")
    yield slurm
    slurm.stop()
    assert not slurm.pids, f"daemons left running: {slurm.pids}"


def test_tiny_config_runs_through_slurm(cluster, tmp_path):
    # the tiny config cut to one model per group and one saliency method: every rule family of the
    # synthetic branch still runs, as 13 Slurm jobs instead of the tiny run's 35 (each costs ~10 s of status polling)
    cfg = yaml.safe_load((ROOT / "tests" / "tiny_config.yaml").read_text())
    cfg["saliency"]["methods"] = ["gradient"]
    syn = cfg["synthetic"]
    syn["table1"] = {"datasets": ["latter"], "models": ["lstm"]}
    syn["table2"] = {"datasets": ["latter"], "models": ["lstm"], "seeds": 1}
    syn["moving"]["models"] = ["lstm"]
    syn["heatmap_datasets"] = ["latter"]
    syn["epoch_curve"].update(dataset="latter", models=["lstm"])
    syn.pop("partial_window")  # trains as test_workflow's tiny run does; not a rule family of its own under Slurm
    syn["datasets"] = {k: v for k, v in syn["datasets"].items() if k in ("latter", *syn["moving"]["datasets"])}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cfg))
    dry = subprocess.run(
        [*SNAKEMAKE, "-n", "--cores", "1", "--configfile", str(config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert dry.returncode == 0, dry.stderr[-3000:]
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", dry.stdout, re.M))
    n_cluster_jobs = int(stats.pop("total")) - int(stats.pop("all"))  # `all` is a local rule

    try:
        res = subprocess.run(
            [*SNAKEMAKE, "--profile", str(ROOT / "profiles/slurm-squeue"), "--configfile", str(config)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=cluster.env,
            timeout=RUN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"snakemake --profile profiles/slurm-squeue did not finish in {RUN_TIMEOUT_S} s: "
            f"{(exc.stderr or b'')[-3000:]}"
        )
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-5000:]

    # every job went through Slurm: one sbatch submission per job, each recorded COMPLETED by slurmctld
    submitted = [int(j) for j in re.findall(r"has been submitted with SLURM jobid (\d+)", log)]
    assert len(submitted) == n_cluster_jobs and len(set(submitted)) == n_cluster_jobs
    done = cluster.completed_jobs()
    assert all(done.get(j) == "COMPLETED" for j in submitted), {j: done.get(j) for j in submitted}

    # every final output exists and is up to date
    for name in (
        "table1.md",
        "table2.md",
        "moving_box.tsv",
        "figures/moving_box.png",
        *[f"figures/saliency_{d}.png" for d in cfg["synthetic"]["heatmap_datasets"]],
    ):
        assert (tmp_path / "results/synthetic" / name).stat().st_size > 0, name
    again = subprocess.run(
        [*SNAKEMAKE, "-n", "--cores", "1", "--configfile", str(config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Nothing to be done" in again.stdout + again.stderr


def test_subjects_preprocessing_is_grouped_into_few_cluster_jobs(cluster, tmp_path):
    """Per-subject preprocessing (simulate, check, preprocess) is one group, and the profile's group-components
    put several subjects in one sbatch submission: 4 subjects at 2 per job are 2 submissions, not 12."""
    cfg = yaml.safe_load((ROOT / "tests" / "tiny_hcp_config.yaml").read_text())
    cfg["hcp"]["simulate"]["n_subjects"] = 4
    cfg["mnist"]["enabled"] = cfg["dynamics"]["enabled"] = False
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cfg))
    target = "results/hcp/samples/on_task.npz"  # every subject's preprocessing, then one hcp_blocks job
    try:
        # the target goes first: --group-components takes any number of values
        res = subprocess.run(
            [
                *SNAKEMAKE,
                target,
                "--profile",
                str(ROOT / "profiles/slurm-squeue"),
                "--configfile",
                str(config),
                "--group-components",
                "hcp_subject=2",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=cluster.env,
            timeout=RUN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"grouped run did not finish in {RUN_TIMEOUT_S} s: {(exc.stderr or b'')[-3000:]}")
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-5000:]
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
    groups = re.findall(r"group job hcp_subject .*?has been submitted with SLURM jobid (\d+)", log, re.I)
    # hcp_atlas and hcp_blocks alone, and 2 group jobs of 2 subjects x 3 rules
    assert len(submitted) == 4, log[-5000:]
    done = cluster.completed_jobs()
    assert all(done.get(int(j)) == "COMPLETED" for j in submitted), {j: done.get(int(j)) for j in submitted}
    for s in range(1, 5):
        assert (tmp_path / f"results/hcp/check/sub-9{s:05d}.json").is_file()
    with np.load(tmp_path / target) as f:
        assert len(set(f["subjects"].astype(str))) == 4
    assert groups == [] or len(groups) == 2
