"""Rule hcp_qc_table: every run of the cohort with its status."""

from vanishing_saliency.steps import hcp_preprocess
from vanishing_saliency.workflow import run_step

run_step(hcp_preprocess.qc_table, snakemake)
