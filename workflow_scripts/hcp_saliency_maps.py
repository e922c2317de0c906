"""Rule hcp_saliency_maps: mean time x area saliency maps per model (atlas order and sorted)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.hcp.experiments import maps_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

o = snakemake.output
with logged(first_log(snakemake)):
    maps_step(snakemake.params.runs, snakemake.input.atlas, (o.png, o.sorted_png), (o.pdf, o.sorted_pdf), o.npz,
              snakemake.wildcards.experiment, snakemake.params.on_frames)
