"""The plan of a run (``vanishing_saliency.plan``): run names, seeds, and which runs each branch trains, as pure
functions of the config.  ``tests/test_reproducibility.py`` checks that the numbers they seed do not move."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from vanishing_saliency import plan
from vanishing_saliency.workflow import derive_seed

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def default():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.mark.parametrize(
    "name, kind, index",
    [
        ("seed0", "trained", 0),
        ("seed12", "trained", 12),
        ("untrained3", "untrained", 3),
        ("permuted1", "permuted", 1),
        ("timeshuffled0", "timeshuffled", 0),
        ("uniform seed2", "uniform map", 2),
        ("time-shuffled seed1", "time-shuffled map", 1),
        ("logistic control", "logistic control", None),
    ],
)
def test_one_parser_reads_every_run_name(name, kind, index):
    assert (plan.run_kind(name), plan.run_index(name)) == (kind, index)


def test_run_seeds_are_frozen_per_rule_key_and_wildcards(default):
    seeds = plan.run_seeds(default["seed"], "hcp_train", ["seed0", "untrained3"], ["on_off", "lstm"])
    # the values the default run was made with: a renamed key or a reordered wildcard would move every number
    assert seeds == {"seed0": 1773753907, "untrained3": 944440374}
    assert seeds["seed0"] == derive_seed(2019, "hcp-train", "on_off", "lstm", "seed0")
    with pytest.raises(KeyError):
        plan.run_seeds(2019, "no_such_rule", ["seed0"])


def test_a_synthetic_pair_has_its_seeds_then_as_many_untrained_runs(default):
    assert plan.pair_runs(2) == ["seed0", "seed1", "untrained0", "untrained1"]
    assert plan.group_seeds(default, "table1", "lstm") == default["synthetic"]["seeds"] == 8
    assert plan.group_seeds(default, "table2", "lstm") == default["synthetic"]["table2"]["seeds"]
    # the moving-box models no claim reads get synthetic.moving.other_seeds; the LSTM and input-cell attention do not
    assert plan.group_seeds(default, "moving", "bilstm") == default["synthetic"]["moving"]["other_seeds"] == 3
    assert plan.group_seeds(default, "moving", "inputcell_lstm") == 8
    keys = plan.metric_keys(default, "table1")
    assert len(keys) == len(plan.synthetic_pairs(default, "table1")) * 16 * len(default["saliency"]["methods"])


def test_every_trained_synthetic_pair_is_in_one_class_with_its_most_seeds(default):
    classes = plan.synthetic_run_classes(default)
    pairs = [p for g in plan.SYNTHETIC_GROUPS for p in plan.synthetic_pairs(default, g)]
    listed = [p for members in classes.values() for p in members]
    assert sorted(listed) == sorted(set(pairs)) and len(listed) == len(set(listed))
    for count, members in classes.items():
        for d, m in members:
            assert count == max(
                plan.group_seeds(default, g, m)
                for g in plan.SYNTHETIC_GROUPS
                if (d, m) in plan.synthetic_pairs(default, g)
            )
    assert list(classes) == sorted(classes)
    assert plan.run_training({"max_epochs": 50}, "untrained1") == {"max_epochs": 0}
    assert plan.run_training({"max_epochs": 50}, "seed1") == {"max_epochs": 50}


def test_hcp_cells_have_seeds_then_controls_and_classes_group_equal_runs(default):
    lstm = plan.hcp_runs(default, "on_off", "lstm")
    assert lstm[:8] == [f"seed{k}" for k in range(8)]
    assert [plan.run_kind(r) for r in lstm[8:]] == ["permuted"] * 8 + ["untrained"] * 8 + ["timeshuffled"]
    assert plan.hcp_runs(default, "on_off", "bilstm")[8:] == ["permuted0", "untrained0", "timeshuffled0"]
    assert "timeshuffled0" not in plan.hcp_saliency_run_names(default, "on_off", "lstm")
    classes = plan.hcp_run_classes(default)
    assert [(label, len(runs)) for runs, _, _, label in classes] == [("1", 11), ("1b", 11), ("8", 25)]
    cells = {(e, m) for _, experiments, models, _ in classes for e in experiments for m in models}
    analysis = default["hcp"]["analysis"]
    assert cells == {(e, m) for e in analysis["experiments"] for m in analysis["models"]}
    for runs, experiments, models, _ in classes:
        assert all(tuple(plan.hcp_runs(default, e, m)) == runs for e in experiments for m in models)
    every = copy.deepcopy(default)
    every["hcp"]["analysis"]["control_runs"] = "all"
    assert [label for *_, label in plan.hcp_run_classes(every)] == ["8"]


def test_hcp_cells_order_runs_by_kind_then_replicate(default):
    runs = {"lstm": ["untrained1", "seed1", "untrained0", "seed0"], "bilstm": ["seed0", "permuted0"]}
    cells = plan.hcp_cells(default, lambda m: runs.get(m, []))
    assert cells == [
        ("seed0", "lstm"),
        ("seed0", "bilstm"),
        ("seed1", "lstm"),
        ("permuted0", "bilstm"),
        ("untrained0", "lstm"),
        ("untrained1", "lstm"),
    ]
