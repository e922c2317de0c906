"""Rule dynamics_table: metric mean and sd per network (their Table 1) and the sorted distributions."""

from vanishing_saliency.steps import dynamics
from vanishing_saliency.workflow import run_step

run_step(dynamics.table, snakemake)
