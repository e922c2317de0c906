"""Rule dynamics_audit: step/sine response of every cell and single-cell ablation of one network."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.dynamics_steps import audit_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

i, o, p = snakemake.input, snakemake.output, snakemake.params
with logged(first_log(snakemake)):
    audit_step(snakemake.wildcards.network, i.model, i.data, p.kind, i.split[0] if i.split else None, p.dynamics,
               p.seed, o.cells, o.probes, o.summary, o.heatmap_png, o.heatmap_pdf, o.ablation_png, o.ablation_pdf,
               snakemake.threads)
