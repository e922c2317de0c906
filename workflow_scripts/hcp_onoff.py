"""Rule hcp_onoff: share of the top salient entries on-task vs off-task, and per bucket."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.hcp.experiments import onoff_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

p, o = snakemake.params, snakemake.output
with logged(first_log(snakemake)):
    onoff_step(p.runs, p.fraction, p.n_buckets, o.tsv, o.md, o.png, o.pdf, "on_off")
