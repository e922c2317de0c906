"""Rule hcp_truth: how well each model's saliency recovers the simulator's planted ground truth."""

from vanishing_saliency.steps import hcp_analysis
from vanishing_saliency.workflow import run_step

run_step(hcp_analysis.truth, snakemake)
