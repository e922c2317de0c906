"""Rule hcp_brain_maps: each model's most salient areas on the fs_LR inflated surfaces."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.hcp.experiments import brain_maps_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)):
    brain_maps_step(snakemake.input[0], snakemake.output.png, snakemake.output.pdf, snakemake.wildcards.experiment,
                    snakemake.params.n_top)
