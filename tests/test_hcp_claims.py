"""HCP verdicts (claim 6) on scripted run-level tables, by SPEC section 10's decision table: a planted effect
reproduces every claim; a model at chance, a map as the untrained architecture or a uniform map makes it, drops no
larger than random, missing controls, single runs or too few subjects never do; and knowledge against a claim (a
reversed comparison, also behind a failed floor; a learned map equivalent to a uniform one) gives "not
reproduced"."""

import numpy as np
import pandas as pd
import pytest

from vanishing_saliency.claims.hcp import hcp_claims

EXPERIMENTS = {
    "on_off": {"kind": "on_off", "tasks": ["GAMBLING", "WM"], "hrf_shift_s": 5.0, "baseline": "run"},
    "off_task": {"kind": "off_task", "tasks": ["GAMBLING", "WM"], "hrf_shift_s": 5.0, "baseline": "run"},
}
MODELS = ("lstm", "inputcell_lstm")
CONTROLS = ("permuted", "untrained")
SETTINGS = {
    "level": 0.95,
    "equivalence_margin": 0.1,
    "min_test_subjects": 5,
    "smallest_effect": {"share": 0.05, "relative_drop": 0.05},
}
CLAIMS = ("6a", "6a-learned", "6b", "6c", "6d", "6e")
UNIFORM_ON = 38 / 48


def _accuracy(on_off=0.95, off_task=(0.50, 0.51, 0.49), seeds=3, on_off_above=True):
    rows = []
    for e in ("on_off", "off_task"):
        for m in MODELS:
            accs = [on_off] * seeds if e == "on_off" else list(off_task)[:seeds]
            above = on_off_above if e == "on_off" else False
            for kind, values, p in (
                ("seed", accs, 0.001 if above else 0.5),
                ("permuted", [0.5] * seeds, 0.5),
                ("untrained", [0.5] * seeds, 0.5),
            ):
                for k, acc in enumerate(values):
                    rows.append(
                        {
                            "experiment": e,
                            "model": m,
                            "run": f"{kind}{k}",
                            "test_accuracy": acc,
                            "chance": 0.5,
                            "null_lo": 0.4,
                            "null_hi": 0.6,
                            "p_perm": p,
                            "above_null": p <= 0.05,
                        }
                    )
    return pd.DataFrame(rows)


def _shares(lstm_on=0.05, ic_on=0.97, untrained=(0.5, 0.79), permuted=(0.5, 0.79), seeds=3, seed=0):
    """One row per run (its mean over every test sample): trained seeds with their uniform and time-shuffled
    maps, and the untrained and permuted runs; ``untrained`` / ``permuted``: (LSTM, input-cell) on-task share."""
    rng = np.random.default_rng(seed)
    rows = []

    def add(model, run, on):
        rows.append(
            {
                "experiment": "on_off",
                "model": model,
                "run": run,
                "method": "gradient",
                "on_task_share": on,
                "off_task_share": 1 - on,
            }
        )

    for i, (m, on) in enumerate((("lstm", lstm_on), ("inputcell_lstm", ic_on))):
        for k in range(seeds):
            add(m, f"seed{k}", on + rng.normal(0, 0.01))
            add(m, f"uniform seed{k}", UNIFORM_ON)
            add(m, f"time-shuffled seed{k}", UNIFORM_ON + rng.normal(0, 0.01))
            add(m, f"untrained{k}", untrained[i] + rng.normal(0, 0.01))
            add(m, f"permuted{k}", permuted[i] + rng.normal(0, 0.01))
    return pd.DataFrame(rows)


def _drops(ic_own=0.4, lstm_own=0.1, cross=0.3, random=0.05, untrained=0.05, seeds=3, seed=0):
    """Relative drops at the top fraction, per seed: each target with its own, the other model's, the untrained
    maps' and random entries."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(seeds):
        for target, own in (("lstm", lstm_own), ("inputcell_lstm", ic_own)):
            other = "inputcell_lstm" if target == "lstm" else "lstm"
            for source, kind, value in (
                (target, "own", own),
                (other, "cross", cross if target == "lstm" else 0.1),
                ("random", "random", random),
                ("lstm", "untrained", untrained),
                ("inputcell_lstm", "untrained", untrained),
            ):
                rows.append(
                    {
                        "experiment": "on_off",
                        "seed": k,
                        "method": "gradient",
                        "target": target,
                        "source": source,
                        "kind": kind,
                        "fraction": 0.1,
                        "relative_drop": value + rng.normal(0, 0.01),
                    }
                )
    return pd.DataFrame(rows)


def _verdicts(accuracy=None, shares=None, drops=None, controls=CONTROLS, n_subjects=10):
    claims = hcp_claims(
        _accuracy() if accuracy is None else accuracy,
        {"on_off": _shares() if shares is None else shares},
        {"on_off": _drops() if drops is None else drops},
        EXPERIMENTS,
        controls,
        "gradient",
        0.1,
        n_subjects,
        SETTINGS,
    )
    return {c.id: c for c in claims}


def test_planted_effects_reproduce_every_hcp_claim():
    v = _verdicts()
    assert {k: c.verdict for k, c in v.items()} == {k: "reproduced" for k in CLAIMS}, {
        k: c.reason for k, c in v.items()
    }
    # every null of a share is there, each with its value, test and Holm-adjusted p
    assert {c.against for c in v["6a"].comparisons} == {"uniform map", "time-shuffled map", "threshold 0.70"}
    assert {c.against for c in v["6a-learned"].comparisons} == {
        "untrained LSTM",
        "permuted LSTM",
        "untrained LSTM (within ±0.05)",
        "permuted LSTM (within ±0.05)",
    }
    within = {"uniform map (within ±0.05)", "time-shuffled map (within ±0.05)"}
    assert {c.against for c in v["6b"].comparisons} >= within
    assert all(c.p_adj >= c.result.p for c in v["6a"].comparisons)
    assert v["6a"].n_subjects == 10 and all(c.result.n == 3 for c in v["6a"].comparisons)
    assert "seed0 0.950 (null up to 0.600" in v["6a"].models[0].accuracies()


@pytest.mark.parametrize("case", ["models at chance", "maps as untrained", "uniform maps", "drops as random"])
def test_no_knowledge_never_reproduces_an_hcp_claim(case):
    if case == "models at chance":  # label-permuted models in place of the trained ones
        v = _verdicts(accuracy=_accuracy(on_off=0.5, on_off_above=False))
        assert {c.verdict for c in v.values()} == {"not testable"}
        assert "0 of 3 run(s) above their label-permutation null" in v["6a"].scopes[0].reason
        assert "did not all learn" in v["6e"].scopes[0].reason
        return
    if case == "maps as untrained":  # the share the architecture gives with any weights
        v, affected = _verdicts(shares=_shares(lstm_on=0.02, ic_on=0.86, untrained=(0.02, 0.86))), ("6a-learned", "6b")
        # the LSTM's map is off-task (the descriptive line holds), but no more than at initial weights: its share is
        # equivalent to the untrained and permuted runs', which counts against the line that says it is learned
        assert v["6a"].verdict == "reproduced"
        learned = v["6a-learned"].scopes[0]
        assert learned.verdict == "not reproduced" and learned.step == "equivalent to its floor", learned.reason
        assert "untrained LSTM (within ±0.05)" in learned.cause
    elif case == "uniform maps":  # every entry as salient as every other
        v, affected = _verdicts(shares=_shares(lstm_on=UNIFORM_ON, ic_on=UNIFORM_ON)), ("6a", "6a-learned", "6b")
        assert v["6b"].verdict == "not testable (underpowered)"  # 3 runs cannot show the equivalence after Holm ...
        v8 = _verdicts(accuracy=_accuracy(seeds=8), shares=_shares(lstm_on=UNIFORM_ON, ic_on=UNIFORM_ON, seeds=8))
        # ... 8 can: a learned model whose map is a uniform one counts against 6b, which says the map finds the task
        assert v8["6b"].verdict == "not reproduced" and v8["6b"].scopes[0].step == "equivalent to its floor"
    else:  # removing the salient entries hurts no more than removing random ones
        v, affected = _verdicts(drops=_drops(ic_own=0.05, lstm_own=0.05, cross=0.05)), ("6c", "6d")
        assert "random entries" in v["6c"].scopes[0].cause
    assert "reproduced" not in {v[k].verdict for k in affected}, {k: v[k].reason for k in affected}


def test_an_untrained_map_that_drops_as_much_is_not_evidence():
    v = _verdicts(drops=_drops(untrained=0.4))
    assert v["6c"].verdict == "not testable (underpowered)"  # as much as input-cell's own: not beyond it
    assert "untrained LSTM+In.Cell At.'s entries" in v["6c"].scopes[0].cause
    # more than input-cell's entries cost the LSTM: below a floor that more runs cannot pass
    assert v["6d"].verdict == "not testable" and v["6d"].scopes[0].step == "below a floor"


def test_knowledge_against_the_claims_fails_them_before_their_floors():
    v = _verdicts(shares=_shares(lstm_on=0.45))  # off-task 55 %: beyond every floor, short of 70 %
    assert v["6a"].verdict == "not reproduced" and "threshold 0.70" in v["6a"].scopes[0].cause
    v = _verdicts(shares=_shares(ic_on=0.6))  # input-cell less on-task than a uniform map
    assert v["6b"].verdict == "not reproduced" and v["6b"].scopes[0].step == "reversed"
    v = _verdicts(drops=_drops(ic_own=0.15, lstm_own=0.4))  # its own entries hurt the LSTM more
    assert v["6c"].verdict == "not reproduced"
    v = _verdicts(drops=_drops(cross=0.12, lstm_own=0.4))  # input-cell's entries hurt the LSTM less than its own
    assert v["6d"].verdict == "not reproduced"
    v = _verdicts(accuracy=_accuracy(off_task=(0.90, 0.92, 0.91)))  # the off-task frames carry the task
    assert v["6e"].verdict == "not reproduced"
    # behind a failed floor (the default run's 6c): input-cell's own entries drop no more than random ones, and
    # the LSTM's own drop beyond random is larger: reversed, decided before the floor
    v = _verdicts(drops=_drops(ic_own=0.05, lstm_own=0.25, random=0.05, cross=0.0))
    for k in ("6c", "6d"):
        scope = v[k].scopes[0]
        assert v[k].verdict == "not reproduced" and scope.step == "reversed", (k, v[k].reason)
        assert "adjusted p" in scope.reason and "the other" in scope.reason


def test_chance_that_three_scattered_runs_cannot_show_is_underpowered():
    v = _verdicts(accuracy=_accuracy(off_task=(0.35, 0.65, 0.5)))
    assert v["6e"].verdict == "not testable (underpowered)", v["6e"].reason
    assert v["6e"].scopes[0].runs_needed > 3


def test_a_control_left_out_of_the_config_makes_its_claims_not_testable():
    v = _verdicts(controls=("untrained",))
    assert v["6a-learned"].verdict == v["6b"].verdict == "not testable"
    assert v["6a"].verdict == "reproduced"  # the descriptive line needs no control run
    assert "the permuted control is not in hcp.analysis.controls" in v["6b"].scopes[0].reason
    v = _verdicts(controls=("permuted",))
    assert v["6c"].verdict == v["6d"].verdict == "not testable"
    assert "the untrained control is not in hcp.analysis.controls" in v["6c"].scopes[0].reason


def test_one_run_or_too_few_subjects_is_not_testable():
    v = _verdicts(accuracy=_accuracy(seeds=1, off_task=(0.5,)), shares=_shares(seeds=1), drops=_drops(seeds=1))
    assert {c.verdict for c in v.values()} == {"not testable"}
    assert "a run-level test needs at least 2" in v["6a"].scopes[0].reason
    v = _verdicts(n_subjects=3)
    assert {c.verdict for c in v.values()} == {"not testable"}
    assert "only 3 test subjects" in v["6b"].scopes[0].reason
