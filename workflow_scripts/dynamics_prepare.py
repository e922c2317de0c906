"""Rule dynamics_prepare: MNIST digits as row or pixel sequences for the audit's own networks."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.dynamics_steps import prepare_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

p, t = snakemake.params, snakemake.params.task
with logged(first_log(snakemake)):
    prepare_step(snakemake.output[0], p.source, p.idx_folder, p.verify, t["digits"], t["sequence"], t["downsample"],
                 t["max_train"], t["max_test"], p.seed)
