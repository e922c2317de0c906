"""Input-cell attention and vanishing saliency of recurrent networks.

The library behind the Snakemake workflow: models (``models``), training
(``training``), saliency (``saliency``), metrics (``metrics``), synthetic box
data (``synthetic``), tables and figures (``tables``, ``plots``).
"""

__version__ = "0.1.0"
