"""Rule synthetic_epoch_figure: the epoch-curve figure."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.epoch_figure, snakemake)
