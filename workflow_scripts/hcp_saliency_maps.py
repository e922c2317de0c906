"""Rule hcp_saliency_maps: mean time x area saliency maps per model (atlas order and sorted)."""

from vanishing_saliency.steps import hcp_analysis
from vanishing_saliency.workflow import run_step

run_step(hcp_analysis.saliency_maps, snakemake)
