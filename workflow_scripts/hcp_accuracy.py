"""Rule hcp_accuracy: test accuracy of every model and seed, with a binomial test against chance."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.hcp.experiments import accuracy_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)):
    accuracy_step(list(snakemake.input), snakemake.output.tsv, snakemake.output.md, snakemake.wildcards.experiment)
