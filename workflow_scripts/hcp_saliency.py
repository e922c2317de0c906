"""Rule hcp_saliency: saliency of every test sample for one trained HCP model."""

from vanishing_saliency.steps import hcp_analysis
from vanishing_saliency.workflow import run_step

run_step(hcp_analysis.saliency, snakemake)
