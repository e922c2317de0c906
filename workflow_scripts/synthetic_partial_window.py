"""Rule synthetic_partial_window: partial input-cell attention with one window K, trained and scored."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.partial_window, snakemake)
