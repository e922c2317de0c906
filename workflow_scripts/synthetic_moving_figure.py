"""Rule synthetic_moving_figure: WJac and Euc against box start (paper Fig. 5)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.io import save_figure, save_table  # noqa: E402
from vanishing_saliency.plots import moving_box_figure  # noqa: E402
from vanishing_saliency.tables import summarise  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)):
    summary = summarise(snakemake.params.records)
    summary.insert(1, "box_start", summary.dataset.map(snakemake.params.starts))
    save_table(snakemake.output.tsv, summary)
    save_figure(moving_box_figure(summary, snakemake.params.starts), snakemake.output.png, snakemake.output.pdf)
