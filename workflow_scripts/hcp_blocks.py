"""Rule hcp_blocks: the samples of one HCP experiment (on_task, on_off or off_task)."""

from vanishing_saliency.steps import hcp_preprocess
from vanishing_saliency.workflow import run_step

run_step(hcp_preprocess.blocks, snakemake)
