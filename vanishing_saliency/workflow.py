"""Glue for the thin workflow scripts: logging to the rule's log file and seeds."""

from __future__ import annotations

import contextlib
import logging
import sys
import zlib
from pathlib import Path


def derive_seed(base: int, *keys: str) -> int:
    """A stable per-job seed from the config seed and names (not Python's salted hash)."""
    return (int(base) + zlib.crc32("/".join(keys).encode())) % (2**31 - 1)


@contextlib.contextmanager
def logged(log_path):
    """Send stdout, stderr (tqdm bars included) and logging to the rule's log file.

    An exception is written to the log with its message before it propagates, so
    Snakemake's error report points the user at a readable explanation.
    """
    if log_path is None:
        yield logging.getLogger("vanishing_saliency")
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", buffering=1) as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log = logging.getLogger("vanishing_saliency")
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        try:
            yield log
        except Exception as exc:
            log.error("%s: %s", type(exc).__name__, exc)
            raise
        finally:
            log.removeHandler(handler)


def first_log(snakemake_obj):
    return snakemake_obj.log[0] if len(snakemake_obj.log) else None
