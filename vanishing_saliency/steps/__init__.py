"""The workflow's steps: one module per rule file, one function per rule.

``rules/X.smk`` rule ``X_y`` runs ``steps/X.py`` function ``y`` (rule ``provenance``:
``steps/provenance.py`` ``provenance``).  A step takes one :class:`~vanishing_saliency.workflow.Job`
(the input and output paths, params, wildcards and threads Snakemake resolved), reads
its inputs, calls the library and writes its outputs atomically; it never builds a
path from a pattern.  What every branch shares (train, load a split, attribute and
score) is in :mod:`.common`.
"""
