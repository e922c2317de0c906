"""Rule hcp_onoff: share of the top salient entries on-task vs off-task, and per bucket."""

from vanishing_saliency.steps import hcp_analysis
from vanishing_saliency.workflow import run_step

run_step(hcp_analysis.onoff, snakemake)
