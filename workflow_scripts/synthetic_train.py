"""Rule class synthetic_train_seeds<k>: train every run of one model on one dataset and score its test saliency."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.train, snakemake)
