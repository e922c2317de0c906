"""Rule dynamics_train: one sequential-MNIST LSTM of the capacity series."""

from vanishing_saliency.steps import dynamics
from vanishing_saliency.workflow import run_step

run_step(dynamics.train, snakemake)
