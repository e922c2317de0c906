"""Unit tests of every config check in vanishing_saliency.configcheck (the Snakemake runs of tests/test_config.py
and tests/test_hcp_workflow.py check that the workflow calls them and reports their messages)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from vanishing_saliency.configcheck import (
    PARTIAL_CONFIG_HINT,
    blame,
    check_config,
    check_dataset_defined,
    check_schema,
    hcp_subjects,
    models_for_dataset,
    reported,
)
from vanishing_saliency.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def default():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.mark.parametrize("name", ["config.yaml", "configs/paper.yaml", "tests/tiny_all_config.yaml"])
def test_shipped_configs_pass_every_check(name):
    cfg = yaml.safe_load((ROOT / name).read_text())
    check_schema(cfg)
    check_config(cfg)


@pytest.mark.parametrize(
    "edit, message, key",
    [
        (
            lambda c: c["synthetic"]["table1"]["datasets"].append("nowhere"),
            "synthetic.table1.datasets names 'nowhere', which is not defined under synthetic.datasets",
            "synthetic.table1.datasets",
        ),
        (
            lambda c: c["synthetic"].__setitem__("heatmap_datasets", ["nowhere"]),
            "synthetic.heatmap_datasets names 'nowhere', which no table or moving-box experiment trains on",
            "synthetic.heatmap_datasets",
        ),
        (
            lambda c: c["synthetic"]["epoch_curve"].__setitem__("dataset", "nowhere"),
            "synthetic.epoch_curve.dataset names 'nowhere'",
            "synthetic.epoch_curve.dataset",
        ),
        (
            lambda c: c["synthetic"]["partial_window"].__setitem__("dataset", "nowhere"),
            "synthetic.partial_window.dataset names 'nowhere'",
            "synthetic.partial_window.dataset",
        ),
        (
            lambda c: c["synthetic"]["table2"].__setitem__("seeds", c["synthetic"]["seeds"] + 1),
            "(Table 2 shares its first seeds with Table 1)",
            "synthetic.table2.seeds",
        ),
        (
            lambda c: c["saliency"].__setitem__("gradient_shap_baseline", None),
            "gradient_shap is a method but saliency.gradient_shap_baseline is not set",
            "saliency.gradient_shap_baseline",
        ),
        (
            lambda c: c["synthetic"]["summary"]["flat_margin"].clear(),
            "synthetic.summary.flat_margin has no margin for 'auroc'",
            "synthetic.summary.flat_margin",
        ),
        (
            lambda c: c["synthetic"]["datasets"]["earlier"]["patterns"][0][0].__setitem__("time", [0, 10_000]),
            "synthetic.datasets.earlier.patterns[0][0].time = [0, 10000) is outside the sequence",
            "synthetic.datasets.earlier.patterns[0][0].time",
        ),
        (
            lambda c: c["hcp"]["analysis"]["experiments"].append("nowhere"),
            "hcp.analysis.experiments names 'nowhere', which is not defined under hcp.experiments",
            "hcp.analysis.experiments",
        ),
        (
            lambda c: (
                c["hcp"]["experiments"].__setitem__("onoff", c["hcp"]["experiments"]["on_off"]),
                c["hcp"]["analysis"]["experiments"].append("onoff"),
            ),
            "hcp.analysis.experiments 'on_off' and 'onoff' both name their saliency maps desc-onoff",
            "hcp.analysis.experiments",
        ),
        (
            lambda c: c["hcp"]["blocks"].__setitem__("hrf_shift_s", 20.0),
            "an HRF shift of 20 s pushes the last",
            None,
        ),
        (
            lambda c: c["dynamics"]["audit"].append("mnist/gru"),
            "dynamics.audit mnist/gru: gru is not in mnist.models",
            "dynamics.audit",
        ),
        (
            lambda c: c["dynamics"]["audit"].append("synthetic/earlier/gru"),
            "dynamics.audit synthetic/earlier/gru: no gru is trained on synthetic dataset earlier",
            "dynamics.audit",
        ),
        (
            lambda c: c["dynamics"]["audit"].append("hcp/nowhere/lstm"),
            "dynamics.audit hcp/nowhere/lstm: hcp.analysis trains",
            "dynamics.audit",
        ),
    ],
)
def test_each_cross_key_check_fails_a_bad_config_and_names_the_key(default, edit, message, key):
    cfg = copy.deepcopy(default)
    check_config(cfg)  # the unedited config passes
    edit(cfg)
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    assert message in str(err.value)
    assert err.value.key == key


def test_checks_of_a_disabled_branch_do_not_run(default):
    cfg = copy.deepcopy(default)
    cfg["hcp"]["analysis"]["experiments"].append("nowhere")
    cfg["dynamics"]["audit"].append("hcp/nowhere/lstm")
    cfg["hcp"]["enabled"] = False
    check_config(cfg)


def test_a_dataset_asked_for_must_be_defined(default):
    check_dataset_defined(default, "earlier")
    with pytest.raises(ConfigError, match="synthetic dataset 'nowhere' is used but not defined"):
        check_dataset_defined(default, "nowhere")


def test_models_for_dataset_in_first_use_order(default):
    syn = default["synthetic"]
    first = syn["table1"]["datasets"][0]
    assert models_for_dataset(default, first)[: len(syn["table1"]["models"])] == syn["table1"]["models"]
    assert models_for_dataset(default, "nowhere") == []


def test_a_missing_key_says_how_to_change_a_few_keys(tmp_path):
    with pytest.raises(ConfigError) as err:
        check_schema({"seed": 3})
    assert "the key `" in str(err.value) and PARTIAL_CONFIG_HINT in str(err.value)
    assert "--config key=value" in PARTIAL_CONFIG_HINT and "copy of config.yaml" in PARTIAL_CONFIG_HINT


def test_a_schema_error_carries_the_key_and_is_blamed_on_the_command_line_when_set_there(default, capsys):
    cfg = copy.deepcopy(default)
    cfg["training"]["lr"] = "fast"
    with pytest.raises(ConfigError) as err:
        check_schema(cfg)
    assert err.value.key == "training.lr"
    assert (
        blame("my.yaml", "training.lr", {"training": {"lr": "fast"}})
        == "the command line (--config training.lr='fast')"
    )
    assert blame("my.yaml", "training.lr", {"seed": 4}) == "my.yaml"
    assert blame("my.yaml", "training.lr", None) == "my.yaml"
    assert blame("my.yaml", "training", {"training": {"lr": "fast"}}).startswith("the command line")
    with pytest.raises(SystemExit), reported("config.yaml (the embedded default)", {"training": {"lr": "fast"}}):
        check_schema(cfg)
    assert capsys.readouterr().err.startswith("config error in the command line (--config training.lr='fast'): ")


def _raw(tmp_path, names):
    for name in names:
        (tmp_path / name / "MNINonLinear" / "Results").mkdir(parents=True)
    return tmp_path


def _hcp_cfg(default, **hcp):
    cfg = copy.deepcopy(default)
    cfg["hcp"].update(hcp)
    return cfg


def test_hcp_subjects_of_each_source(default, tmp_path):
    assert hcp_subjects(default)[0][:2] == ["900001", "900002"]
    root = _raw(tmp_path, ["100307", "100408", "101915", "100002_v2"])
    assert hcp_subjects(_hcp_cfg(default, source="raw", root=str(root))) == (
        ["100307", "100408", "101915"],
        ["100002_v2"],
    )
    sheet = tmp_path / "subjects.tsv"
    sheet.write_text("subject\tage\n100307\t22\n101915\t30\n100408\t25\n")
    cfg = _hcp_cfg(default, source="raw", root=str(root), subjects_sheet=str(sheet))
    assert hcp_subjects(cfg)[0] == ["100307", "101915", "100408"]


@pytest.mark.parametrize(
    "hcp, message",
    [
        ({"subjects": ["100307", "100307", "100408"]}, "subject 100307 is listed twice"),
        ({"subjects": ["100307", "1003-07", "100408"]}, "'1003-07' is not a subject ID"),
        (
            {"subjects": ["100307", "100408", "101915", "102311"]},
            "hcp.subjects: 1 listed subject(s) have no folder under hcp.root",
        ),
        ({"subjects": ["100307", "100408", "101915"], "exclude": ["101915"]}, "2 subject(s) after hcp.exclude"),
    ],
)
def test_bad_hcp_subject_lists_are_config_errors(default, tmp_path, hcp, message):
    root = _raw(tmp_path, ["100307", "100408", "101915"])
    with pytest.raises(ConfigError) as err:
        hcp_subjects(_hcp_cfg(default, source="raw", root=str(root), **hcp))
    assert message in str(err.value)


def test_a_subjects_sheet_without_the_subject_column_is_a_config_error(default, tmp_path):
    sheet = tmp_path / "subjects.tsv"
    sheet.write_text("participant\n100307\n")
    with pytest.raises(ConfigError, match="row 1: 'subject' is a required property"):
        hcp_subjects(_hcp_cfg(default, source="raw", root=str(tmp_path), subjects_sheet=str(sheet)))


# ---- the HCP input layout (hcp.source, hcp.simulate.layout, hcp.fmriprep) ------------------------------------------


def _fmriprep_cfg(default, tmp_path):
    cfg = _hcp_cfg(default, source="fmriprep")
    for key in ("bids_root", "derivatives"):
        (tmp_path / key).mkdir()
        cfg["hcp"]["fmriprep"][key] = str(tmp_path / key)
    return cfg


@pytest.mark.parametrize(
    "edit, message, key",
    [
        (
            lambda c: c["hcp"]["cleaning"].__setitem__("strategy", "36P"),
            "hcp.cleaning: strategy '36P' is not one the S1200 layout can build",
            "hcp.cleaning.strategy",
        ),
        (
            lambda c: c["hcp"]["cleaning"]["compare_strategies"].append("aCompCor"),
            "strategies under hcp.cleaning.confound_strategies read fMRIPrep's confounds table",
            "hcp.cleaning.compare_strategies",
        ),
        (
            lambda c: c["hcp"]["tasks"].append("EMOTION"),
            "hcp.tasks: EMOTION is not an HCP task of the S1200 layout",
            "hcp.tasks",
        ),
    ],
)
def test_s1200_layout_errors_name_the_key(default, edit, message, key):
    cfg = copy.deepcopy(default)
    edit(cfg)
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    assert message in str(err.value) and err.value.key == key


def test_an_fmriprep_task_must_be_defined_under_hcp_fmriprep_tasks(default, tmp_path):
    cfg = _fmriprep_cfg(default, tmp_path)
    check_config(cfg)
    del cfg["hcp"]["fmriprep"]["tasks"]["WM"]
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    assert "hcp.tasks: WM is not defined under hcp.fmriprep.tasks (defined: GAMBLING, RELATIONAL)" in str(err.value)
    assert err.value.key == "hcp.fmriprep.tasks"
    cfg["hcp"]["tasks"] = ["GAMBLING", "RELATIONAL"]
    cfg["hcp"]["analysis"]["experiments"] = ["on_task"]
    check_config(cfg)  # another dataset's tasks need no S1200 name
    cfg["hcp"]["fmriprep"]["tasks"]["EMOTION"] = {"bids_task": "emotion", "blocks": ["fear", "shape"]}
    cfg["hcp"]["tasks"].append("EMOTION")
    check_config(cfg)


def test_a_custom_strategy_must_be_defined_for_fmriprep_input(default, tmp_path):
    cfg = _fmriprep_cfg(default, tmp_path)
    cfg["hcp"]["cleaning"]["strategy"] = "36P"
    check_config(cfg)  # defined under confound_strategies
    cfg["hcp"]["cleaning"]["strategy"] = "72P"
    with pytest.raises(ConfigError, match="strategy '72P' is neither built in .* nor defined under") as err:
        check_config(cfg)
    assert err.value.key == "hcp.cleaning.strategy"


@pytest.mark.parametrize("key", ["bids_root", "derivatives"])
def test_fmriprep_roots_must_be_directories(default, tmp_path, key):
    cfg = _fmriprep_cfg(default, tmp_path)
    check_config(cfg)
    (tmp_path / key).rmdir()
    (tmp_path / key).write_text("not a folder")
    with pytest.raises(ConfigError, match=f"hcp.fmriprep.{key} '.*{key}' is not a directory") as err:
        check_config(cfg)
    assert err.value.key == f"hcp.fmriprep.{key}"
    cfg["hcp"]["fmriprep"][key] = None
    with pytest.raises(ConfigError, match=f"hcp.fmriprep.{key} None is not a directory"):
        check_config(cfg)


def test_the_default_config_passes_with_the_simulated_cohort_in_the_fmriprep_layout(default):
    cfg = copy.deepcopy(default)
    cfg["hcp"]["simulate"]["layout"] = "fmriprep"
    check_schema(cfg)
    check_config(cfg)
    cfg["hcp"]["fmriprep"]["tasks"]["GAMBLING"]["blocks"] = ["win"]
    with pytest.raises(ConfigError, match="the simulated cohort's GAMBLING blocks are win, loss; loss missing") as err:
        check_config(cfg)
    assert err.value.key == "hcp.fmriprep.tasks.GAMBLING.blocks"


def test_required_runs_leave_out_subjects_that_lack_them_but_keep_three():
    from vanishing_saliency.configcheck import subjects_with_required_runs

    def runs(*dirs):
        return [{"layout": "fmriprep", "task": "wm", "entities": {"dir": d}} for d in dirs]

    hcp = {"tasks": ["wm"], "require_runs": {"dir": ["LR", "RL"]}}
    cohort = {"01": runs("LR", "RL"), "02": runs("LR"), "03": runs("RL", "LR"), "04": runs("LR", "RL")}
    assert subjects_with_required_runs(hcp, cohort) == (["01", "03", "04"], {"02": ["wm dir-RL"]})
    with pytest.raises(ConfigError, match="2 subject\\(s\\) have the runs hcp.require_runs demands") as err:
        subjects_with_required_runs(hcp, {**cohort, "04": runs("LR")})
    assert err.value.key == "hcp.require_runs"
