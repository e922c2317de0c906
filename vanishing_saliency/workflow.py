"""The bridge between Snakemake and the steps: a job as plain data, its log, its seeds.

Every workflow script is two lines: import the rule's step and call
``run_step(step, snakemake)``.  ``run_step`` turns Snakemake's script object into a
:class:`Job` (named input and output paths, params, wildcards, threads, log), sends
the step's output and errors to the rule's log file, and after a successful step
writes the *job record* beside the log (``<log stem>.job.json``: rule, wildcards,
threads and every seed the job used), which the provenance rule collects.
"""

from __future__ import annotations

import contextlib
import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from .io import save_json


def derive_seed(base: int, *keys: str) -> int:
    """A stable per-job seed from the config seed and names (not Python's salted hash)."""
    return (int(base) + zlib.crc32("/".join(keys).encode())) % (2**31 - 1)


class Named:
    """A list of values of which some have names: ``files.model``, ``files[0]``, ``list(files)``.

    The shape of Snakemake's ``input``/``output``/``params``/``wildcards``; a named entry may
    itself be a list (``input.models``), which then also appears flattened in the list.
    """

    def __init__(self, items=(), names: dict | None = None):
        self._items = list(items)
        self._names = dict(names or {})

    @classmethod
    def of(cls, value) -> Named:
        """From a dict (names, in order), a list (no names) or a Snakemake Namedlist."""
        if isinstance(value, Named):
            return value
        if value is None:
            return cls()
        if isinstance(value, dict):
            flat = [x for v in value.values() for x in (v if isinstance(v, (list, tuple)) else [v])]
            return cls(flat, value)
        # a Snakemake Namedlist: names in list order (its name table is not), and a named range
        # (``input.models``) comes back as a list subclass
        names = dict(value.items()) if hasattr(value, "items") else {}
        if hasattr(value, "_names"):
            names = {k: names[k] for k in sorted(names, key=lambda k: value._names[k][0])}
        names = {k: (list(v) if isinstance(v, list) and type(v) is not list else v) for k, v in names.items()}
        return cls(list(value), names)

    def __getattr__(self, name):
        try:
            return self.__dict__["_names"][name]
        except KeyError:
            raise AttributeError(f"no entry named {name!r} (named: {', '.join(self._names) or 'none'})") from None

    def get(self, name, default=None):
        return self._names.get(name, default)

    def __getitem__(self, i):
        return self._items[i]

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def __contains__(self, name):
        return name in self._names

    def keys(self):
        return self._names.keys()

    def items(self):
        return self._names.items()

    def __repr__(self):
        return f"Named({self._names or self._items})"


@dataclass
class Job:
    """What Snakemake resolved for one job, as plain data: a step reads only this."""

    input: Named = field(default_factory=Named)
    output: Named = field(default_factory=Named)
    params: Named = field(default_factory=Named)
    wildcards: Named = field(default_factory=Named)
    threads: int = 1
    log: str | None = None
    rule: str = ""

    @classmethod
    def make(
        cls, input=None, output=None, params=None, wildcards=None, threads: int = 1, log=None, rule: str = ""
    ) -> Job:
        """A job from dicts or lists (for calling a step outside Snakemake, e.g. in a test)."""
        return cls(
            Named.of(input),
            Named.of(output),
            Named.of(params),
            Named.of(wildcards),
            int(threads),
            None if log is None else str(log),
            rule,
        )

    @classmethod
    def from_snakemake(cls, smk) -> Job:
        return cls.make(
            smk.input,
            smk.output,
            smk.params,
            smk.wildcards,
            smk.threads,
            smk.log[0] if len(smk.log) else None,
            smk.rule,
        )

    def seeds(self) -> dict:
        """Every seed this job was given: params named ``seed`` or ``*_seed``, and the ``{run: seed}`` of a
        ``seeds`` param (a job that covers several runs), under the run's name."""
        out = {k: int(v) for k, v in self.params.items() if k == "seed" or k.endswith("_seed")}
        if isinstance(self.params.get("seeds"), dict):
            out.update({str(run): int(seed) for run, seed in self.params.get("seeds").items()})
        return out

    def record(self) -> dict:
        """The job record written beside the log after the step succeeded."""
        return {
            "rule": self.rule,
            "wildcards": {k: str(v) for k, v in self.wildcards.items()},
            "seeds": self.seeds(),
            "threads": self.threads,
            "outputs": [str(p) for p in self.output],
        }


def job_record_path(log_path) -> Path:
    log_path = Path(log_path)
    return log_path.with_name(log_path.stem + ".job.json")


def run_step(step, smk) -> None:
    """Run ``step(job)`` for the Snakemake script object ``smk``, logged to the rule's log file."""

    job = Job.from_snakemake(smk)
    if job.log:
        job_record_path(job.log).unlink(missing_ok=True)  # a failed re-run leaves no stale record
    with logged(job.log) as log:
        if job.seeds():
            log.info("seeds: %s", ", ".join(f"{k} {v}" for k, v in job.seeds().items()))
        step(job)
    if job.log:
        save_json(job_record_path(job.log), job.record())


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
