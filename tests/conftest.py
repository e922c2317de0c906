"""Shared fixtures: the tiny synthetic run (used by test_workflow and test_reproducibility)."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "tiny_config.yaml"

# Once tests/test_slurm.py has installed Debian's Slurm client tools, every Snakemake start runs the Slurm executor
# plugin's import-time probe `scontrol show config`, which with no slurm.conf and no controller waits 9 s for a DNS
# lookup this machine cannot make.  Every other test's Snakemake gets a slurm.conf whose controller refuses at once
# (scontrol fails in milliseconds, the plugin takes its default); the Slurm test passes its own cluster's SLURM_CONF.
if "SLURM_CONF" not in os.environ:
    _conf = Path(tempfile.mkdtemp(prefix="no-slurm-")) / "slurm.conf"
    _conf.write_text("ClusterName=none\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort=1\nMessageTimeout=1\n")
    os.environ["SLURM_CONF"] = str(_conf)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """`snakemake --cores 2` with the tiny config in a fresh directory, uninterrupted."""
    work = tmp_path_factory.mktemp("tiny")
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--cores", "2", "--configfile", str(TINY)],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr[-5000:]
    return work
