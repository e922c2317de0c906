"""Rule provenance: provenance.json and its report table for one branch's result folder."""

from vanishing_saliency.steps import provenance
from vanishing_saliency.workflow import run_step

run_step(provenance.provenance, snakemake)
