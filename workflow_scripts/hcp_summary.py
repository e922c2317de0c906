"""Rule hcp_summary: each HCP claim of the paper and whether this run reproduces it."""

from vanishing_saliency.steps import hcp_analysis
from vanishing_saliency.workflow import run_step

run_step(hcp_analysis.summary, snakemake)
