"""Rule hcp_train: train one architecture with one seed on one HCP experiment."""

from vanishing_saliency.steps import hcp_analysis
from vanishing_saliency.workflow import run_step

run_step(hcp_analysis.train, snakemake)
