"""Rule hcp_split: a deterministic train/val/test split by subject."""

from vanishing_saliency.steps import hcp_preprocess
from vanishing_saliency.workflow import run_step

run_step(hcp_preprocess.split, snakemake)
