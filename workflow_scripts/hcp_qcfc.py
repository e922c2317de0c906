"""Rule hcp_qcfc: the confound strategies compared on the cohort (QC-FC, tDOF lost) and motion censoring counts."""

from vanishing_saliency.steps import hcp_preprocess
from vanishing_saliency.workflow import run_step

run_step(hcp_preprocess.qcfc, snakemake)
