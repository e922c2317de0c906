"""Rule hcp_simulate: one simulated subject in the raw HCP layout, with its ground truth."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.workflow import first_log, logged  # noqa: E402
from vanishing_saliency.hcp.steps import simulate_step  # noqa: E402

p = snakemake.params
with logged(first_log(snakemake)):
    simulate_step(p.root, snakemake.wildcards.subject, snakemake.input.atlas, p.tasks, p.directions, p.seed,
                  p.settings, snakemake.output.truth, p.area_seed)
