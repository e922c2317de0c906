"""Input-cell attention and vanishing saliency of recurrent networks.

The library behind the Snakemake workflow: models (``models``), training
(``training``), saliency (``saliency``), metrics (``metrics``), the data of each
branch (``synthetic``, ``mnist``, ``hcp``, and ``data`` to read any of them by
split), the cell-dynamics audit (``dynamics``), tables and figures (``tables``,
``plots``, ``hcp.figures``), provenance and errors.  ``steps`` holds one module
per rule file of the workflow; ``workflow`` is its bridge to Snakemake.
"""

__version__ = "0.1.0"
