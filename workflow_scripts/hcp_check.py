"""Rule hcp_check: validate every run of a subject; writes statuses, never fails."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.workflow import first_log, logged  # noqa: E402
from vanishing_saliency.hcp.steps import check_step  # noqa: E402

p = snakemake.params
with logged(first_log(snakemake)):
    check_step(snakemake.wildcards.subject, p.root, p.tasks, p.directions, p.suffix, p.tr, snakemake.output[0])
