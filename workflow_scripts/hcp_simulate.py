"""Rule hcp_simulate: one simulated subject in the raw HCP layout, with its ground truth."""

from vanishing_saliency.steps import hcp_preprocess
from vanishing_saliency.workflow import run_step

run_step(hcp_preprocess.simulate, snakemake)
