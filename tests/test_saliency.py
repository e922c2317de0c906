"""Saliency: batched gradients equal per-sample ones; Captum methods honour lengths."""

import numpy as np
import pytest
import torch

from vanishing_saliency.models import ModelConfig, build_model
from vanishing_saliency.saliency import METHODS, attribute, gradient_saliency, gradient_saliency_per_sample


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = build_model("inputcell_lstm", ModelConfig(n_features=6, hidden=4, r=3, d_a=5)).eval()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 10, 6)).astype(np.float32)
    y = rng.integers(0, 2, 9)
    lengths = np.array([10, 7, 10, 3, 10, 9, 10, 5, 10])
    return model, x, y, lengths


def test_batched_gradient_equals_per_sample(setup):
    model, x, y, lengths = setup
    batched = gradient_saliency(model, x, y, lengths, batch_size=4)
    single = gradient_saliency_per_sample(model, x, y, lengths)
    assert batched.shape == x.shape
    assert np.allclose(batched, single, atol=1e-7, rtol=1e-5)
    assert np.all(batched >= 0)


def test_gradient_is_of_the_true_class_probability(setup):
    model, x, y, lengths = setup
    # for two classes d p_0/dx = -d p_1/dx, so |.| agrees whichever class is asked for
    assert np.allclose(gradient_saliency(model, x, y, lengths), gradient_saliency(model, x, 1 - y, lengths),
                       atol=1e-7)
    xt = torch.tensor(x[:1], requires_grad=True)
    p = torch.softmax(model(xt, torch.tensor(lengths[:1])), -1)[0, y[0]]
    p.backward()
    assert np.allclose(gradient_saliency(model, x[:1], y[:1], lengths[:1]), xt.grad.abs().numpy(), atol=1e-8)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_batched_and_ignores_padding(setup, method):
    model, x, y, lengths = setup
    maps = attribute(method, model, x, y, lengths, batch_size=4, options={"ig_steps": 8})
    assert maps.shape == x.shape and np.isfinite(maps).all()
    assert np.all(maps[3, 3:] == 0) and np.all(maps[7, 5:] == 0)      # padding gets nothing
    assert np.abs(maps[0]).sum() > 0


def test_integrated_gradients_completeness(setup):
    """IG sums to p(x) - p(baseline) (Captum's completeness axiom) for the true class."""
    model, x, y, lengths = setup
    maps = attribute("integrated_gradients", model, x[:2], y[:2], lengths[:2], options={"ig_steps": 200})
    with torch.no_grad():
        p = torch.softmax(model(torch.tensor(x[:2]), torch.tensor(lengths[:2])), -1)[np.arange(2), y[:2]]
        p0 = torch.softmax(model(torch.zeros(2, 10, 6), torch.tensor(lengths[:2])), -1)[np.arange(2), y[:2]]
    assert np.allclose(maps.reshape(2, -1).sum(1), (p - p0).numpy(), atol=2e-3)


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown saliency method 'lrp'"):
        attribute("lrp", None, None, None, None)
