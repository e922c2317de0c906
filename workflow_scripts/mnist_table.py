"""Rule mnist_table: accuracy, last-rows saliency share and WJac / Euc against the ink per model."""

from vanishing_saliency.steps import mnist
from vanishing_saliency.workflow import run_step

run_step(mnist.table, snakemake)
