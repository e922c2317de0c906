"""Rule mnist_table: accuracy, last-rows saliency share and WJac / Euc against the ink per model."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.mnist_steps import table_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)):
    table_step(snakemake.params.records, snakemake.output.tsv, snakemake.output.md, snakemake.params.last_rows)
