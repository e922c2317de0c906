"""Rule dynamics_table: metric mean and sd per network (their Table 1) and the sorted distributions."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.dynamics_steps import distributions_step, read_cells, table_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

i, o = snakemake.input, snakemake.output
with logged(first_log(snakemake)):
    cells = read_cells(i.cells)  # once for the table and the figure
    table_step(cells, list(i.summaries), o.tsv, o.md)
    distributions_step(cells, o.png, o.pdf)
