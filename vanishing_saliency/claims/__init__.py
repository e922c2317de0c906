"""The paper's claims decided from this run's numbers: verdict primitives (``verdicts``) and, per
branch, the assembly of every claim with its comparisons (``synthetic``)."""
