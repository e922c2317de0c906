"""Rule hcp_split: a deterministic train/val/test split by subject."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.workflow import first_log, logged  # noqa: E402
from vanishing_saliency.hcp.steps import split_step  # noqa: E402

p = snakemake.params
with logged(first_log(snakemake)):
    split_step(p.subjects, p.seed, p.ratio, p.val_fraction, snakemake.output[0])
