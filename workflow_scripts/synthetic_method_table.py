"""Rule synthetic_method_table: the method table (model x method, AUROC and WJac against the noise map)."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.method_table, snakemake)
