"""Bad configurations fail at validation with a message naming the key."""

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vanishing_saliency.models import REGISTRY
from vanishing_saliency.saliency import METHODS

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def _schema():
    return yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())


def test_schema_lists_exactly_the_registry_and_methods():
    schema = _schema()
    assert set(schema["$defs"]["architecture"]["enum"]) == set(REGISTRY)
    assert set(schema["$defs"]["method"]["enum"]) == set(METHODS)
    assert schema["properties"]["saliency"]["properties"]["methods"]["items"] == {"$ref": "#/$defs/method"}


def test_every_schema_key_has_a_description():
    missing = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    missing.append(f"{path}.{key}")
                walk(sub, f"{path}.{key}")
            for key in ("additionalProperties", "items"):
                if isinstance(node.get(key), dict):
                    walk(node[key], f"{path}[]")
            for key, sub in node.get("$defs", {}).items():
                walk(sub, f"$defs.{key}")

    walk(_schema(), "config")
    assert not missing, missing


def _dry_run(tmp_path, cfg):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return subprocess.run(
        [
            *SNAKEMAKE,
            "-n",
            "--cores",
            "1",
            "-s",
            str(ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(path),
        ],
        capture_output=True,
        text=True,
    )


def _tiny():
    return yaml.safe_load((ROOT / "tests" / "tiny_config.yaml").read_text())


def test_tiny_config_is_valid(tmp_path):
    res = _dry_run(tmp_path, _tiny())
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize(
    "edit, expected",
    [
        (
            lambda c: c["synthetic"]["table1"]["models"].append("transformer"),
            r"synthetic\.table1\.models\[2\]: 'transformer' is not allowed; allowed: lstm, bilstm",
        ),
        (
            lambda c: c["models"].__setitem__("hidden", -5),
            r"models\.hidden: -5 is less than the minimum of 1 \(Hidden units",
        ),
        (
            lambda c: c["synthetic"]["datasets"]["earlier"]["patterns"][0][0].__setitem__("time", [20, 45]),
            r"synthetic\.datasets\.earlier\.patterns\[0\]\[0\]\.time = \[20, 45\) is outside the sequence",
        ),
        (lambda c: c["training"].pop("lr"), r"training: the key `lr` is missing \(Adam learning rate"),
        (
            lambda c: c["synthetic"]["table1"]["datasets"].append("nowhere"),
            r"synthetic\.table1\.datasets names 'nowhere'",
        ),
        (
            lambda c: c["training"].__setitem__("selection", "best"),
            r"training\.selection: 'best' is not allowed; allowed: first_best, best_loss, last, accuracy_then_loss",
        ),
        (
            lambda c: c["saliency"]["methods"].append("lime"),
            r"saliency\.methods\[2\]: 'lime' is not allowed; allowed: gradient",
        ),
        (lambda c: c["synthetic"].__setitem__("seeds", 0), r"synthetic\.seeds: 0 is less than the minimum of 1"),
        (
            lambda c: (
                c["synthetic"]["method_table"]["methods"].append("gradient_shap")
                or c["saliency"].__setitem__("gradient_shap_baseline", None)
            ),
            r"gradient_shap is a method but saliency\.gradient_shap_baseline is not set \(allowed: train, zeros\)",
        ),
        (
            lambda c: c["synthetic"]["datasets"].__setitem__("bad name", c["synthetic"]["datasets"]["earlier"]),
            r"synthetic\.datasets: 'bad name' does not match",
        ),
    ],
)
def test_bad_config_names_the_key(tmp_path, edit, expected):
    cfg = copy.deepcopy(_tiny())
    edit(cfg)
    res = _dry_run(tmp_path, cfg)
    assert res.returncode != 0
    import re

    out = res.stderr + res.stdout
    assert re.search(expected, out), out[-3000:]
    assert f"config error in {tmp_path / 'bad.yaml'}: " in out  # the file is named
    assert len(out.strip().splitlines()) <= 3 and "Traceback" not in out and "$schema" not in out


def test_a_top_level_typo_is_short_and_suggests_the_key(tmp_path):
    cfg = _tiny()
    cfg["hcpp"] = cfg.pop("hcp")
    res = _dry_run(tmp_path, cfg)
    out = (res.stderr + res.stdout).strip().splitlines()
    assert res.returncode != 0 and len(out) <= 10
    assert "unknown key `hcpp`; did you mean `hcp`?" in out[-1]


def test_yaml_syntax_errors_give_line_and_column(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("seed: 7\nmodels:\n  hidden: [5\ntraining: {}\n")
    res = subprocess.run(
        [sys.executable, "-m", "vanishing_saliency.configcheck", str(path)], capture_output=True, text=True
    )
    assert res.returncode == 1
    assert re.fullmatch(
        rf"config error in {re.escape(str(path))}, line \d+, column \d+: YAML syntax: .+\n", res.stderr
    ), res.stderr
    assert (
        subprocess.run(
            [sys.executable, "-m", "vanishing_saliency.configcheck", str(ROOT / "config.yaml")], capture_output=True
        ).returncode
        == 0
    )


def test_a_config_file_replaces_the_default_and_config_keys_apply_on_top(tmp_path):
    # the tiny config has 2 synthetic datasets in Table 1; merged into config.yaml it would train 12 datasets' models
    res = _dry_run(tmp_path, _tiny())
    assert re.search(r"^synthetic_generate\s+4$", res.stdout + res.stderr, re.M), (res.stdout + res.stderr)[-2000:]
    res = subprocess.run(
        [
            *SNAKEMAKE,
            "-n",
            "--cores",
            "1",
            "-s",
            str(ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--config",
            "seed=123",
        ],
        capture_output=True,
        text=True,
    )
    assert re.search(r"^synthetic_generate\s+12$", res.stdout + res.stderr, re.M)


def _tiny_hcp():
    return yaml.safe_load((ROOT / "tests" / "tiny_hcp_config.yaml").read_text())


@pytest.mark.parametrize(
    "edit, expected",
    [
        (
            lambda c: c["hcp"]["experiments"].__setitem__(
                "on_task", {"kind": "on_task", "tasks": ["GAMBLING", "RELATIONAL"], "frames": 30}
            ),
            r"hcp\.experiments\.on_task\.frames = 30 is longer than the shortest block of GAMBLING, RELATIONAL "
            r"\(22 frames of 0\.72 s\): use at most 22",
        ),
        (
            lambda c: c["hcp"]["blocks"].__setitem__("hrf_shift_s", 20.0),
            r"hcp\.experiments\.on_task: an HRF shift of 20 s pushes the last GAMBLING block .* "
            r"use a shift of at most 17",
        ),
        (
            lambda c: c["hcp"].__setitem__("tasks", ["GAMBLING", "WM"]),
            r"hcp\.experiments\.on_task\.tasks uses RELATIONAL, which hcp\.tasks does not preprocess",
        ),
        (
            lambda c: c["hcp"]["analysis"]["experiments"].append("nowhere"),
            r"hcp\.analysis\.experiments names 'nowhere', which is not defined under hcp\.experiments",
        ),
    ],
)
def test_bad_hcp_experiment_names_the_key(tmp_path, edit, expected):
    import re

    cfg = copy.deepcopy(_tiny_hcp())
    edit(cfg)
    res = _dry_run(tmp_path, cfg)
    assert res.returncode != 0
    assert re.search(expected, res.stderr + res.stdout), (res.stderr + res.stdout)[-3000:]
