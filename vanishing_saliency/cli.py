"""The ``vanishing-saliency`` command line: the models and the saliency evaluation without a workflow.

::

    vanishing-saliency models                                   # the architectures of the registry
    vanishing-saliency attribute MODEL.pt DATA.npz -o maps.npz  # a saved model's maps of a split
    vanishing-saliency score maps.npz                           # every metric, beside its floors

``attribute`` reads a model the workflow (or :func:`vanishing_saliency.training.save_model`) saved, a ``.pt`` with
its ``.json`` sidecar, and a dataset in either layout :mod:`vanishing_saliency.data` reads; it writes a maps file
(:mod:`vanishing_saliency.maps`).  ``score`` prints a Markdown table of every metric of a maps file beside a noise
map's on the same masks (and beside other maps given with ``--floor``, e.g. the same architecture untrained), and
the model's accuracy against chance: maps of a model at chance explain nothing.  Errors are one line naming the file.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from .data import load_split
from .errors import VanishingSaliencyError
from .io import save_table
from .labels import LABELS, SALIENCY_METHODS
from .maps import accuracy_line, load_maps, save_maps, score_maps, truth_mask
from .tables import markdown_table


def cmd_models(args) -> int:
    """Print the registry: name, label and what each architecture is."""
    from .models import REGISTRY

    rows = [[f"`{name}`", LABELS.get(name, name), arch.description] for name, arch in REGISTRY.items()]
    print("\n".join(markdown_table(["name", "label", "architecture"], rows)))
    print()
    print("saliency methods: " + ", ".join(SALIENCY_METHODS))
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: expected at least 1")
    return value


def _saved_model(path: Path):
    """(model, sidecar) of a saved model, or one error naming the file that is not one."""
    from .training import load_model

    if not path.is_file() or not path.with_suffix(".json").is_file():
        raise VanishingSaliencyError(f"{path}: expected a saved model (.pt) with its .json sidecar beside it")
    try:
        return load_model(path)
    except json.JSONDecodeError as err:
        raise VanishingSaliencyError(
            f"{path.with_suffix('.json')}: not JSON ({err}); expected the model's sidecar"
        ) from None
    except (RuntimeError, KeyError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as err:
        raise VanishingSaliencyError(
            f"{path}: not a model saved by vanishing_saliency (.pt state dict and its .json sidecar): "
            f"{type(err).__name__}: {' '.join(str(err).split())[:200]}"
        ) from None


def _target(text: str):
    if text in ("label", "predicted"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected label, predicted or a class index") from None


def cmd_attribute(args) -> int:
    """Maps of one split of a dataset by a saved model, written as a maps file."""
    import torch

    from .saliency import SaliencyOptions
    from .saliency import method as saliency_method
    from .training import predict_logits

    torch.set_num_threads(args.threads)
    model, meta = _saved_model(Path(args.model))
    split = load_split(args.data, args.split, args.split_table)
    if args.samples is not None:
        split = {k: v[: args.samples] for k, v in split.items()}
    x, y, lengths = split["x"], split["y"], split["lengths"]
    target = y if args.target == "label" else args.target
    options = SaliencyOptions(max_batch_mb=args.max_mb)
    explainer = saliency_method(args.method, model, output=args.output, options=options)
    start = time.perf_counter()
    maps = explainer.attribute(x, target=target, lengths=lengths, seed=args.seed, progress=not args.quiet)
    pred = predict_logits(model, x, lengths).argmax(1).numpy()
    explained = pred if args.target == "predicted" else np.broadcast_to(np.asarray(target), y.shape)
    extras = {k: v for k, v in split.items() if k not in ("x", "y", "lengths")}
    extras.setdefault("index", np.arange(len(y)))
    save_maps(
        args.out,
        maps.numpy(),
        y,
        lengths,
        target=np.asarray(explained),
        pred=pred,
        architecture=meta["architecture"],
        method=args.method,
        output=args.output,
        **extras,
    )
    print(
        f"{args.out}: {len(y)} maps ({args.method}, {args.output} of the {args.target} class) of "
        f"{meta['architecture']} in {time.perf_counter() - start:.1f} s; accuracy {np.mean(pred == y):.3f}",
        file=sys.stderr,
    )
    return 0


def cmd_score(args) -> int:
    """Every metric of a maps file beside its floors (Markdown on stdout, per-sample TSV with ``-o``)."""
    maps = load_maps(args.maps)
    bad = ~np.isfinite(np.asarray(maps["saliency"], np.float64))
    if bad.any():
        rows = np.flatnonzero(bad.reshape(len(bad), -1).any(1))
        raise VanishingSaliencyError(
            f"{args.maps}: {int(bad.sum())} NaN or infinite value(s) in {len(rows)} map(s) (the first: map "
            f"{rows[0]}); the scores need finite maps (an input with NaN gives a NaN map)"
        )
    mask = truth_mask(maps, args.mask_field, args.maps)
    floors = {}
    for path in args.floor or []:
        other = load_maps(path)
        name = Path(path).name.removesuffix(".npz")
        floors[name] = other["saliency"]
    per_sample, summary = score_maps(maps, mask, seed=args.seed, floors=floors)
    title = " / ".join(str(maps[k]) for k in ("architecture", "method", "output") if k in maps) or args.maps
    print(f"# {title}: {len(per_sample)} maps, scored against {args.mask_field}")
    line = accuracy_line(maps)
    if line:
        print(f"\n{line}")
    columns = ["maps", "noise", *floors]
    rows = [
        [r["metric"], r["kind"], "higher" if r["higher_is_better"] else "lower", *(f"{r[c]:.4f}" for c in columns)]
        for r in summary.to_dict("records")
    ]
    print()
    print("\n".join(markdown_table(["metric", "kind", "better", "these maps", "noise map", *floors], rows)))
    if args.out:
        save_table(args.out, per_sample)
        print(f"\nper-sample scores: {args.out}", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line's argument parser (``vanishing-saliency --help``).

    Returns
    -------
    argparse.ArgumentParser
    """
    p = argparse.ArgumentParser(
        prog="vanishing-saliency",
        description="Input-cell attention models and saliency evaluation (see the README's 'Use the models and "
        "saliency' section).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    m = sub.add_parser("models", help="list the architectures of the registry and the saliency methods")
    m.set_defaults(func=cmd_models)

    a = sub.add_parser("attribute", help="saliency maps of a split by a saved model, into a maps file")
    a.add_argument("model", help="a saved model: MODEL.pt with MODEL.json beside it")
    a.add_argument("data", help="a dataset .npz (x_<split>, y_<split>, lengths_<split>; or HCP samples)")
    a.add_argument("-o", "--out", required=True, help="the maps file to write (.npz)")
    a.add_argument("--split", default="test", help="the split to attribute (default: test)")
    a.add_argument("--split-table", help="HCP samples: the subject split TSV (subject, set)")
    a.add_argument("--method", default="gradient", choices=SALIENCY_METHODS, help="default: gradient")
    a.add_argument("--target", default="label", type=_target, help="label (default), predicted, or a class index")
    a.add_argument("--output", default="probability", choices=("probability", "logit"))
    a.add_argument("--seed", type=int, default=0, help="seed of the random methods (default 0)")
    a.add_argument("--samples", type=_positive, help="only the first N samples of the split")
    a.add_argument("--max-mb", type=float, default=256, help="memory cap of one pass in MiB (default 256)")
    a.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    a.set_defaults(func=cmd_attribute)

    s = sub.add_parser("score", help="every metric of a maps file, beside a noise map's and other floors")
    s.add_argument("maps", help="a maps file (from attribute, or the workflow's)")
    s.add_argument("--floor", action="append", help="another maps file of the same samples (repeatable)")
    s.add_argument("--mask-field", default="mask", help="the ground-truth field (default mask; HCP: on_mask)")
    s.add_argument("--seed", type=int, default=0, help="seed of the noise map (default 0)")
    s.add_argument("-o", "--out", help="also write the per-sample scores to this TSV")
    s.set_defaults(func=cmd_score)
    return p


def main(argv=None) -> int:
    """Run the command line; a user's mistake (the package's errors, a missing file, the API's ValueError and
    TypeError: shapes, feature counts, lengths, targets, NaN inputs) prints one line and exits with status 2.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status.
    """
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (VanishingSaliencyError, FileNotFoundError, ValueError, TypeError) as err:
        # a user's mistake (a file, a shape, a target...): the API's ValueError / TypeError say what and where
        print(f"vanishing-saliency {args.command}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
