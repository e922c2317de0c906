"""Rule hcp_qc_table: every run of the cohort with its status."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.workflow import first_log, logged  # noqa: E402
from vanishing_saliency.hcp.steps import qc_table_step  # noqa: E402

with logged(first_log(snakemake)):
    qc_table_step(list(snakemake.input), snakemake.params.excluded, snakemake.output[0])
