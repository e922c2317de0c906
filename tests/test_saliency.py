"""Saliency: batched gradients equal per-sample ones; Captum methods honour lengths; the Captum-shaped API's
targets and outputs; our maps equal Captum's own."""

import copy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vanishing_saliency.errors import ConfigError
from vanishing_saliency.models import ModelConfig, build_model
from vanishing_saliency.saliency import (
    METHODS,
    Gradient,
    SaliencyOptions,
    attribute,
    samples_per_pass,
    top_entries,
)
from vanishing_saliency.training import predict_logits


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = build_model("inputcell_lstm", ModelConfig(n_features=6, hidden=4, r=3, d_a=5)).eval()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 10, 6)).astype(np.float32)
    y = rng.integers(0, 2, 9)
    lengths = np.array([10, 7, 10, 3, 10, 9, 10, 5, 10])
    return model, x, y, lengths


def _autograd_map(model, x, y, lengths, i):
    """|d p_y / d x| of sample ``i`` alone, by plain autograd through the softmax."""
    xt = torch.tensor(x[i : i + 1], requires_grad=True)
    p = torch.softmax(model(xt, torch.tensor(lengths[i : i + 1])), -1)[0, y[i]]
    p.backward()
    return xt.grad.abs().numpy()[0]


def test_batched_gradient_equals_each_sample_alone(setup):
    """Passes of 4 samples give each sample's own |d p_y / d x| (plain autograd, one sample at a time)."""
    model, x, y, lengths = setup
    batched = Gradient(model, output="probability").attribute(x, target=y, lengths=lengths, internal_batch_size=4)
    single = np.stack([_autograd_map(model, x, y, lengths, i) for i in range(len(x))])
    single[np.arange(10)[None, :] >= lengths[:, None]] = 0  # padding steps get 0
    assert batched.shape == x.shape
    assert np.allclose(batched.numpy(), single, atol=1e-7, rtol=1e-5)
    assert np.all(batched.numpy() >= 0)
    assert all(p.requires_grad for p in model.parameters())  # the model is left as it was


def test_gradient_is_of_the_true_class_probability(setup):
    model, x, y, lengths = setup
    explainer = Gradient(model, output="probability")
    # for two classes d p_0/dx = -d p_1/dx, so |.| agrees whichever class is asked for
    assert torch.allclose(
        explainer.attribute(x, target=y, lengths=lengths),
        explainer.attribute(x, target=1 - y, lengths=lengths),
        atol=1e-7,
    )
    # the numpy form the workflow's steps call explains the same probability
    numpy_form = attribute("gradient", model, x, y, lengths)
    assert np.array_equal(numpy_form, explainer.attribute(x, target=y, lengths=lengths))


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_batched_and_ignores_padding(setup, method):
    model, x, y, lengths = setup
    maps = attribute(method, model, x, y, lengths, options=SaliencyOptions(ig_steps=8), max_samples=4)
    assert maps.shape == x.shape and np.isfinite(maps).all()
    assert np.all(maps[3, 3:] == 0) and np.all(maps[7, 5:] == 0)  # padding gets nothing
    assert np.abs(maps[0]).sum() > 0


@pytest.mark.parametrize("method", METHODS)
def test_the_memory_cap_changes_no_number(setup, method):
    """One input per pass, three, or everything at once: the same maps (random methods included:
    each sample's draws are its own), up to floating-point order."""
    model, x, y, lengths = setup
    opts = SaliencyOptions(ig_steps=8, smoothgrad_samples=4, gradient_shap_samples=4, dynamask_steps=10)
    pool = x[::-1].copy() if method == "gradient_shap" else None
    maps = [
        attribute(method, model, x, y, lengths, options=opts, seed=3, baselines=pool, max_samples=k)
        for k in (1, 3, 10_000)
    ]
    for other in maps[1:]:
        assert np.allclose(maps[0], other, atol=1e-6, rtol=1e-4)


def test_samples_per_pass_follows_the_cap():
    one = samples_per_pass(100, 100, 4, 1000)
    assert one == int(1000 * 2**20 // (12 * 100 * 200 * 4))
    assert samples_per_pass(100, 100, 8, 1000) == one // 2 or samples_per_pass(100, 100, 8, 1000) == (one - 1) // 2
    assert samples_per_pass(100, 100, 4, 0.001) == 1  # never below one sample


def test_integrated_gradients_completeness(setup):
    """IG sums to p(x) - p(baseline) (Captum's completeness axiom) for the true class."""
    model, x, y, lengths = setup
    maps = attribute("integrated_gradients", model, x[:2], y[:2], lengths[:2], options=SaliencyOptions(ig_steps=200))
    with torch.no_grad():
        p = torch.softmax(model(torch.tensor(x[:2]), torch.tensor(lengths[:2])), -1)[np.arange(2), y[:2]]
        p0 = torch.softmax(model(torch.zeros(2, 10, 6), torch.tensor(lengths[:2])), -1)[np.arange(2), y[:2]]
    assert np.allclose(maps.reshape(2, -1).sum(1), (p - p0).numpy(), atol=2e-3)


def test_the_registry_holds_every_method_by_name():
    from vanishing_saliency.saliency import REGISTRY

    assert tuple(REGISTRY) == METHODS and all(cls.name == name for name, cls in REGISTRY.items())


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown saliency method .lrp."):
        attribute("lrp", None, None, None, None)


class BoxModel(torch.nn.Module):
    """Class-1 logit = 4 x the mean of x over a known box (steps 5-9, features 2-4): the answer is known."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, x, lengths):
        v = self.w * 4 * x[:, 5:10, 2:5].mean((1, 2))
        return torch.stack([-v, v], 1)


@pytest.fixture(scope="module")
def box():
    rng = np.random.default_rng(0)
    n, t, f = 40, 20, 8
    y = np.arange(n) % 2
    x = rng.standard_normal((n, t, f)).astype(np.float32)
    x[:, 5:10, 2:5] += np.where(y == 1, 1.0, -1.0)[:, None, None]
    mask = np.zeros((n, t, f), bool)
    mask[:, 5:10, 2:5] = True
    return BoxModel(), x, y, np.full(n, t), mask


@pytest.mark.parametrize(
    "method, floor",
    [
        ("gradient", 0.99),
        ("integrated_gradients", 0.99),
        ("tsr", 0.99),
        ("occlusion", 0.85),
        ("occlusion_features", 0.8),
        ("dynamask", 0.85),
        ("extremal_mask", 0.8),  # time-interpret's (the tint extra, installed by make venv)
        ("tint_dynamask", 0.65),
    ],
)
def test_methods_find_a_known_box(box, method, floor):
    from vanishing_saliency.metrics import auroc

    model, x, y, lengths, mask = box
    maps = attribute(
        method, model, x, y, lengths, options=SaliencyOptions(dynamask_area=mask[0].mean()), max_samples=20
    )
    assert np.nanmean(auroc(maps, mask)) > floor


def test_tint_methods_are_masks_seeded_and_quiet(box, tmp_path, monkeypatch, capfd):
    """time-interpret's masks lie in [0, 1], follow the seed, leave the caller's torch generator and the model as they
    were, and write nothing (no lightning_logs, no Lightning banner)."""
    model, x, y, lengths, mask = box
    monkeypatch.chdir(tmp_path)
    opts = SaliencyOptions(tint_epochs=20, dynamask_area=float(mask[0].mean()))
    for method in ("extremal_mask", "tint_dynamask"):
        torch.manual_seed(5)
        a = attribute(method, model, x[:6], y[:6], lengths[:6], seed=3, options=opts)
        after = torch.rand(1)
        torch.manual_seed(5)
        b = attribute(method, model, x[:6], y[:6], lengths[:6], seed=3, options=opts)
        assert torch.equal(torch.rand(1), after)  # the global generator is left as it was
        assert a.min() >= 0 and a.max() <= 1 and np.array_equal(a, b)
    assert all(p.requires_grad for p in model.parameters())
    assert list(tmp_path.iterdir()) == []
    out, err = capfd.readouterr()
    assert "GPU available" not in out + err and "litlogger" not in out + err


def test_tint_methods_without_tint_say_how_to_install(box, monkeypatch):
    model, x, y, lengths, _ = box
    monkeypatch.setitem(sys.modules, "tint", None)  # import tint raises ImportError
    with pytest.raises(ConfigError, match=r"pip install \"vanishing_saliency\[tint\]\""):
        attribute("extremal_mask", model, x[:2], y[:2], lengths[:2])


def test_tsr_keeps_only_the_relevant_steps(box):
    model, x, y, lengths, mask = box
    maps = attribute("tsr", model, x[:4], y[:4], lengths[:4], options=SaliencyOptions(tsr_quantile=0.55))
    kept = (np.abs(maps) > 0).any(2)  # (n, T)
    assert kept[:, 5:10].all() and not kept[:, :5].any() and not kept[:, 10:].any()


def test_dynamask_is_a_mask_and_is_seeded(box):
    model, x, y, lengths, _ = box
    a = attribute("dynamask", model, x[:6], y[:6], lengths[:6], seed=3, options=SaliencyOptions(dynamask_steps=20))
    b = attribute("dynamask", model, x[:6], y[:6], lengths[:6], seed=3, options=SaliencyOptions(dynamask_steps=20))
    assert a.min() >= 0 and a.max() <= 1 and np.array_equal(a, b)
    assert all(p.requires_grad for p in model.parameters())  # the model is left as it was


def test_top_entries_are_the_places_the_sort_gives(box):
    # Dynamask's area penalty: each entry's target is that of the place an ascending torch.sort puts it in, 1 on
    # the last n_keep places.  Rows of distinct values, rows of clamped masks (many entries exactly 0 or 1, ties
    # across the boundary: the sort's own tie order decides) and n_keep of 0, of the whole row and between.
    rng = np.random.default_rng(0)
    values = torch.tensor(rng.random((12, 500)), dtype=torch.float32)
    values[4:] = (values[4:] * 2 - 0.5).clamp(0, 1)
    n_keep = torch.tensor([0, 500, 37, 1, 250, 499, 100, 110, 3, 260, 30, 7])
    order = torch.sort(values, dim=1).indices
    expected = torch.zeros_like(values)
    for i, k in enumerate(n_keep.tolist()):
        expected[i, order[i, 500 - k :]] = 1
    assert (values[4:] == 1).sum(1).min() > 100  # the clamped rows do tie across the boundary
    assert torch.equal(top_entries(values, n_keep), expected)
    assert torch.equal(top_entries(values.double(), n_keep), expected.double())


def test_gradient_shap_uses_the_given_baselines(setup):
    model, x, y, lengths = setup
    zero = attribute("gradient_shap", model, x, y, lengths, seed=1)
    drawn = attribute("gradient_shap", model, x, y, lengths, seed=1, baselines=x[::-1].copy())
    assert not np.allclose(zero, drawn)


@pytest.mark.parametrize("method", ["gradient_shap", "smoothgrad"])
def test_random_methods_follow_the_seed_alone(setup, method):
    # Captum's GradientShap draws its interpolation points from numpy's global generator: whatever state that
    # generator is in, the seed alone decides the map, and the caller's numpy state is left as it was
    model, x, y, lengths = setup
    pool = x[::-1].copy() if method == "gradient_shap" else None
    np.random.seed(123)
    a = attribute(method, model, x, y, lengths, seed=1, baselines=pool)
    after = np.random.get_state()[1].copy()
    np.random.seed(456)
    b = attribute(method, model, x, y, lengths, seed=1, baselines=pool)
    c = attribute(method, model, x, y, lengths, seed=2, baselines=pool)
    assert np.array_equal(a, b) and not np.allclose(a, c)
    np.random.seed(123)
    assert np.array_equal(np.random.get_state()[1], after)


def test_saliency_options_come_from_the_config_and_keep_the_defaults_it_leaves_out():
    import yaml

    from vanishing_saliency.steps.common import saliency_options

    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())["saliency"]
    opts = saliency_options(cfg)
    assert opts.ig_steps == cfg["ig_steps"] and opts.dynamask_lr == cfg["dynamask_lr"]
    assert opts == SaliencyOptions()  # config.yaml states the library's defaults
    partial = saliency_options({"methods": ["gradient"], "max_batch_mb": 50, "examples": 1, "ig_steps": 8})
    assert partial.max_batch_mb == 50 and partial.ig_steps == 8 and partial.smoothgrad_samples == 10


# ---- the Captum-shaped API ----


def test_gradient_and_integrated_gradients_equal_captums_own(setup):
    """Captum's Saliency and IntegratedGradients on the same model, target and output give our maps."""
    import captum.attr as ca

    from vanishing_saliency.saliency import Gradient, IntegratedGradients, ProbabilityModel

    model, x, y, lengths = setup
    xt, yt, lt = torch.tensor(x), torch.tensor(y), torch.tensor(lengths)
    full = torch.tensor(x)
    full_lengths = torch.full((len(x),), x.shape[1])
    for output, forward in (("probability", ProbabilityModel(model)), ("logit", model)):
        for target in (yt, 1 - yt, 0):
            ours = Gradient(model, output=output, max_samples=4).attribute(xt, target=target, lengths=lt)
            theirs = ca.Saliency(forward).attribute(xt, target=target, additional_forward_args=(lt,))
            assert torch.allclose(ours, theirs * (torch.arange(10)[None, :, None] < lt[:, None, None]), atol=1e-7)
            ig = IntegratedGradients(model, output=output).attribute(full, target=target, ig_steps=16)
            ig_captum = ca.IntegratedGradients(forward).attribute(
                full, target=target, additional_forward_args=(full_lengths,), n_steps=16
            )
            assert torch.allclose(ig, ig_captum, atol=1e-6)
    assert not torch.allclose(
        Gradient(model).attribute(xt, target=yt, lengths=lt),  # the model's own output, as Captum explains it
        Gradient(model, "probability").attribute(xt, target=yt, lengths=lt),
    )  # the two outputs differ (the softmax's Jacobian)


def test_targets_label_predicted_and_index(setup):
    from vanishing_saliency.saliency import Gradient

    model, x, y, lengths = setup
    xt, lt = torch.tensor(x), torch.tensor(lengths)
    explainer = Gradient(model, output="logit")
    pred = predict_logits(model, x, lengths).argmax(1)
    assert torch.equal(
        explainer.attribute(xt, target="predicted", lengths=lt), explainer.attribute(xt, target=pred, lengths=lt)
    )
    by_index = explainer.attribute(xt, target=1, lengths=lt)
    assert torch.equal(by_index, explainer.attribute(xt, target=torch.ones(len(x), dtype=torch.long), lengths=lt))
    assert not torch.allclose(by_index, explainer.attribute(xt, target=0, lengths=lt))  # logit maps differ by class
    # without lengths every step counts
    assert (explainer.attribute(xt, target=0)[3, 3:] != 0).any()
    with pytest.raises(ValueError, match="target is needed"):
        explainer.attribute(xt)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        explainer.attribute(xt, target=2)
    with pytest.raises(ValueError, match="one class per input"):
        explainer.attribute(xt, target=[0, 1])
    with pytest.raises(ValueError, match="'predicted'"):
        explainer.attribute(xt, target="label")


def test_options_baselines_and_outputs_are_checked(setup):
    from vanishing_saliency.saliency import Dynamask, Gradient, IntegratedGradients, method

    model, x, y, lengths = setup
    xt = torch.tensor(x)
    with pytest.raises(TypeError, match="unknown option.*n_step"):
        IntegratedGradients(model).attribute(xt, target=0, n_step=8)
    with pytest.raises(ValueError, match="Gradient takes no baselines"):
        Gradient(model).attribute(xt, target=0, baselines=0.5)
    with pytest.raises(ValueError, match="output 'softmax'"):
        Gradient(model, output="softmax")
    with pytest.raises(ValueError, match="output='logit' does not apply"):
        Dynamask(model, output="logit")
    assert Dynamask(model).output == "probability" and Gradient(model).output == "logit"
    assert isinstance(method("integrated_gradients", model), IntegratedGradients)
    # a baseline equal to the input leaves Integrated Gradients nothing to attribute
    assert torch.allclose(IntegratedGradients(model).attribute(xt, target=0, baselines=xt), torch.zeros_like(xt))


def test_any_captum_method_passes_through(setup):
    import captum.attr as ca

    from vanishing_saliency.saliency import CaptumAttribution, ProbabilityModel

    model, x, y, lengths = setup
    xt, yt, lt = torch.tensor(x), torch.tensor(y), torch.tensor(lengths)
    ablation = CaptumAttribution(model, ca.FeatureAblation, output="probability")
    ours = ablation.attribute(xt, target=yt, lengths=lt, perturbations_per_eval=4)
    theirs = ca.FeatureAblation(ProbabilityModel(model)).attribute(
        xt, target=yt, additional_forward_args=(lt,), perturbations_per_eval=4
    )
    valid = (torch.arange(10)[None, :, None] < lt[:, None, None]).float()
    assert torch.allclose(ours, theirs * valid, atol=1e-7) and ours.abs().sum() > 0
    assert ablation.name == "FeatureAblation"


class _PlainModel(torch.nn.Module):
    """A model whose forward takes x alone, as most Captum users' do."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.rnn = torch.nn.GRU(6, 5, batch_first=True)
        self.out = torch.nn.Linear(5, 3)

    def forward(self, x):
        return self.out(self.rnn(x)[0][:, -1])


def test_a_captum_users_call_runs_and_equals_captums_own(setup):
    """Issue #39: Captum's call order and option names, on a model of ours (lengths through
    additional_forward_args) and on a plain forward(x) model; targets as Captum takes them; tuple inputs;
    the convergence delta; NoiseTunnel and the delta through CaptumAttribution."""
    import captum.attr as ca

    from vanishing_saliency.saliency import CaptumAttribution, Gradient, IntegratedGradients, SmoothGrad

    model, x, y, lengths = setup
    xt, lt = torch.tensor(x), torch.tensor(lengths)
    zeros = torch.zeros_like(xt)
    ours = IntegratedGradients(model).attribute(xt, zeros, 1, (lt,), n_steps=50)
    theirs = ca.IntegratedGradients(model).attribute(xt, zeros, target=1, additional_forward_args=(lt,), n_steps=50)
    valid = (torch.arange(10)[None, :, None] < lt[:, None, None]).float()
    assert torch.allclose(ours, theirs * valid, atol=1e-6)

    plain = _PlainModel()
    ours = IntegratedGradients(plain).attribute(xt, zeros, target=1, n_steps=50)
    theirs = ca.IntegratedGradients(plain).attribute(xt, zeros, target=1, n_steps=50)
    assert torch.allclose(ours, theirs, atol=1e-6)
    (as_tuple,) = IntegratedGradients(plain).attribute((xt,), target=1, n_steps=50)
    assert torch.allclose(as_tuple, ours, atol=1e-6)
    column = torch.tensor(y)[:, None]  # (n, 1) targets, as Captum takes them
    assert torch.equal(Gradient(plain).attribute(xt, target=column), Gradient(plain).attribute(xt, target=column[:, 0]))
    maps, delta = IntegratedGradients(plain).attribute(xt, zeros, target=1, n_steps=50, return_convergence_delta=True)
    _, captum_delta = ca.IntegratedGradients(plain).attribute(
        xt, zeros, target=1, n_steps=50, return_convergence_delta=True
    )
    assert torch.allclose(delta, captum_delta, atol=1e-5)
    assert torch.equal(
        SmoothGrad(plain).attribute(xt, target=0, nt_samples=4, stdevs=0.1),
        SmoothGrad(plain).attribute(xt, target=0, smoothgrad_samples=4, smoothgrad_stdev=0.1),
    )
    signed = Gradient(plain).attribute(xt, target=0, abs=False)
    assert (signed < 0).any() and torch.equal(signed.abs(), Gradient(plain).attribute(xt, target=0))
    with pytest.raises(TypeError, match="unknown option.*n_steps"):
        Gradient(plain).attribute(xt, target=0, n_steps=5)  # Gradient has no steps
    with pytest.raises(TypeError, match="return_convergence_delta is Integrated Gradients' and DeepLift's"):
        Gradient(plain).attribute(xt, target=0, return_convergence_delta=True)

    one_output = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(60, 1))
    assert Gradient(one_output).attribute(xt).shape == xt.shape  # target=None: the one output

    tunnel = CaptumAttribution(plain, lambda f: ca.NoiseTunnel(ca.Saliency(f)))
    torch.manual_seed(3)
    ours = tunnel.attribute(xt, target=1, nt_type="smoothgrad", nt_samples=3, stdevs=0.1)
    torch.manual_seed(3)
    theirs = ca.NoiseTunnel(ca.Saliency(plain)).attribute(xt, target=1, nt_type="smoothgrad", nt_samples=3, stdevs=0.1)
    assert torch.allclose(ours, theirs, atol=1e-7)
    ig, d = CaptumAttribution(plain, ca.IntegratedGradients).attribute(
        xt, zeros, target=1, n_steps=20, return_convergence_delta=True
    )
    assert ig.shape == xt.shape and d.shape == (len(xt),)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_inputs_go_to_the_models_device(setup):
    from vanishing_saliency.saliency import Gradient, GradientShap, IntegratedGradients, SmoothGrad

    model, x, y, lengths = setup
    gpu = copy.deepcopy(model).cuda()
    for cls in (Gradient, IntegratedGradients, SmoothGrad, GradientShap):
        on_gpu = cls(gpu).attribute(x, target=y, lengths=lengths)  # numpy in: moved to the model's device
        on_cpu = cls(model).attribute(x, target=y, lengths=lengths)
        assert on_gpu.device.type == "cuda" and torch.allclose(on_gpu.cpu(), on_cpu, atol=1e-5)


def test_a_method_of_ones_own_gets_the_call_shape_the_checks_and_the_batching(setup):
    """The subclass in saliency/base.py's docstring: x times the gradient, from a Call, equals InputXGradient; it
    takes Captum's call order and refuses a wrong feature count like every method."""
    from vanishing_saliency.saliency import Attribution, InputXGradient

    class TimesInput(Attribution):
        name = "times_input"

        def _maps(self, call):
            out = []
            for sl in call.passes():
                x = call.x[sl]
                out.append(x * call.gradients(x, call.target[sl], call.lengths[sl]))
                call.bar.update(sl.stop - sl.start)
            return torch.cat(out)

    model, x, y, lengths = setup
    ours = TimesInput(model).attribute(torch.tensor(x), None, torch.tensor(y), (torch.tensor(lengths),), max_batch_mb=0)
    assert torch.allclose(ours, InputXGradient(model).attribute(x, target=y, lengths=lengths), atol=1e-7)
    assert np.all(ours.numpy()[3, 3:] == 0)  # padding steps get 0
    with pytest.raises(ValueError, match="features per time step"):
        TimesInput(model).attribute(x[:, :, :3], target=y)


@pytest.mark.parametrize("name", METHODS)
def test_every_method_explains_a_plain_forward_x_model(setup, name):
    """Every method, Dynamask's own objective included, calls a forward(x) model with x alone."""
    from vanishing_saliency.saliency import method

    _, x, _, _ = setup
    opts = SaliencyOptions(
        ig_steps=4, smoothgrad_samples=2, gradient_shap_samples=2, dynamask_steps=3, tint_epochs=2, max_batch_mb=1
    )
    maps = method(name, _PlainModel(), options=opts).attribute(torch.tensor(x[:4]), target=1)
    assert maps.shape == (4, 10, 6) and torch.isfinite(maps).all() and maps.abs().sum() > 0
