"""Rule hcp_brain_maps: each model's most salient areas on the fs_LR inflated surfaces."""

from vanishing_saliency.steps import hcp_analysis
from vanishing_saliency.workflow import run_step

run_step(hcp_analysis.brain_maps, snakemake)
