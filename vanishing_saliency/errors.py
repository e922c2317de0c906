"""Every error the package raises on purpose: one base class, one type per kind of bad input.

``ConfigError`` is anything the configuration can get wrong (its message names the key);
``DataError`` and its per-branch subclasses are input files that do not hold what was
expected (their messages name the file).  Both are ``ValueError`` subclasses, so code
that caught ``ValueError`` before still catches them.
"""

from __future__ import annotations


class VanishingSaliencyError(Exception):
    """Base class of the package's own errors."""


class ConfigError(VanishingSaliencyError, ValueError):
    """The workflow configuration is inconsistent; the message names the key.

    ``key``: the dotted path of the offending key when known (``training.lr``), so that a report can say
    whether the value came from a config file or from ``--config`` on the command line."""

    def __init__(self, message: str, key: str | None = None):
        self.key = key
        super().__init__(message)


class DataError(VanishingSaliencyError, ValueError):
    """An input file does not hold what was expected; the message names the file."""


class HCPDataError(DataError):
    """A raw HCP file is missing or does not hold what was expected.

    The message is ``subject S, task T, run R: <path>: <problem>``; the parts are kept as
    attributes so a caller can report them without parsing the message.
    """

    def __init__(self, subject, task, direction, path, problem):
        self.subject, self.task, self.direction, self.path = subject, task, direction, str(path)
        self.problem = problem
        super().__init__(f"subject {subject}, task {task}, run {direction}: {path}: {problem}")


class MNISTDataError(DataError):
    """MNIST arrays that are missing, malformed or not the canonical ones."""


class DynamicsError(DataError):
    """A trained network the cell-dynamics audit cannot handle (not a single-layer LSTM)."""
