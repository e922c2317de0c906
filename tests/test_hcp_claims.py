"""HCP verdicts on scripted tables: a model at chance makes a claim not testable, a map or model with no
knowledge never passes, and a clear effect is reproduced."""

import numpy as np
import pandas as pd
import pytest

from vanishing_saliency.claims.hcp import hcp_claims

SUBJECTS = [f"s{i}" for i in range(8)]
EXPERIMENTS = {"on_off": {"kind": "on_off", "tasks": ["GAMBLING", "WM"], "hrf_shift_s": 5.0, "baseline": "run"},
               "off_task": {"kind": "off_task", "tasks": ["GAMBLING", "WM"], "hrf_shift_s": 5.0, "baseline": "run"}}


def _accuracy(on_off_above=True, off_above=False):
    rows = []
    for e, above in (("on_off", on_off_above), ("off_task", off_above)):
        for m in ("lstm", "inputcell_lstm"):
            for seed in (0, 1):
                rows.append({"experiment": e, "model": m, "run": f"seed{seed}", "above_null": above,
                             "test_accuracy": 0.95 if above else 0.5, "null_lo": 0.4, "null_hi": 0.6,
                             "p_perm": 0.001 if above else 0.5})
    return pd.DataFrame(rows)


def _onoff(lstm_off, ic_on, untrained_lstm_off=0.5, ic_uniform=False, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for subject in SUBJECTS:
        def add(model, run, on):
            rows.append({"experiment": "on_off", "model": model, "run": run, "method": "gradient", "subject": subject,
                         "on_task_share": on, "off_task_share": 1 - on})
        for s in (0, 1):
            add("lstm", f"seed{s}", 1 - lstm_off + rng.normal(0, 0.01))
            add("inputcell_lstm", f"seed{s}", (0.792 if ic_uniform else ic_on) + rng.normal(0, 0.01))
            for m in ("lstm", "inputcell_lstm"):
                add(m, f"uniform seed{s}", 0.792)
                add(m, f"time-shuffled seed{s}", 0.78 + rng.normal(0, 0.01))
        add("lstm", "untrained", 1 - untrained_lstm_off + rng.normal(0, 0.01))
        add("lstm", "permuted", 0.5 + rng.normal(0, 0.01))
        add("inputcell_lstm", "untrained", 0.79 + rng.normal(0, 0.01))
        add("inputcell_lstm", "permuted", 0.79 + rng.normal(0, 0.01))
    return pd.DataFrame(rows)


def _drop(ic_own=0.095, lstm_own=0.02, cross=0.06, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for subject in SUBJECTS:
        for s in (0, 1):
            for target, source, kind, value in (("lstm", "lstm", "own", lstm_own), ("lstm", "random", "random", 0.01),
                                                ("lstm", "inputcell_lstm", "cross", cross),
                                                ("inputcell_lstm", "inputcell_lstm", "own", ic_own),
                                                ("inputcell_lstm", "random", "random", 0.01)):
                rows.append({"experiment": "on_off", "seed": s, "method": "gradient", "target": target,
                             "source": source, "kind": kind, "fraction": 0.1, "subject": subject,
                             "drop": value + rng.normal(0, 0.005)})
    return pd.DataFrame(rows)


def _verdicts(accuracy, onoff, drop, n_subjects=8, min_subjects=5):
    table, text = hcp_claims(accuracy, {"on_off": None}, {"on_off": onoff}, {"on_off": drop}, None, EXPERIMENTS,
                             "simulated", "gradient", 0.1, n_subjects, min_subjects, 0.95)
    overall = {}
    for line in text.split("## Every comparison")[0].splitlines():
        if line.startswith("| 6"):
            part, verdict = line.split(" | ")[:2]
            overall[part.lstrip("| ").split(" [")[0][:2]] = verdict.strip("*")
    return table, overall


def test_clear_effects_are_reproduced():
    _, v = _verdicts(_accuracy(), _onoff(lstm_off=0.95, ic_on=0.97, untrained_lstm_off=0.5), _drop())
    assert v == {"6a": "reproduced", "6b": "reproduced", "6c": "reproduced", "6d": "reproduced", "6e": "reproduced"}


def test_a_model_at_chance_makes_every_claim_not_testable():
    _, v = _verdicts(_accuracy(on_off_above=False), _onoff(0.95, 0.97), _drop())
    assert set(v.values()) == {"not testable"}


def test_too_few_test_subjects_is_not_testable():
    _, v = _verdicts(_accuracy(), _onoff(0.95, 0.97), _drop(), n_subjects=3)
    assert set(v.values()) == {"not testable"}


def test_one_test_subject_cannot_be_tested_even_when_allowed():
    # min_test_subjects 1 lets the run through, but a paired t-test over one subject has no spread to test
    one = lambda t: t[t.subject == SUBJECTS[0]]  # noqa: E731
    table, v = _verdicts(_accuracy(), one(_onoff(0.95, 0.97)), one(_drop()), n_subjects=1, min_subjects=1)
    assert v["6a"] == v["6b"] == "not testable"                     # one value per subject: no t-test
    assert v["6c"] == v["6d"] == "reproduced"                       # two seeds x one subject: still two pairs
    assert "1 test subjects: a paired t-test needs at least 2" in " ".join(table.reason)
    _, v = _verdicts(_accuracy(), one(_onoff(0.95, 0.97)), one(_drop()).query("seed == 0"), n_subjects=1,
                     min_subjects=1)
    assert v["6c"] == v["6d"] == "not testable"


def test_a_uniform_map_does_not_pass_the_on_task_claim():
    # 79 % on-task is what a map with no knowledge gets on 38 + 10 frames
    _, v = _verdicts(_accuracy(), _onoff(0.95, 0.0, ic_uniform=True), _drop())
    assert v["6b"] == "not reproduced"


def test_an_untrained_lstm_that_is_as_off_task_fails_the_off_task_claim():
    # the share is set by the architecture: a trained LSTM no more off-task than an untrained one is no evidence
    table, v = _verdicts(_accuracy(), _onoff(lstm_off=0.95, ic_on=0.97, untrained_lstm_off=0.99), _drop())
    assert v["6a"] == "not reproduced"
    assert "untrained" in " ".join(table[table.verdict == "not reproduced"].scope)


def test_feature_drop_no_larger_than_random_is_not_reproduced():
    _, v = _verdicts(_accuracy(), _onoff(0.95, 0.97), _drop(ic_own=0.01, lstm_own=0.01, cross=0.01))
    assert v["6c"] == "not reproduced" and v["6d"] == "not reproduced"


def test_off_task_models_above_their_null_fail_the_control():
    _, v = _verdicts(_accuracy(off_above=True), _onoff(0.95, 0.97), _drop())
    assert v["6e"] == "not reproduced"
