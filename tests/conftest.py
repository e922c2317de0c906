"""Shared fixtures: the tiny synthetic run (used by test_workflow and test_reproducibility)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "tiny_config.yaml"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """`snakemake --cores 2` with the tiny config in a fresh directory, uninterrupted."""
    work = tmp_path_factory.mktemp("tiny")
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--cores", "2",
                          "--configfile", str(TINY)], cwd=work, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-5000:]
    return work
