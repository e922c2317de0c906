"""Input-cell attention and vanishing saliency of recurrent networks.

The library behind the Snakemake workflow: models (``models``), training
(``training``), saliency (``saliency``), metrics (``metrics``), run-level statistics
(``stats``), the data of each branch (``synthetic``, ``mnist``, ``hcp``, and ``data``
to read any of them by split), the cell-dynamics audit (``dynamics``), the paper's
claims and their verdicts (``claims``), tables (``tables``) and figures (``plots``),
config checks (``configcheck``), provenance and errors.  ``steps`` holds one module
per rule file of the workflow; ``workflow`` is its bridge to Snakemake.
"""

__version__ = "0.1.0"

#: The only imports made inside functions: third-party packages that take half a second or more to import
#: (python -m benchmarks.bench_imports measures each; benchmarks/README.md has the last figures) and the package
#: modules that import one of them at their top.  Light jobs (tables, checks, summaries: most of the default run's
#: jobs) then start without them.  Everything else is imported at the top of its module; tests/test_conventions.py
#: holds every module to this list.
LAZY_IMPORTS = (
    "hcp_utils",
    "nilearn",
    "captum",
    "statsmodels",
    "torch",
    "scipy",
    "matplotlib",
    "tint",
    "pytorch_lightning",
)
