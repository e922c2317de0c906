"""Rule hcp_feature_drop: accuracy after removing own / other models' / random salient features."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.hcp.experiments import feature_drop_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

p, o = snakemake.params, snakemake.output
with logged(first_log(snakemake)):
    feature_drop_step(snakemake.input.samples, snakemake.input.split, p.runs, p.fractions, p.highlight, p.baseline,
                      p.seed, o.tsv, o.md, o.png, o.pdf, snakemake.wildcards.experiment)
