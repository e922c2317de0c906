"""Rule hcp_summary: each HCP claim of the paper and whether this run reproduces it."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.hcp.experiments import summary_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

i, p = snakemake.input, snakemake.params
# the off-task control's accuracy table is one of the accuracy inputs (absent when the experiment is off)
control = next((path for path in i.accuracy if Path(path).parent.name == "off_task"), None)
with logged(first_log(snakemake)):
    summary_step(list(i.accuracy), i.onoff[0] if i.onoff else None, i.drop[0] if i.drop else None, control,
                 list(i.truth), snakemake.output[0], p.method, p.fraction)
