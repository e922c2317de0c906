"""Rule hcp_preprocess: motion + low-frequency regression, 360-area parcellation, z-scoring."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.workflow import first_log, logged  # noqa: E402
from vanishing_saliency.hcp.steps import preprocess_step  # noqa: E402

p = snakemake.params
with logged(first_log(snakemake)):
    preprocess_step(snakemake.wildcards.subject, p.root, p.tasks, p.directions, p.suffix, p.tr,
                    snakemake.input.atlas, snakemake.input.check, p.out_dir, p.cleaning)
