"""Rule mnist_prepare: load, verify and normalise the chosen digits."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.mnist_steps import prepare_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

p = snakemake.params
with logged(first_log(snakemake)):
    prepare_step(snakemake.output[0], p.source, p.idx_folder, p.verify, p.digits, p.max_train, p.max_test,
                 p.ink_threshold, p.seed)
