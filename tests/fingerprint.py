"""Content hashes of a run's numbers: every table, array, model state_dict, JSON sidecar, PNG and CIFTI file.

npz and .pt files are zip archives with write times inside, so arrays and tensors are hashed
by name, dtype, shape and bytes rather than file bytes.  Left out, with the reason:
provenance.json/.tsv (they record the date and host), PDFs (matplotlib stamps a creation
date), the wall-clock ``train_seconds`` of the training sidecars, and the BIDS derivative dataset's links to where
the run's inputs and the workflow's code are (absolute ``file://`` paths, the checkout's remote).
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

VOLATILE = {"provenance.json", "provenance.tsv"}
VOLATILE_KEYS = {"train_seconds", "DatasetLinks", "SourceDatasets", "CodeURL"}


def _array_digest(h, name, arr):
    arr = np.ascontiguousarray(arr)
    h.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
    h.update(arr.tobytes() if arr.dtype != object else repr(arr.tolist()).encode())


def _stable(record):
    """A JSON record without its :data:`VOLATILE_KEYS`, at any depth."""
    if isinstance(record, dict):
        return {k: _stable(v) for k, v in record.items() if k not in VOLATILE_KEYS}
    if isinstance(record, list):
        return [_stable(v) for v in record]
    return record


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            for name in sorted(f.files):
                _array_digest(h, name, f[name])
    elif path.suffix == ".pt":
        state = torch.load(path, map_location="cpu", weights_only=True)
        for name in sorted(state):
            _array_digest(h, name, state[name].numpy())
    elif path.suffix == ".json":
        h.update(json.dumps(_stable(json.loads(path.read_text())), sort_keys=True).encode())
    else:
        h.update(path.read_bytes())
    return h.hexdigest()


def fingerprint(workdir: Path) -> dict[str, str]:
    """{relative path: digest} of every result and resource file that carries numbers."""
    out = {}
    for top in ("results", "resources"):
        for path in sorted((workdir / top).rglob("*")):
            if (
                path.is_file()
                and path.name not in VOLATILE
                and path.suffix in {".tsv", ".md", ".npz", ".pt", ".json", ".png", ".nii"}
            ):
                out[str(path.relative_to(workdir))] = file_digest(path)
    return out


def differences(a: dict, b: dict) -> list[str]:
    return (
        [f"only in first run: {k}" for k in sorted(a.keys() - b.keys())]
        + [f"only in second run: {k}" for k in sorted(b.keys() - a.keys())]
        + [f"differs: {k}" for k in sorted(a.keys() & b.keys()) if a[k] != b[k]]
    )


# ---- the committed table of the tiny all-branch run's hashes ----------------------------------------
ROOT = Path(__file__).resolve().parents[1]
EXPECTED = ROOT / "tests" / "expected_hashes.tsv"
TINY_ALL = ROOT / "tests" / "tiny_all_config.yaml"
VERSIONED = ("torch", "numpy", "scipy", "pandas", "matplotlib", "captum", "nibabel", "nilearn", "scikit-learn")


def versions() -> dict:
    from importlib import metadata

    return {name: metadata.version(name) for name in VERSIONED}


# Floating-point results depend on the vector instructions each library picks for the CPU at hand: AVX2 and
# AVX-512 kernels sum in other orders (the same commit gave other hashes on another machine than on an
# AVX2-only one, every package version alike).  The runs compared with the committed table pin every library of
# the stack to its AVX2 path, which every x86-64 machine this project runs on has: torch's own kernels, MKL (its
# conditional numerical reproducibility mode), oneDNN, OpenBLAS (numpy's and scipy's) and numpy's SIMD loops.
# That is not enough across vendors: on an Intel Xeon the commit whose table an AMD EPYC made gave other hashes for
# 137 of 297 files (trained models and all that follows), so the table names the processor it was made on.
# A user's run is not pinned; the README says how to pin one.
PINNED_ISA = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "OPENBLAS_CORETYPE": "Haswell",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
}


def run_tiny_all(workdir: Path):
    """Snakemake runs every target of the tiny all-branch config in ``workdir``, on the pinned instruction set."""
    import os
    import subprocess
    import sys

    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            "--cores",
            "2",
            "--configfile",
            str(TINY_ALL),
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        env={**os.environ, **PINNED_ISA},
    )


def cpu_model() -> str:
    """The processor's model name (Linux), written beside the hashes: the pinned instruction set does not make every
    vendor's processors agree (an Intel Xeon and an AMD EPYC gave different hashes for the same commit, both pinned)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def write_expected(prints: dict, path: Path = EXPECTED) -> None:
    lines = [
        "# SHA-256 content hashes (tests/fingerprint.py) of every result of tests/tiny_all_config.yaml.",
        "# Regenerate only on purpose, when a change is meant to move results:  python tests/fingerprint.py --update",
        "# made with: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
        "# on: " + " ".join(f"{k}={v!r}" for k, v in PINNED_ISA.items()),
        f"# cpu: {cpu_model()}",
        "path\tsha256",
    ] + [f"{k}\t{v}" for k, v in sorted(prints.items())]
    path.write_text("\n".join(lines) + "\n")


def read_expected(path: Path = EXPECTED) -> tuple[dict, str]:
    """(hashes, the 'made with' and 'cpu' lines)."""
    rows = [line for line in path.read_text().splitlines()]
    made_with = "\n".join(r for r in rows if r.startswith(("# made with:", "# cpu:")))
    body = [r.split("\t") for r in rows if r and not r.startswith("#")][1:]
    return {k: v for k, v in body}, made_with


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--update", action="store_true", help=f"run the tiny all-branch config and rewrite {EXPECTED.relative_to(ROOT)}"
    )
    args = parser.parse_args()
    if not args.update:
        parser.error("nothing to do: pass --update to rewrite the committed table")
    with tempfile.TemporaryDirectory() as tmp:
        res = run_tiny_all(Path(tmp))
        if res.returncode:
            raise SystemExit(res.stderr[-4000:])
        prints = fingerprint(Path(tmp))
    old, _ = read_expected() if EXPECTED.exists() else ({}, "")
    write_expected(prints)
    print(f"wrote {len(prints)} hashes to {EXPECTED}; {len(differences(old, prints))} differ from before")
