"""Claims 3 and 4 of SPEC section 1 on the synthetic boxes, decided from per-sample scores.

- 3a: the LSTM and Bi-LSTM score near-zero WJac on every Table 1 box that ends before the
  last step (the paper: .000);
- 3b: input-cell attention scores better than every other model on every Table 1 dataset,
  on each metric of ``summary.metrics`` (the paper: WJac);
- 3c: input-cell attention's WJac is within 0.02 of the paper's on at least 5 of the 6
  datasets of the paper's Table 1;
- 4a: the LSTM's score improves as the box moves later; 4b: input-cell attention's is flat
  (the interval of its change over the box positions within ``flat_tolerance``).

Beside the verdicts it says, per dataset, whether WJac can tell input-cell attention's map
from a noise map at all, and whether any (model, method) pair of the method table does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics import at_chance
from ..labels import LABELS
from ..tables.claims import claim_table, claims_markdown
from .verdicts import (NOT_TESTABLE, PAPER_TABLE1, REPRODUCED, above_floor, change_across_positions, combine,
                       flat, highest_on_every_dataset, near_zero, rises)

LSTMS = ("lstm", "bilstm")
INPUTCELL = "inputcell_lstm"


def _scores(tables: dict, metric: str, kind: str = "trained") -> dict:
    """(dataset, model) -> (seeds, samples) of ``metric`` from {(dataset, model, run, method): per-sample table}."""
    out = {}
    for (dataset, model, run, _), t in tables.items():
        if (run == "untrained") == (kind == "untrained"):
            out.setdefault((dataset, model), []).append(t[metric].to_numpy())
    return {k: np.stack(v) for k, v in out.items()}


def _at_chance(tables: dict) -> dict:
    out = {}
    for (dataset, model, run, _), t in tables.items():
        if run != "untrained":
            out[(dataset, model)] = out.get((dataset, model), False) or at_chance(float(t.correct.mean()), len(t))
    return out


def synthetic_claims(table1: dict, moving: dict, noise: dict, method_table: pd.DataFrame, starts: dict, method: str,
                     settings: dict, seed: int, box_ends: dict | None = None):
    """(claim table, Markdown).  ``table1`` / ``moving``: {(dataset, model, run, method): per-sample table};
    ``noise``: dataset -> per-sample scores of the noise map; ``starts``: moving dataset -> box start;
    ``box_ends``: Table 1 dataset -> (last box step, n_time) (None: every box counts as early/middle)."""
    n_boot, level = settings["bootstrap"], settings["level"]
    chance = _at_chance(table1)
    rows, overall, notes = [], [], []
    datasets = list(dict.fromkeys(d for d, *_ in table1))

    # 3a: LSTM / Bi-LSTM near zero on boxes that do not reach the last step
    early = [d for d in datasets if box_ends is None or box_ends[d][0] < box_ends[d][1]]
    wjac = _scores(table1, "wjac")
    nz = near_zero({k: v for k, v in wjac.items() if k[0] in early}, LSTMS, settings["near_zero_wjac"], seed, n_boot,
                   level)
    for r in nz:
        rows.append({"claim": 3, "part": "3a LSTM / Bi-LSTM WJac near zero (early and middle boxes)", "metric": "wjac",
                     "scope": f"{r['dataset']}, {LABELS.get(r['model'], r['model'])}",
                     "paper": PAPER_TABLE1.get(r["model"], {}).get(r["dataset"], (None,))[0], "value": r["value"],
                     "compared_with": settings["near_zero_wjac"], "lo": r["lo"], "hi": r["hi"],
                     "verdict": r["verdict"], "reason": r["reason"]})
    v = combine(r["verdict"] for r in nz)
    overall.append({"part": "3a LSTM / Bi-LSTM WJac near zero on early and middle boxes", "verdict": v,
                    "reason": f"{sum(r['verdict'] == REPRODUCED for r in nz)} of {len(nz)} (dataset, model) pairs "
                              f"have an upper bound below {settings['near_zero_wjac']}"})

    if not any(m == INPUTCELL for _, m, *_ in table1):
        why = f"{INPUTCELL} ({LABELS[INPUTCELL]}) is not among synthetic.table1.models"
        overall += [{"part": f"3b input-cell attention scores best on every dataset ({metric})",
                     "verdict": NOT_TESTABLE, "reason": why} for metric in settings["metrics"]]
        overall.append({"part": "3c input-cell WJac within 0.02 of the paper's", "verdict": NOT_TESTABLE, "reason": why})
    else:
        # 3b: input-cell attention best on every dataset, per metric
        for metric in settings["metrics"]:
            res = highest_on_every_dataset(_scores(table1, metric), chance, INPUTCELL, metric, seed, n_boot, level)
            for r in res:
                rows.append({"claim": 3, "part": f"3b input-cell attention scores best ({metric})", "metric": metric,
                             "scope": r["dataset"],
                             "paper": PAPER_TABLE1[INPUTCELL].get(r["dataset"], (None,))[0] if metric == "wjac" else None,
                             "value": r["value"], "compared_with": f"{LABELS.get(r['closest'], r['closest'])} "
                                                                   f"{r['closest_value']:.3f}",
                             "lo": r["lo"], "hi": r["hi"], "verdict": r["verdict"], "reason": r["reason"]})
            v = combine(r["verdict"] for r in res)
            n_ok = sum(r["verdict"] == REPRODUCED for r in res)
            overall.append({"part": f"3b input-cell attention scores best on every dataset ({metric})", "verdict": v,
                            "reason": f"best with an interval excluding every other model on {n_ok} of {len(res)} datasets"
                                      + ("; some datasets not testable (input-cell attention at chance)"
                                         if any(r["verdict"] == NOT_TESTABLE for r in res) else "")})

        # 3c: the paper's own numbers
        paper = PAPER_TABLE1[INPUTCELL]
        matched = []
        for d in [d for d in datasets if d in paper]:
            mean = float(wjac[(d, INPUTCELL)].mean())
            ok = abs(mean - paper[d][0]) <= 0.02
            matched.append(ok)
            rows.append({"claim": 3, "part": "3c input-cell WJac as in the paper (within 0.02)", "metric": "wjac",
                         "scope": d, "paper": paper[d][0], "value": mean, "compared_with": paper[d][0],
                         "verdict": REPRODUCED if ok else "not reproduced",
                         "reason": f"|{mean:.3f} - {paper[d][0]:.3f}| {'<=' if ok else '>'} 0.02"})
        if matched:
            need = min(5, len(matched))
            overall.append({"part": "3c input-cell WJac within 0.02 of the paper's", "verdict":
                            REPRODUCED if sum(matched) >= need else "not reproduced",
                            "reason": f"{sum(matched)} of {len(matched)} datasets (needed: {need})"})

        # what WJac can show: input-cell attention against the noise map
        for d in datasets:
            (diff, lo, hi), better = above_floor(wjac[(d, INPUTCELL)].mean(0), noise[d]["wjac"], "wjac", seed, n_boot, level)
            auroc_ci, auroc_better = above_floor(_scores(table1, "auroc")[(d, INPUTCELL)].mean(0), noise[d]["auroc"],
                                                 "auroc", seed, n_boot, level)
            if not better:
                notes.append(f"{d}: input-cell attention's WJac ({wjac[(d, INPUTCELL)].mean():.3f}) is not above a noise "
                             f"map's ({noise[d]['wjac'].mean():.3f}; interval of the difference [{lo:+.3f}, {hi:+.3f}]): "
                             "on this dataset WJac cannot tell its map from noise, so it cannot support claim 3. "
                             f"AUROC against the noise map: [{auroc_ci[1]:+.3f}, {auroc_ci[2]:+.3f}] "
                             f"({'above' if auroc_better else 'not above'} it).")
    best = method_table[(method_table.model != "noise") & ~method_table.at_chance.fillna(True).astype(bool)]
    for d in datasets:
        b = best[best.dataset == d]
        if b.empty:
            notes.append(f"{d}: no model of the method table is above chance.")
            continue
        top = b.loc[b.auroc.idxmax()]
        notes.append(f"{d}: the best (model, method) pair of the method table is {LABELS.get(top.model, top.model)} / "
                     f"{top.method} with AUROC {top.auroc:.3f} (interval against the noise map "
                     f"[{top.auroc_vs_noise_lo:+.3f}, {top.auroc_vs_noise_hi:+.3f}]), WJac {top.wjac:.3f}.")

    # 4: the moving box
    if moving:
        mv_chance = _at_chance(moving)
        for metric in settings["metrics"]:
            s = _scores(moving, metric)
            for model, judge, part in (("lstm", "rises", "4a LSTM saliency improves as the box moves later"),
                                       (INPUTCELL, "flat", "4b input-cell attention is flat across box positions")):
                by_start = {starts[d]: v for (d, m), v in s.items() if m == model}
                if len(by_start) < 2:
                    continue
                change = change_across_positions(by_start, seed, n_boot, level)
                untestable = any(mv_chance.get((d, model), True) for d in starts)
                verdict, reason = (rises(change, metric, untestable) if judge == "rises"
                                   else flat(change, settings["flat_tolerance"][metric], untestable))
                rows.append({"claim": 4, "part": f"{part} ({metric})", "metric": metric,
                             "scope": f"{LABELS.get(model, model)}, starts {min(by_start)}-{max(by_start)}",
                             "value": change[0], "compared_with": 0.0 if judge == "rises" else
                             f"±{settings['flat_tolerance'][metric]}", "lo": change[1], "hi": change[2],
                             "verdict": verdict, "reason": reason})
                overall.append({"part": f"{part} ({metric})", "verdict": verdict,
                                "reason": f"change {change[0]:+.3f} from the first to the last start; {reason}"})
    table = claim_table(rows)
    intro = (f"Saliency method: {method} (the paper's). Scores per test sample, averaged over training seeds; every "
             f"interval is a {100 * level:.0f} % bootstrap over test samples ({n_boot} resamples). A claim is "
             "'not testable' where a model it is about is not above chance. Paper values: SPEC section 5 (Table 1).")
    text = claims_markdown("Synthetic boxes: the paper's claims 3 and 4 in this run", intro, overall, table, notes)
    return table, text
