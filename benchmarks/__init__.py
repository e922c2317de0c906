"""Benchmarks of the workflow and its library: each module runs as ``python -m benchmarks.<name>`` from the
repository root and prints what it measured (README.md here lists them with their last figures)."""
