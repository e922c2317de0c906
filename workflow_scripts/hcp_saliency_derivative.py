"""Rule hcp_saliency_derivative: an experiment's mean saliency maps in the BIDS derivative dataset."""

from vanishing_saliency.steps import hcp_analysis
from vanishing_saliency.workflow import run_step

run_step(hcp_analysis.saliency_derivative, snakemake)
