"""Rule synthetic_heatmaps: one test sample's saliency per model on one dataset (paper Fig. 3)."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.io import save_figure  # noqa: E402
from vanishing_saliency.plots import saliency_heatmaps  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)):
    examples = []
    for path in snakemake.input:
        with np.load(path) as f:
            examples.append({k: f[k] for k in f.files})
    fig = saliency_heatmaps(examples, snakemake.wildcards.dataset)
    save_figure(fig, snakemake.output.png, snakemake.output.pdf)
