"""Rule hcp_hrf: the haemodynamic responses of the simulation and the QC, once for the cohort."""

from vanishing_saliency.steps import hcp_preprocess
from vanishing_saliency.workflow import run_step

run_step(hcp_preprocess.hrf, snakemake)
