"""Rule class hcp_saliency_controls<k>: one method's saliency of every test sample for every run of one HCP model."""

from vanishing_saliency.steps import hcp_analysis
from vanishing_saliency.workflow import run_step

run_step(hcp_analysis.saliency, snakemake)
