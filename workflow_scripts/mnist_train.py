"""Rule mnist_train: train one architecture on the MNIST digits."""

from vanishing_saliency.steps import mnist
from vanishing_saliency.workflow import run_step

run_step(mnist.train, snakemake)
