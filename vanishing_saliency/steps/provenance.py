"""Step of ``rules/provenance.smk``: provenance.json and its report table for one branch's result folder."""

from __future__ import annotations

import logging

from ..io import save_json, save_table
from ..provenance import collect, job_seeds, provenance_table
from ..workflow import Job

log = logging.getLogger("vanishing_saliency")


def provenance(job: Job) -> dict:
    """Config hash, versions, git state, host, the seeds every job of the branch used, final outputs."""
    p, branch = job.params, job.wildcards.branch
    record = collect(branch, p.config, job_seeds(p.job_records, branch), p.workflow_dir, list(job.input))
    save_json(job.output.json, record)
    save_table(job.output.tsv, provenance_table(record))
    log.info(
        "%s: config %s, commit %s, %d job seeds",
        record["branch"],
        record["config_sha256"][:12],
        record["git"]["commit"],
        len(record["seeds"]["jobs"]),
    )
    return record
