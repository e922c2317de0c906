"""Rule hcp_derivatives: the BIDS derivative dataset's description and its atlas (dlabel)."""

from vanishing_saliency.steps import hcp_preprocess
from vanishing_saliency.workflow import run_step

run_step(hcp_preprocess.derivatives, snakemake)
