"""Rule mnist_saliency: saliency of every test image, scores against the ink and the temporal profile."""

from vanishing_saliency.steps import mnist
from vanishing_saliency.workflow import run_step

run_step(mnist.saliency, snakemake)
