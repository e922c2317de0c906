"""Rule synthetic_epoch_curve: saliency quality after every epoch of one training."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.epoch_curve, snakemake)
