"""Rule provenance: provenance.json and its report table for one branch's result folder."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.provenance import provenance_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)) as log:
    record = provenance_step(snakemake.wildcards.branch, dict(snakemake.config), snakemake.params.seeds,
                             Path(snakemake.scriptdir).parent, snakemake.input, snakemake.output.json,
                             snakemake.output.tsv)
    log.info("%s: config %s, commit %s, %d job seeds", record["branch"], record["config_sha256"][:12],
             record["git"]["commit"], len(record["seeds"]["jobs"]))
