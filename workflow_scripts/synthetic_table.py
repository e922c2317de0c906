"""Rule synthetic_table: paper Table 1 / Table 2 as TSV (long) and Markdown (paper layout)."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.table, snakemake)
