"""Rule synthetic_gates: every run against its label-permutation null, once (the gate every table and claim reads)."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.gates, snakemake)
