"""Snakemake itself runs the workflow: a tiny real run, a dry run of the default, and lint."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_check import check_report

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]


def run(args, cwd):
    return subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.workflow
def test_every_final_output_exists_and_is_sane(tiny_run):
    syn = tiny_run / "results" / "synthetic"
    for name in (
        "table1.tsv",
        "table1_runs.tsv",
        "table1.md",
        "table2.tsv",
        "table2.md",
        "moving_box.tsv",
        "method_table.tsv",
        "method_table.md",
        "summary.md",
        "summary.tsv",
        "epoch_curve.tsv",
        "figures/moving_box.png",
        "figures/moving_box.pdf",
        "figures/epoch_curve.png",
        "figures/saliency_earlier.png",
        "figures/saliency_earlier.pdf",
        "partial_window.tsv",
        "figures/partial_window.png",
    ):
        assert (syn / name).stat().st_size > 0, name
    t1 = pd.read_csv(syn / "table1.tsv", sep="\t")
    trained = t1[t1.kind == "trained"]
    assert set(trained.method) == {"gradient", "integrated_gradients"}
    assert len(trained) == 2 * 2 * 2 and (trained.n_seeds == 2).all()  # datasets x models x methods
    assert len(t1[t1.kind == "untrained"]) == 8 and len(t1[t1.kind == "noise"]) == 2
    assert (t1[t1.kind == "untrained"].n_seeds == 2).all()  # as many untrained runs as seeds
    assert t1.wjac.between(0, 1).all() and (t1.euc >= 0).all() and t1.auroc.between(0, 1).all()
    assert set(t1.wjac_mark.dropna()) <= {"▲", "≈", "▼"}
    grad = trained[trained.method == "gradient"].set_index(["dataset", "model"])
    # the paper's claim on the tiny Earlier box: input-cell attention finds the box, the LSTM does not
    assert grad.loc[("earlier", "inputcell_lstm"), "wjac"] > grad.loc[("earlier", "lstm"), "wjac"] + 0.03
    assert grad.loc[("earlier", "inputcell_lstm"), "accuracy"] > 0.9
    # a noise map scores AUROC ~0.5 and the WJac floor the paper's metric cannot see
    noise = t1[t1.kind == "noise"]
    assert noise.auroc.between(0.45, 0.55).all() and noise.wjac.between(0.08, 0.2).all()
    runs = pd.read_csv(syn / "table1_runs.tsv", sep="\t")
    untrained = runs.run.str.startswith("untrained")
    assert set(runs.selection) == {"first_best"} and (runs[untrained].epochs_run == 0).all()
    assert (runs[~untrained].epoch_kept >= 1).all()
    t2 = pd.read_csv(syn / "table2.tsv", sep="\t")
    assert set(t2[t2.kind == "trained"].model) == {"lstm", "bilstm", "inputcell_lstm"}
    md = (syn / "table1.md").read_text()
    assert "| LSTM+In.Cell At. |" in md and "## integrated_gradients: AUROC / AP" in md and "| noise map" in md
    moving = pd.read_csv(syn / "moving_box.tsv", sep="\t")
    lstm = moving[(moving.model == "lstm") & (moving.kind == "trained")].sort_values("box_start")
    assert list(lstm.box_start) == [0, 20]
    assert lstm.wjac.iloc[1] > lstm.wjac.iloc[0]  # LSTM saliency improves as the box moves later
    methods = pd.read_csv(syn / "method_table.tsv", sep="\t")
    assert set(methods.method.dropna()) >= {"gradient", "tsr", "dynamask", "noise map"}
    claims = pd.read_csv(syn / "summary.tsv", sep="\t")
    assert set(claims.verdict) <= {"reproduced", "not reproduced", "not testable", "not testable (underpowered)"}
    assert set(claims[claims.scope == "all"].claim) == {"3a", "3a-learned", "3b", "3c", "4a", "4b"}
    assert claims[claims.scope != "all"].decided_by.notna().all()  # every verdict names the row that decided it
    tests = pd.read_csv(syn / "summary_tests.tsv", sep="\t")
    assert {"noise map", "untrained LSTM+In.Cell At."} <= set(tests.against)
    assert (tests.dropna(subset=["p_adjusted"]).p_adjusted >= tests.dropna(subset=["p_adjusted"]).p - 1e-12).all()
    # the gate, once: every run of every group against its own null, read by the tables and the claims
    gates = pd.read_csv(syn / "gates.tsv", sep="\t")
    assert gates.set_index(["dataset", "model", "run"]).index.is_unique and gates.p_perm.between(0, 1).all()
    assert (gates.learned == gates.groupby(["dataset", "model", "kind"]).above_null.transform("all")).all()
    curve = pd.read_csv(syn / "epoch_curve.tsv", sep="\t")
    assert set(curve.epoch) == {0, 1, 2, 3} and curve.kept_by_first_best.sum() == 2  # one kept epoch per model
    partial = pd.read_csv(syn / "partial_window.tsv", sep="\t")
    runs = sorted(zip(partial.window, partial.run, strict=True))
    assert runs == [(w, r) for w in (1, 30) for r in ("seed0", "seed1")]
    assert partial.auroc.between(0, 1).all() and partial.run.nunique() == 2
    assert len(set(partial.test_accuracy.round(6))) > 1 or len(set(partial.auroc.round(6))) > 1  # runs differ


@pytest.mark.workflow
def test_models_have_sidecars_and_logs(tiny_run):
    meta = json.loads((tiny_run / "results/synthetic/models/earlier/inputcell_lstm_seed0.json").read_text())
    for key in (
        "architecture",
        "model_config",
        "train_config",
        "seed",
        "epochs_run",
        "train_accuracy",
        "val_accuracy",
        "test_accuracy",
        "versions",
        "selection",
        "best_epoch",
    ):
        assert key in meta
    assert meta["selection"] == meta["train_config"]["selection"] == "first_best"
    untrained = [
        json.loads((tiny_run / f"results/synthetic/models/earlier/inputcell_lstm_untrained{k}.json").read_text())
        for k in (0, 1)
    ]
    assert all(u["epochs_run"] == 0 for u in untrained)
    assert len({meta["seed"], untrained[0]["seed"], untrained[1]["seed"]}) == 3  # each run its own seed
    # one job trains every run of a (dataset, model) pair, and its log has each run's line
    log = (tiny_run / "logs/synthetic/train/earlier/inputcell_lstm.log").read_text()
    assert "inputcell_lstm on earlier seed0" in log and "inputcell_lstm on earlier untrained1" in log
    with np.load(tiny_run / "results/synthetic/saliency/earlier/lstm_seed0_gradient_examples.npz") as f:
        assert f["saliency"].shape == (2, 30, 8)


@pytest.mark.workflow
def test_saved_maps_rescore_to_the_run_tables(tiny_run):
    """saliency.save_maps: all keeps every test map; the command line's score of a maps file gives the run's own
    per-sample metrics and pooled AUP / AUR (the tables' numbers, recomputed without retraining)."""
    import pandas as pd

    for run in ("seed0", "untrained1"):
        maps = tiny_run / f"results/synthetic/saliency/earlier/inputcell_lstm_{run}_integrated_gradients_maps.npz"
        out = tiny_run / f"rescored_{run}.tsv"
        res = subprocess.run(
            [sys.executable, "-m", "vanishing_saliency.cli", "score", str(maps), "-o", str(out)],
            capture_output=True,
            text=True,
        )
        assert res.returncode == 0, res.stderr
        metrics = f"results/synthetic/metrics/earlier/inputcell_lstm_{run}_integrated_gradients.tsv"
        table = pd.read_csv(tiny_run / metrics, sep="\t")
        rescored = pd.read_csv(out, sep="\t")
        assert len(rescored) == len(table) == 60
        for m in ("wjac", "euc", "auroc", "ap", "aup", "aur"):
            assert np.allclose(rescored[m], table[m], rtol=1e-4, atol=1e-6, equal_nan=True), m
        for m in ("aup_pooled", "aur_pooled"):
            shown = [line for line in res.stdout.splitlines() if line.startswith(f"| {m} ")][0]
            assert abs(float(shown.split("|")[4]) - table[m].iloc[0]) < 1e-4


@pytest.mark.workflow
def test_rerun_has_nothing_to_do(tiny_run):
    # (fresh-directory determinism and resume after a kill: tests/test_reproducibility.py)
    res = run(["--cores", "2", "--configfile", str(ROOT / "tests" / "tiny_config.yaml"), "-n"], tiny_run)
    assert res.returncode == 0 and "Nothing to be done" in res.stdout + res.stderr


def test_default_config_dry_run(tmp_path):
    # in an empty directory, so results of an earlier `make reproduce` do not hide the jobs
    res = run(["-n", "--cores", "2", "--configfile", str(ROOT / "config.yaml")], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    assert "synthetic_train" in out and "synthetic_table" in out
    # one training job per pair: Table 1's 24 pairs and the moving box's LSTM and input-cell pairs (10: every position
    # is a replicate of claims 4a / 4b) train 8 seeds together, the moving box's Bi-LSTM and self-attention pairs (10,
    # read by no claim) 3 (synthetic.moving.other_seeds), the 39 other pairs of Table 2 1 (the first, shared), each
    # with as many untrained floors: 341 trained models and 341 floors in 83 jobs
    assert re.search(r"^synthetic_train_seeds8\s+34$", out, re.M)
    assert re.search(r"^synthetic_train_seeds3\s+10$", out, re.M)
    assert re.search(r"^synthetic_train_seeds1\s+39$", out, re.M)
    # one training job per experiment and model (6 x 4): the LSTM and input-cell attention on the two on_off
    # experiments train 8 seeds and 8 runs of the permuted and untrained controls a claim compares against, 1
    # time-shuffled (25 runs); every other cell 8 seeds and one run of each control (11 runs), in two rules (the on_off
    # Bi-LSTM and self-attention, and every model of the 4 other experiments: wildcard constraints are per wildcard)
    assert re.search(r"^hcp_train_controls8\s+4$", out, re.M)
    assert re.search(r"^hcp_train_controls1\s+16$", out, re.M) and re.search(r"^hcp_train_controls1b\s+4$", out, re.M)
    assert re.search(r"^hcp_saliency_controls8\s+4$", out, re.M)
    assert re.search(r"^hcp_saliency_controls1b\s+4$", out, re.M)


def test_jobs_import_the_package_of_the_checkout_that_runs(tmp_path):
    # no script puts the package on sys.path and the rules' conda envs do not install it: Snakemake hands each
    # script its own search path, which holds the Snakefile's folder. A copy of the checkout with an edited
    # step must then run the edited code, not the package installed in the venv (another checkout).
    copy = tmp_path / "checkout"
    copy.mkdir()
    for item in (
        "Snakefile",
        "config.yaml",
        "rules",
        "workflow_scripts",
        "vanishing_saliency",
        "schemas",
        "envs",
        "report",
        "profiles",
    ):
        if (ROOT / item).is_dir():
            shutil.copytree(ROOT / item, copy / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / item, copy / item)
    step = copy / "vanishing_saliency" / "steps" / "synthetic.py"
    step.write_text(step.read_text().replace('log.info("wrote %s', 'log.info("the copied checkout wrote %s'))
    work = tmp_path / "work"
    work.mkdir()
    res = subprocess.run(
        [
            *SNAKEMAKE[:3],
            "-s",
            str(copy / "Snakefile"),
            "resources/synthetic/earlier.npz",
            "--cores",
            "1",
            "--configfile",
            str(ROOT / "tests" / "tiny_config.yaml"),
        ],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "the copied checkout wrote" in (work / "logs/synthetic/generate/earlier.log").read_text()
    record = json.loads((work / "logs/synthetic/generate/earlier.job.json").read_text())
    assert record["rule"] == "synthetic_generate" and record["wildcards"] == {"dataset": "earlier"}
    with np.load(work / "resources/synthetic/earlier.npz") as f:
        assert record["seeds"] == {"seed": int(f["seed"])}


def test_lint_is_clean():
    res = subprocess.run([*SNAKEMAKE, "--lint"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Lints for" not in res.stdout + res.stderr, res.stdout + res.stderr


def test_paper_config_dry_run(tmp_path):
    res = run(["-n", "--cores", "2", "--configfile", str(ROOT / "configs" / "paper.yaml")], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "synthetic_train" in res.stdout + res.stderr


@pytest.mark.workflow
def test_report_bundles_tables_and_figures(tiny_run):
    html = check_report(
        tiny_run,
        ROOT / "tests" / "tiny_config.yaml",
        "results/synthetic",
        ["Synthetic boxes"],
        ["table1.tsv", "table2.tsv"],
    )
    assert "saliency_earlier.png" in html and "moving_box.png" in html
