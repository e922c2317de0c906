"""Rule hcp_preprocess: motion + low-frequency regression, 360-area parcellation, z-scoring."""

from vanishing_saliency.steps import hcp_preprocess
from vanishing_saliency.workflow import run_step

run_step(hcp_preprocess.preprocess, snakemake)
