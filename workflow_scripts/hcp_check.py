"""Rule hcp_check: validate every run of a subject; writes statuses, never fails."""

from vanishing_saliency.steps import hcp_preprocess
from vanishing_saliency.workflow import run_step

run_step(hcp_preprocess.check, snakemake)
