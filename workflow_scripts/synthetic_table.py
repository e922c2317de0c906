"""Rule synthetic_table: paper Table 1 / Table 2 as TSV (long) and Markdown (paper layout)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.io import save_table, save_text  # noqa: E402
from vanishing_saliency.tables import markdown, summarise  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)):
    summary = summarise(snakemake.params.records)
    save_table(snakemake.output.tsv, summary)
    save_text(snakemake.output.md, markdown(summary, snakemake.params.title))
