"""Rule synthetic_generate: one seeded box dataset (.npz with ground-truth masks)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.experiments import generate_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)):
    generate_step(snakemake.output[0], snakemake.params.settings, snakemake.params.seed)
