"""Rule mnist_figures: example images with each model's saliency, and the temporal saliency profile."""

from vanishing_saliency.steps import mnist
from vanishing_saliency.workflow import run_step

run_step(mnist.figures, snakemake)
