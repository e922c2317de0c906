"""Rule mnist_prepare: load, verify and normalise the chosen digits."""

from vanishing_saliency.steps import mnist
from vanishing_saliency.workflow import run_step

run_step(mnist.prepare, snakemake)
