"""Rule synthetic_moving_figure: WJac and Euc against box start (paper Fig. 5)."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.moving_figure, snakemake)
