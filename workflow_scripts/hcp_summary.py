"""Rule hcp_summary: each HCP claim of the paper and whether this run reproduces it."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.hcp.experiments import summary_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

i, p = snakemake.input, snakemake.params
with logged(first_log(snakemake)):
    summary_step(list(i.accuracy), i.onoff[0] if i.onoff else None, i.drop[0] if i.drop else None,
                 list(i.truth), snakemake.output[0], p.method, p.fraction)
