"""Paper Table 1 / Table 2, the method table and the moving-box table, each read against its floors, and the gate
every one of them (and every claim) reads.

- :func:`gates`: every run (a training seed or an untrained run of a model on a dataset) against its own
  label-permutation null, once; a cell's model learned when every run is above its null
  (:func:`vanishing_saliency.stats.learned`);
- :func:`cells`: every run is scored per test sample; a *cell* (dataset x model x trained | untrained x
  method) is the mean over its runs.  A cell against the noise floor: the interval of the mean difference
  (cell - noise map, paired by sample; :func:`vanishing_saliency.stats.mean_interval`: the t interval of the
  run means below :data:`vanishing_saliency.stats.MIN_BOOTSTRAP_RUNS` runs, a bootstrap over runs, then
  test samples from there) lies above 0 (▲, better than a map with no knowledge), below it (▼, worse) or
  across it (≈).  "Better" is higher for every metric but ``euc``.  A cell is marked † when its model did
  not learn: not every run is above its label-permutation null (the gate every claim reads).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import LABELS
from ..metrics import HIGHER_IS_BETTER, METRICS, POOLED_METRICS
from ..plan import run_kind
from ..stats import MIN_BOOTSTRAP_RUNS, bootstrap_mean_ci, learned, mean_interval, permutation_null
from ..workflow import derive_seed
from . import markdown_table

MARKS = {1: "▲", -1: "▼", 0: "≈"}
GATE_COLUMNS = ("dataset", "model", "kind", "run", "accuracy", "n_test", "null_lo", "null_hi", "p_perm", "above_null")


def gates(samples: dict, permutations: int, seed: int, level: float = 0.95) -> pd.DataFrame:
    """Every run against its own label-permutation null, once (``samples``: {(dataset, model, run, method):
    per-sample table with ``pred`` and ``label``}; a run scored by several methods is gated once).  One row per
    run, with its cell's ``runs``, ``runs_above`` and ``learned`` (every run above its null)."""
    rows = {}
    for (dataset, model, run, _), t in samples.items():
        if (dataset, model, run) in rows:
            continue
        null = permutation_null(
            t["pred"].to_numpy(),
            t["label"].to_numpy(),
            permutations,
            derive_seed(seed, "gate", dataset, model, run),
            level,
        )
        rows[(dataset, model, run)] = {
            "dataset": dataset,
            "model": model,
            "kind": run_kind(run),
            "run": run,
            "accuracy": null["accuracy"],
            "n_test": len(t),
            "null_lo": null["null_lo"],
            "null_hi": null["null_hi"],
            "p_perm": null["p_perm"],
            "above_null": bool(null["p_perm"] <= 1 - level),
        }
    table = pd.DataFrame(list(rows.values()), columns=list(GATE_COLUMNS))
    cell = table.groupby(["dataset", "model", "kind"], sort=False).above_null
    return table.assign(runs=cell.transform("size"), runs_above=cell.transform("sum"), learned=cell.transform(learned))


def label(model: str, run: str = "") -> str:
    if model == "noise":
        return "noise map (absolute N(0,1))"
    return ("untrained " if run_kind(run) == "untrained" else "") + LABELS.get(model, model)


def read_runs(keys, paths, sidecars=None) -> tuple[pd.DataFrame, dict]:
    """Per-run summary rows and the per-sample tables, from metric TSVs (``keys`` = (dataset, model,
    run, method), same order as ``paths``; ``sidecars``: the model sidecars, same order)."""
    rows, samples = [], {}
    for i, ((dataset, model, run, method), path) in enumerate(zip(keys, paths, strict=True)):
        t = pd.read_csv(path, sep="\t")
        samples[(dataset, model, run, method)] = t
        acc = float(t.correct.mean())
        row = {
            "dataset": dataset,
            "model": model,
            "label": label(model, run),
            "run": run,
            "method": method,
            "accuracy": acc,
            "n_test": len(t),
        }
        if sidecars is not None:
            meta = sidecars[i]
            row.update(
                selection=meta.get("selection"), epoch_kept=meta.get("best_epoch"), epochs_run=meta.get("epochs_run")
            )
        row.update({m: float(t[m].mean()) for m in METRICS + POOLED_METRICS if m in t})
        rows.append(row)
    return pd.DataFrame(rows), samples


def read_noise(datasets, paths) -> dict:
    return {d: pd.read_csv(p, sep="\t") for d, p in zip(datasets, paths, strict=True)}


def _mark(diff: float, lo: float, hi: float, metric: str) -> dict:
    """The mark an interval ``lo``-``hi`` of a difference from the noise map earns (NaN bounds: ≈)."""
    sign = 1 if HIGHER_IS_BETTER[metric] else -1
    better = (lo > 0) if sign > 0 else (hi < 0)
    worse = (hi < 0) if sign > 0 else (lo > 0)
    return {"diff": diff, "lo": lo, "hi": hi, "mark": 1 if better else (-1 if worse else 0)}


def compare(values: np.ndarray, floor: np.ndarray, metric: str, seed: int, n_boot: int, level: float) -> dict:
    """Bootstrap interval of mean(values - floor) over paired samples (one run) and the mark it earns."""
    return _mark(*bootstrap_mean_ci(np.asarray(values) - np.asarray(floor), seed, n_boot, level), metric)


def cells(
    runs: pd.DataFrame,
    samples: dict,
    noise: dict,
    gate: pd.DataFrame,
    seed: int,
    n_boot: int = 2000,
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per (dataset, model, trained | untrained, method) plus the noise rows: mean ± sd over runs of every
    metric, each against the noise map (interval and mark; none with ``n_boot = 0``), and whether the model learned
    (``learned``, from the gates table ``gate``: every run above its label-permutation null; † in the Markdown)."""
    rows = []
    runs = runs.assign(kind=[run_kind(r) for r in runs.run])
    learned_ = {
        (r.dataset, r.model, r.kind): (bool(r.learned), int(r.runs_above))
        for r in gate.drop_duplicates(["dataset", "model", "kind"]).itertuples()
    }
    for (dataset, model, kind, method), g in runs.groupby(["dataset", "model", "kind", "method"], sort=False):
        per_sample = [samples[(dataset, model, r, method)] for r in g.run]
        ok, above = learned_.get((dataset, model, kind), (False, 0))
        row = {
            "dataset": dataset,
            "model": model,
            "label": label(model, kind),
            "kind": kind,
            "method": method,
            "n_seeds": len(g),
            "accuracy": g.accuracy.mean(),
            "accuracy_sd": g.accuracy.std(ddof=1) if len(g) > 1 else 0.0,
            "runs_above_null": above,
            "learned": ok,
            "n_test": int(g.n_test.iloc[0]),
            "interval": "bootstrap over runs, then samples" if len(g) >= MIN_BOOTSTRAP_RUNS else "t on run means",
        }
        if "epoch_kept" in g:
            row.update(selection=g.selection.iloc[0], epoch_kept=";".join(str(e) for e in g.epoch_kept))
        for m in METRICS:
            if m not in g:
                continue
            row[m], row[f"{m}_sd"] = g[m].mean(), (g[m].std(ddof=1) if len(g) > 1 else 0.0)
            if not n_boot:
                continue
            scores = np.stack([t[m].to_numpy(np.float64) for t in per_sample])
            c = _mark(
                *mean_interval(
                    scores,
                    derive_seed(seed, dataset, model, kind, method, m),
                    n_boot,
                    level,
                    floor=noise[dataset][m].to_numpy(np.float64),
                ),
                m,
            )
            row.update(
                {
                    f"{m}_vs_noise": c["diff"],
                    f"{m}_vs_noise_lo": c["lo"],
                    f"{m}_vs_noise_hi": c["hi"],
                    f"{m}_mark": MARKS[c["mark"]],
                }
            )
        for m in POOLED_METRICS:  # descriptive, beside the noise map's: one value per run, no verdict
            if m in g:
                row[m], row[f"{m}_sd"] = g[m].mean(), (g[m].std(ddof=1) if len(g) > 1 else 0.0)
        rows.append(row)
    for dataset, t in noise.items():
        row = {
            "dataset": dataset,
            "model": "noise",
            "label": label("noise"),
            "kind": "noise",
            "method": "noise map",
            "n_seeds": 1,
            "n_test": len(t),
        }
        row.update({m: float(t[m].mean()) for m in METRICS + POOLED_METRICS if m in t})
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(r, metric: str, pct: bool = False) -> str:
    if r is None or pd.isna(r.get(metric)):
        return ""
    scale = 100 if pct else 1
    digits = 1 if pct else 3
    text = f"{scale * r[metric]:.{digits}f}"
    if r.get("n_seeds", 1) > 1 and f"{metric}_sd" in r and not pd.isna(r[f"{metric}_sd"]):
        text += f" ± {scale * r[f'{metric}_sd']:.{digits}f}"
    mark = r.get(f"{metric}_mark")
    return text + (f" {mark}" if isinstance(mark, str) else "")


def markdown(table: pd.DataFrame, title: str) -> str:
    """Paper layout (rows = models, then their untrained floors and the noise map; columns = datasets):
    WJac / Euc / accuracy %, then AUROC / AP, each with its mark against the noise map."""
    seeds = int(table[table.kind == "trained"].n_seeds.max())
    how = (
        "a bootstrap over runs, then test samples"
        if seeds >= MIN_BOOTSTRAP_RUNS
        else f"the t distribution on run means (a bootstrap over fewer than {MIN_BOOTSTRAP_RUNS} runs is too narrow)"
    )
    selection = table.selection.dropna().iloc[0] if "selection" in table and table.selection.notna().any() else "?"
    out = [
        f"# {title}",
        "",
        f"Mean ± sd over {seeds} training seed(s) of the per-sample scores (checkpoint: {selection}); untrained "
        "rows: as many runs at initial weights. Marks against the noise map |N(0,1)| on the same test samples, "
        f"95 % interval of the difference from {how}: ▲ better, ≈ not distinguishable, ▼ worse. † the model "
        "did not learn: not every run is above its own label-permutation null (p > 0.05; the gate every claim "
        "reads, results/synthetic/gates.tsv): its saliency is meaningless. WJac (higher is better) and Euc (lower is "
        "better) are the paper's metrics; a map with no knowledge scores WJac ~0.12-0.15 on these boxes. "
        "AUROC (0.5 = no knowledge) and AP (floor = the box's share of the entries) are calibrated. "
        "AUP / AUR (pooled) are the time-series interpretability literature's (Dynamask, ExtremalMask, "
        "time-interpret): each map scaled to its range, the test set pooled, precision and recall integrated over "
        "the threshold; one value per run, set beside the noise map's without a mark (no per-sample replicate).",
        "",
    ]
    datasets = list(dict.fromkeys(table.dataset))
    for method in [m for m in dict.fromkeys(table.method) if m != "noise map"]:
        part = table[(table.method == method) | (table.kind == "noise")]
        order = [(m, k) for m, k in dict.fromkeys(zip(part.model, part.kind, strict=True)) if k == "trained"]
        order += [(m, "untrained") for m, _ in order if ((part.model == m) & (part.kind == "untrained")).any()]
        order += [("noise", "noise")]
        for heading, parts in (
            ("WJac / Euc / accuracy %", (("wjac", False), ("euc", False), ("accuracy", True))),
            ("AUROC / AP", (("auroc", False), ("ap", False))),
            ("AUP / AUR (pooled, the literature's)", (("aup_pooled", False), ("aur_pooled", False))),
        ):
            if not all(m in part for m, _ in parts):
                continue
            rows = []
            for model, kind in order:
                cells_ = []
                for d in datasets:
                    r = part[(part.model == model) & (part.kind == kind) & (part.dataset == d)]
                    if r.empty:
                        cells_.append("")
                        continue
                    r = r.iloc[0].to_dict()
                    text = " / ".join(_cell(r, m, pct) for m, pct in parts if not (kind == "noise" and m == "accuracy"))
                    cells_.append(text + (" †" if r.get("learned") is False else ""))
                rows.append([label(model, "untrained" if kind == "untrained" else ""), *cells_])
            out += [f"## {method}: {heading}", "", *markdown_table(["model", *datasets], rows), ""]
    return "\n".join(out)


# ---- the method table -------------------------------------------------------------------


def method_cells(
    pairs, frames, noise: dict, gate: pd.DataFrame, seed: int, n_boot: int = 2000, level: float = 0.95
) -> pd.DataFrame:
    """One row per (dataset, model, method) of the method table (training seed 0): mean metrics on the scored test
    samples, AUROC and WJac against the noise map on the same samples, and whether seed 0 is above its
    label-permutation null on the whole test set (``learned``, from the gates table ``gate``)."""
    above = {(r.dataset, r.model): bool(r.above_null) for r in gate[gate.run == "seed0"].itertuples()}
    rows = []
    for (dataset, model), t in zip(pairs, frames, strict=True):
        floor = noise[dataset].set_index("sample").loc[t["sample"].unique()]
        for method, g in t.groupby("method", sort=False):
            g = g.set_index("sample").loc[floor.index]
            row = {
                "dataset": dataset,
                "model": model,
                "label": LABELS.get(model, model),
                "method": method,
                "n_test": len(g),
                "accuracy": float(g.correct.mean()),
                "learned": above.get((dataset, model), False),
            }
            for m in METRICS:
                row[m] = float(g[m].mean())
            for m in ("auroc", "wjac"):
                c = compare(g[m].to_numpy(), floor[m].to_numpy(), m, seed, n_boot, level)
                row.update({f"{m}_vs_noise_lo": c["lo"], f"{m}_vs_noise_hi": c["hi"], f"{m}_mark": MARKS[c["mark"]]})
            rows.append(row)
    for dataset, t in noise.items():
        some = frames[[d for d, _ in pairs].index(dataset)]
        floor = t.set_index("sample").loc[some["sample"].unique()]
        rows.append(
            {
                "dataset": dataset,
                "model": "noise",
                "label": label("noise"),
                "method": "noise map",
                "n_test": len(floor),
                **{m: float(floor[m].mean()) for m in METRICS},
            }
        )
    return pd.DataFrame(rows)


def method_markdown(table: pd.DataFrame) -> str:
    datasets = list(dict.fromkeys(table.dataset))
    n = int(table.n_test.max())
    out = [
        "# Method table: every attribution method, scored the same way",
        "",
        f"Training seed 0 of Table 1's models, the first {n} test samples of each dataset. Cells: mean per-sample "
        "AUROC / WJac; marks against the noise map on the same samples (bootstrap 95 % interval of the "
        "difference over these samples: one run, no claim reads it: ▲ better, ≈ not distinguishable, ▼ worse); "
        "† seed 0 is not above its label-permutation null on the whole test set (results/synthetic/gates.tsv).",
        "",
    ]
    trained = table[table.model != "noise"]
    rows = []
    for (model, method), _ in trained.groupby(["model", "method"], sort=False):
        cells_ = []
        for d in datasets:
            r = trained[(trained.model == model) & (trained.method == method) & (trained.dataset == d)]
            if r.empty:
                cells_.append("")
                continue
            r = r.iloc[0]
            cells_.append(
                f"{r.auroc:.3f} {r.auroc_mark} / {r.wjac:.3f} {r.wjac_mark}" + (" †" if not r.learned else "")
            )
        rows.append([LABELS.get(model, model), method, *cells_])
    floor = table[table.model == "noise"].set_index("dataset")
    rows.append(
        [
            label("noise"),
            "-",
            *(
                f"{floor.loc[d, 'auroc']:.3f} / {floor.loc[d, 'wjac']:.3f}" if d in floor.index else ""
                for d in datasets
            ),
        ]
    )
    out += markdown_table(["model", "method", *datasets], rows)
    best = best_pairs(table)
    out += [
        "",
        "Best (model, method) per dataset by mean AUROC (models above chance only):",
        "",
    ]
    out += markdown_table(
        ["dataset", "model", "method", "AUROC", "interval vs noise", "WJac"],
        (
            [
                r.dataset,
                LABELS.get(r.model, r.model),
                r.method,
                f"{r.auroc:.3f}",
                f"[{r.auroc_vs_noise_lo:+.3f}, {r.auroc_vs_noise_hi:+.3f}]",
                f"{r.wjac:.3f}",
            ]
            for r in best.itertuples()
        ),
    )
    return "\n".join(out) + "\n"


def best_pairs(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, the (model, method) with the highest mean AUROC among models above chance."""
    ok = table[(table.model != "noise") & table.learned.fillna(False).astype(bool)]
    if ok.empty:
        return ok
    return ok.loc[ok.groupby("dataset", sort=False).auroc.idxmax()]


# ---- the moving box ---------------------------------------------------------------------


def moving_box(cells_table: pd.DataFrame, starts: dict) -> pd.DataFrame:
    """The moving-box cells (trained, untrained and noise) with each dataset's box start."""
    out = cells_table.copy()
    out.insert(1, "box_start", out.dataset.map(starts))
    return out.sort_values(["kind", "model", "box_start"], kind="stable")


# ---- the summary's notes ----------------------------------------------------------------


def summary_notes(method_table: pd.DataFrame, datasets) -> list[str]:
    """Per dataset, the best (model, method) pair of the method table among models above chance."""
    best = method_table[(method_table.model != "noise") & method_table.learned.fillna(False).astype(bool)]
    notes = []
    for d in datasets:
        b = best[best.dataset == d]
        if b.empty:
            notes.append(f"{d}: no model of the method table is above chance.")
            continue
        top = b.loc[b.auroc.idxmax()]
        notes.append(
            f"{d}: the best (model, method) pair of the method table is {LABELS.get(top.model, top.model)} / "
            f"{top.method} with AUROC {top.auroc:.3f} (interval against the noise map "
            f"[{top.auroc_vs_noise_lo:+.3f}, {top.auroc_vs_noise_hi:+.3f}]), WJac {top.wjac:.3f}."
        )
    return notes
