"""Rule hcp_blocks: the samples of one HCP experiment (on_task, on_off or off_task)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.workflow import first_log, logged  # noqa: E402
from vanishing_saliency.hcp.steps import blocks_step  # noqa: E402

b = snakemake.params.blocks
with logged(first_log(snakemake)):
    blocks_step(list(snakemake.input), snakemake.wildcards.experiment, snakemake.params.tasks, b["hrf_shift_s"],
                b["on_frames"], b["off_frames"], snakemake.output[0])
