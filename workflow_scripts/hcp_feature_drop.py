"""Rule hcp_feature_drop: accuracy after removing own / other models' / random salient features."""

from vanishing_saliency.steps import hcp_analysis
from vanishing_saliency.workflow import run_step

run_step(hcp_analysis.feature_drop, snakemake)
