"""The workflow's steps: one module per rule file, one function per rule.

A rule ``<branch>_<step>`` of ``rules/<file>.smk`` runs ``workflow_scripts/<branch>_<step>.py``, which calls
``steps/<file>.py``'s ``<step>``; a rule class ``<branch>_<step>_<what><k>`` (one rule per run count) runs the same
script and function (``hcp_train_controls<k>``: ``hcp_train.py``, ``steps/hcp_analysis.py``'s ``train``; rule
``provenance``: ``steps/provenance.py``'s ``provenance``).  tests/test_conventions.py checks every rule.

A step takes one :class:`~vanishing_saliency.workflow.Job` (the input and output paths, params, wildcards and
threads Snakemake resolved), reads its inputs, calls the library and writes its outputs atomically; it never builds
a path from a pattern.  What every branch shares (train, load a split, attribute and
score) is in :mod:`.common`.
"""
