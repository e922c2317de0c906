"""Rule dynamics_train: one sequential-MNIST LSTM of the capacity series."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.experiments import train_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)):
    train_step(snakemake.input[0], snakemake.output.model, "lstm", snakemake.params.models,
               {**snakemake.params.training, "threads": snakemake.threads}, snakemake.params.seed,
               f"seqmnist_h{snakemake.wildcards.hidden}")
