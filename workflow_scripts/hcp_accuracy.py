"""Rule hcp_accuracy: test accuracy of every model and seed, with a binomial test against chance."""

from vanishing_saliency.steps import hcp_analysis
from vanishing_saliency.workflow import run_step

run_step(hcp_analysis.accuracy, snakemake)
