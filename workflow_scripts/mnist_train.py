"""Rule mnist_train: train one architecture on the MNIST digits."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.experiments import train_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)):
    train_step(snakemake.input[0], snakemake.output.model, snakemake.wildcards.model, snakemake.params.models,
               {**snakemake.params.training, "threads": snakemake.threads}, snakemake.params.seed, "mnist")
