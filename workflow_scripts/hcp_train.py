"""Rule class hcp_train_controls<k>: train every run (seeds, then controls) of one model on one HCP experiment."""

from vanishing_saliency.steps import hcp_analysis
from vanishing_saliency.workflow import run_step

run_step(hcp_analysis.train, snakemake)
