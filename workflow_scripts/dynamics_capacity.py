"""Rule dynamics_capacity: cell metrics against hidden size."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.dynamics_steps import capacity_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

o = snakemake.output
with logged(first_log(snakemake)):
    capacity_step(snakemake.params.sizes, list(snakemake.input.cells), o.tsv, o.md, o.png, o.pdf)
