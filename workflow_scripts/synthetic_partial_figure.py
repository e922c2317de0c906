"""Rule synthetic_partial_figure: gradient AUROC of partial input-cell attention against its window K."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.partial_figure, snakemake)
