"""Models: the fused input-cell attention against a step-by-step reference."""

import pytest
import torch

from vanishing_saliency.errors import ConfigError
from vanishing_saliency.labels import LABELS
from vanishing_saliency.models import (
    REGISTRY,
    InputCellAttention,
    ModelConfig,
    build_model,
    causal_mix,
    length_mask,
)


def reference_inputcell_lstm(model, x, lengths):
    """Deliberately naive: at every step recompute the prefix softmax, mix, run one LSTM step."""
    att, rnn = model.attention, model.rnn
    w_ih, w_hh = rnn.weight_ih_l0, rnn.weight_hh_l0
    b = rnn.bias_ih_l0 + rnn.bias_hh_l0
    hid = rnn.hidden_size
    outputs = []
    for i in range(x.shape[0]):
        xi = x[i, : int(lengths[i])]
        h = torch.zeros(hid, dtype=x.dtype)
        c = torch.zeros(hid, dtype=x.dtype)
        for t in range(xi.shape[0]):
            prefix = xi[: t + 1]  # (t+1, N)
            e = att.w2(torch.tanh(att.w1(prefix)))  # (t+1, r)
            a = torch.softmax(e, dim=0)  # over the prefix, per hop
            mixed = a.T @ prefix  # (r, N)
            m = mixed.mean(0) if att.variant == "vector" else mixed.reshape(-1)
            gates = w_ih @ m + w_hh @ h + b
            ig, fg, gg, og = gates.chunk(4)
            c = torch.sigmoid(fg) * c + torch.sigmoid(ig) * torch.tanh(gg)
            h = torch.sigmoid(og) * torch.tanh(c)
        outputs.append(model.classifier(h))
    return torch.stack(outputs)


@pytest.mark.parametrize(
    "name, chunk, hidden",
    [
        ("inputcell_lstm", 32, 4),
        ("inputcell_lstm", 4, 4),
        ("inputcell_lstm", 2, 4),
        ("inputcell_lstm", 32, 1),
        ("inputcell_lstm", 4, 1),
        ("inputcell_lstm_matrix", 32, 4),
    ],
)
def test_fused_inputcell_matches_step_by_step_reference(name, chunk, hidden):
    """chunk 32: one T x T matrix for the 9 steps; 4 and 2: the running state carries earlier chunks
    (3 x 3 and 5 x 2 steps, the last chunk padded).  hidden 1: 4 gates < 6 features, so the model
    mixes the LSTM's input projection instead of the inputs."""
    torch.manual_seed(0)
    cfg = ModelConfig(n_features=6, hidden=hidden, r=3, d_a=5, dropout=0.0)
    model = build_model(name, cfg).double().eval()
    model.attention.chunk = chunk
    x_probe = torch.zeros(1, 1, 6, dtype=torch.float64)
    assert model._mix_projection(x_probe) == (hidden == 1 and name == "inputcell_lstm")
    x = torch.randn(4, 9, 6, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([9, 5, 1, 7])
    # padding holds large junk that must not leak into valid outputs
    with torch.no_grad():
        x[1, 5:] = 50.0
        x[2, 1:] = -80.0
    fused = model(x, lengths)
    ref = reference_inputcell_lstm(model, x, lengths)
    assert torch.allclose(fused, ref, atol=1e-10, rtol=0)

    weights = torch.randn_like(fused)
    g_fused = torch.autograd.grad((fused * weights).sum(), [x, *model.parameters()])
    g_ref = torch.autograd.grad((ref * weights).sum(), [x, *model.parameters()], allow_unused=True)
    valid = length_mask(lengths, 9).unsqueeze(-1)
    assert torch.allclose(g_fused[0] * valid, g_ref[0] * valid, atol=1e-10, rtol=0)
    for a, b in zip(g_fused[1:], g_ref[1:], strict=True):
        assert b is not None  # every parameter lies on the reference's path too
        assert torch.allclose(a, b, atol=1e-10, rtol=0)
    # padding positions get exactly zero gradient
    assert torch.count_nonzero(g_fused[0] * ~valid) == 0


@pytest.mark.parametrize("name", ["inputcell_lstm", "inputcell_gru", "inputcell_lstm_meanpool"])
def test_mixing_the_input_projection_equals_mixing_the_inputs(name, monkeypatch):
    """The paper's H = 5 on many features mixes x @ W_ih^T (fewer columns); outputs and every
    gradient equal the plain order (mix, then the recurrence's own input weights)."""
    torch.manual_seed(5)
    cfg = ModelConfig(n_features=12, hidden=2, r=3, d_a=4, dropout=0.0)
    model = build_model(name, cfg).double().eval()
    x = torch.randn(3, 11, 12, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([11, 6, 3])
    assert model._mix_projection(x)
    projected = model(x, lengths)
    g_projected = torch.autograd.grad(projected.sum(), [x, *model.parameters()])
    monkeypatch.setattr(type(model), "_mix_projection", lambda self, x: False)
    plain = model(x, lengths)
    g_plain = torch.autograd.grad(plain.sum(), [x, *model.parameters()])
    assert torch.allclose(projected, plain, atol=1e-12, rtol=0)
    for a, b in zip(g_projected, g_plain, strict=True):
        assert torch.allclose(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("n_time, chunk", [(1, 4), (7, 1), (7, 3), (12, 4), (12, 12), (13, 50)])
def test_causal_mix_equals_the_dense_lower_triangular_product(n_time, chunk):
    torch.manual_seed(n_time + chunk)
    left, right = torch.rand(3, n_time, 4, dtype=torch.float64), torch.rand(3, n_time, 4, dtype=torch.float64)
    x = torch.randn(3, n_time, 5, dtype=torch.float64)
    dense = torch.tril(left @ right.transpose(1, 2)) @ x
    assert torch.allclose(causal_mix(left, right, x, chunk), dense, atol=1e-12, rtol=0)


@pytest.mark.parametrize("scale, min_span", [(250.0, 200), (400.0, 300)])
def test_exact_and_factorised_paths_agree_and_wide_scores_stay_finite_in_float32(scale, min_span):
    """scale 250 keeps the factorised float64 path (span < 300), 400 forces the exact log-space one."""
    torch.manual_seed(1)
    att = InputCellAttention(n_features=8, r=4, d_a=6)
    x = torch.randn(3, 30, 8)
    lengths = torch.tensor([30, 12, 25])
    with torch.no_grad():  # blow the scores up to span hundreds
        att.w2.weight.mul_(scale)
    e = att.scores(x)
    span = (e.amax(1) - e.amin(1)).max().item()
    assert span > min_span
    x.requires_grad_(True)
    out = att(x, lengths)
    assert torch.isfinite(out).all()
    (g,) = torch.autograd.grad(out.sum(), x)
    assert torch.isfinite(g).all()
    # the same values via the exact (t, s, r) weights, in float64
    w = att.double().prefix_weights(x.double(), lengths)
    exact = torch.einsum("btsk,bsn->btn", w, x.double()) / att.r
    valid = length_mask(lengths, 30).unsqueeze(-1)
    assert torch.allclose(out.double() * valid, exact * valid, atol=1e-4)


@pytest.mark.parametrize("variant", ["vector", "matrix"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_no_nan_for_score_spans_of_ten_thousand(variant, dtype):
    """A later step may outscore the prefix by ~1e4: exp of that overflows unless masked before exp."""
    torch.manual_seed(4)
    att = InputCellAttention(n_features=6, r=3, d_a=5, variant=variant)
    with torch.no_grad():
        att.w2.weight.mul_(1e4)
        att.w2.bias.fill_(0.0)
    att = att.to(dtype)
    x = torch.randn(3, 25, 6, dtype=dtype)
    lengths = torch.tensor([25, 10, 18])
    e = att.scores(x).double()
    assert (e.amax(1) - e.amin(1)).max().item() > 1e4
    x.requires_grad_(True)
    out = att(x, lengths)
    (g,) = torch.autograd.grad(out.sum(), x)
    assert torch.isfinite(out).all() and torch.isfinite(g).all()
    # against a per-step softmax over the prefix (stable at any span), in float64, of the same scores
    xd = x.detach().double()
    ed = att.scores(x.detach()).double()
    for b in range(3):
        for t in range(int(lengths[b])):
            a = torch.softmax(ed[b, : t + 1], dim=0)  # (t+1, r)
            mixed = a.T @ xd[b, : t + 1]  # (r, N)
            want = mixed.mean(0) if variant == "vector" else mixed.reshape(-1)
            assert torch.allclose(out[b, t].double(), want, atol=1e-5 if dtype == torch.float32 else 1e-10)


def test_prefix_weights_are_causal_softmaxes():
    torch.manual_seed(2)
    att = InputCellAttention(n_features=5, r=3, d_a=4).double()
    x = torch.randn(2, 7, 5, dtype=torch.float64)
    lengths = torch.tensor([7, 4])
    w = att.prefix_weights(x, lengths)  # (B, t, s, r)
    sums = w.sum(2)
    assert torch.allclose(sums[0], torch.ones(7, 3, dtype=torch.float64))
    assert torch.allclose(sums[1, :4], torch.ones(4, 3, dtype=torch.float64))
    assert torch.all(w[:, torch.triu_indices(7, 7, 1)[0], torch.triu_indices(7, 7, 1)[1]] == 0)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_architecture_ignores_padding(name):
    torch.manual_seed(3)
    cfg = ModelConfig(n_features=5, hidden=3, r=2, d_a=4, dropout=0.0, selfattn_hops=2, selfattn_d_a=4)
    model = build_model(name, cfg).double().eval()
    x = torch.randn(3, 8, 5, dtype=torch.float64)
    lengths = torch.tensor([8, 5, 2])
    out = model(x, lengths)
    assert out.shape == (3, 2)
    junk = x.clone()
    junk[1, 5:] = 1e3
    junk[2, 2:] = -7.0
    assert torch.allclose(model(junk, lengths), out, atol=1e-12)
    # a padded sequence gives what the same sequence gives alone, unpadded
    alone = model(x[1:2, :5], torch.tensor([5]))
    assert torch.allclose(alone, out[1:2], atol=1e-12)
    assert name in LABELS


def test_bilstm_reads_backward_state_at_first_step():
    torch.manual_seed(4)
    cfg = ModelConfig(n_features=4, hidden=3, dropout=0.0)
    model = build_model("bilstm", cfg).double().eval()
    x = torch.randn(1, 6, 4, dtype=torch.float64, requires_grad=True)
    out = model(x, torch.tensor([6]))
    # the backward direction makes the first input reach the readout through one step
    reverse = torch.nn.LSTM(4, 3, batch_first=True).double()
    reverse.load_state_dict({k.replace("_reverse", ""): v for k, v in model.rnn.state_dict().items() if "reverse" in k})
    _, (h_back, _) = reverse(torch.flip(x, [1]))
    forward_part = model.rnn(x)[0][0, -1, :3]
    feat = torch.cat([forward_part, h_back[0, 0]])
    assert torch.allclose(out[0], model.classifier(feat), atol=1e-12)


def test_unknown_architecture_names_the_choices():
    with pytest.raises(ConfigError, match="unknown architecture 'transformer'.*inputcell_lstm"):
        build_model("transformer", ModelConfig(n_features=3))


def test_the_torch_free_name_lists_match_the_registries():
    from vanishing_saliency.labels import ARCHITECTURES, SALIENCY_METHODS
    from vanishing_saliency.models import REGISTRY
    from vanishing_saliency.saliency import METHODS

    assert set(ARCHITECTURES) == set(REGISTRY) and len(ARCHITECTURES) == len(REGISTRY)
    assert METHODS == SALIENCY_METHODS


def test_building_the_dag_does_not_import_torch(tmp_path):
    # torch takes ~2 s to import; the Snakefile and rules/*.smk need only names (vanishing_saliency.labels)
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    probe = (
        "import sys\nfrom snakemake.cli import main\nsys.argv = ['snakemake', '-s', sys.argv[1], '-n', '--cores', '1',"
        " '--configfile', sys.argv[2]]\ntry:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "print('exit', code, 'torch' in sys.modules)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", probe, str(root / "Snakefile"), str(root / "tests" / "tiny_all_config.yaml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert res.stdout.strip().splitlines()[-1] == "exit 0 False", res.stdout[-2000:] + res.stderr[-2000:]


@pytest.mark.parametrize("name", ["inputcell_lstm", "inputcell_gru"])
def test_float32_path_agrees_with_float64(name):
    """Scores spanning less than 30 keep the weights and the mix in float32 (hidden 5 on 40
    features also mixes the input projection): outputs and input gradients match float64."""
    torch.manual_seed(6)
    model = build_model(name, ModelConfig(n_features=40, hidden=5, r=4, d_a=8, dropout=0.0)).eval()
    x = torch.randn(5, 60, 40, requires_grad=True)
    lengths = torch.tensor([60, 41, 60, 7, 33])
    assert model._mix_projection(x)
    out32 = model(x, lengths)
    (g32,) = torch.autograd.grad(out32.sum(), x)
    model64 = build_model(name, ModelConfig(n_features=40, hidden=5, r=4, d_a=8, dropout=0.0)).double().eval()
    model64.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    x64 = x.detach().double().requires_grad_(True)
    out64 = model64(x64, lengths)
    (g64,) = torch.autograd.grad(out64.sum(), x64)
    assert torch.allclose(out32.double(), out64, atol=1e-5, rtol=1e-4)
    assert torch.allclose(g32.double(), g64, atol=1e-6, rtol=1e-3)


def _partial_twins(window, n_time=12, seed=0):
    """A partial input-cell model of window ``window`` and its full twin, with the same weights (float64)."""
    torch.manual_seed(seed)
    cfg = ModelConfig(n_features=4, hidden=3, r=3, d_a=5, dropout=0.0, window=window)
    partial = build_model("inputcell_lstm_partial", cfg).double().eval()
    full = build_model("inputcell_lstm", cfg).double().eval()
    full.load_state_dict(partial.state_dict())
    x = torch.randn(5, n_time, 4, dtype=torch.float64) * 3
    lengths = torch.tensor([n_time, 9, 5, 1, n_time])
    return partial, full, x, lengths


def test_partial_input_cell_attention_with_k_at_least_t_is_the_full_model():
    for window in (12, 40):
        partial, full, x, lengths = _partial_twins(window)
        assert torch.allclose(partial(x, lengths), full(x, lengths), atol=1e-12)
    partial, full, x, lengths = _partial_twins(5)  # a shorter window mixes less: a different model
    assert not torch.allclose(partial(x, lengths), full(x, lengths), atol=1e-6)


def test_partial_input_cell_attention_with_k_0_or_1_is_a_plain_lstm():
    for window in (0, 1):
        partial, _, x, lengths = _partial_twins(window)
        plain = build_model("lstm", partial.cfg).double().eval()
        plain.load_state_dict({k: v for k, v in partial.state_dict().items() if not k.startswith("attention.")})
        assert torch.allclose(partial(x, lengths), plain(x, lengths), atol=1e-12)


def test_partial_weights_cover_the_last_k_steps_and_sum_to_one():
    partial, _, x, lengths = _partial_twins(4)
    w = partial.attention.prefix_weights(x, lengths)  # (B, t, s, r)
    t, s = torch.meshgrid(torch.arange(12), torch.arange(12), indexing="ij")
    outside = (s > t) | (t - s >= 4)
    assert (w[:, outside] == 0).all()
    valid = torch.arange(12).unsqueeze(0) < lengths.unsqueeze(1)  # (B, t)
    assert torch.allclose(w.sum(2)[valid], torch.ones_like(w.sum(2)[valid]))
    with pytest.raises(ConfigError, match="window K must be >= 0"):
        build_model("inputcell_lstm_partial", ModelConfig(n_features=4, window=-1))


def test_partial_banded_weights_equal_the_exact_log_space_ones():
    """The factorised banded weights (moving sums) against the exact log-space prefix weights: values and gradients
    to 1e-12 in float64, with padding, every window from 2 to T - 1; a span beyond exp(300) takes the exact path."""
    for window in (2, 3, 7, 11):
        partial, _, x, lengths = _partial_twins(window)
        att = partial.attention
        xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        fast = att.banded_mix(xa, lengths)
        exact = att.prefix_weights(xb, lengths).sum(-1) / att.r
        assert torch.allclose(fast, exact, atol=1e-12, rtol=0)
        g = torch.randn_like(fast)
        (ga,) = torch.autograd.grad((fast * g).sum(), xa)
        (gb,) = torch.autograd.grad((exact * g).sum(), xb)
        assert torch.allclose(ga, gb, atol=1e-12, rtol=1e-9)
    with torch.no_grad():
        for p in att.parameters():
            p.mul_(1e3)  # scores spanning far beyond exp(300)
        e = att.scores(x)
    assert (e.amax(1) - e.amin(1)).max() > 300
    wide = att.banded_mix(x, lengths)
    assert torch.isfinite(wide).all() and torch.equal(wide, att.prefix_weights(x, lengths).sum(-1) / att.r)


def test_partial_input_cell_attention_trains_on_padded_batches():
    """Finite gradients everywhere; a padding step gets none (its window holds no valid step)."""
    torch.manual_seed(0)
    model = build_model("inputcell_lstm_partial", ModelConfig(n_features=4, hidden=3, r=3, d_a=5, window=3))
    x = torch.randn(4, 10, 4, requires_grad=True)
    model(x, torch.tensor([10, 7, 3, 1])).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert torch.isfinite(x.grad).all() and (x.grad[2, 3:] == 0).all() and x.grad[2, :3].abs().sum() > 0


def test_dropout_masks_are_bernoulli_seeded_and_scaled_like_torch():
    from scipy import stats

    from vanishing_saliency.models import Dropout, dropout_mask

    p, shape = 0.1, (50, 100, 100)
    x = torch.ones(shape, requires_grad=True)
    drop = Dropout(p).train()
    torch.manual_seed(3)
    y = drop(x)
    kept = y != 0
    # kept entries scaled by 1 / (1 - p) as nn.Dropout scales them, dropped ones 0, and the gradient the same mask
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / (1 - p))) and (y[~kept] == 0).all()
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())
    # the kept count is Binomial(n, 1 - p): a two-sided test at 0.001 (a mask drawn with another rate fails it)
    n, k = kept.numel(), int(kept.sum())
    assert stats.binomtest(k, n, 1 - p).pvalue > 1e-3
    assert stats.binomtest(int(dropout_mask(shape, 0.2).sum()), n, 1 - p).pvalue < 1e-3
    # no structure along any axis: each time step and feature keeps about 1 - p
    per_step = kept.float().mean((0, 2))
    assert (per_step - (1 - p)).abs().max() < 0.02
    # the same torch seed gives the same mask, another seed another; it draws from torch's stream (one number)
    torch.manual_seed(3)
    assert torch.equal(drop(torch.ones(shape)) != 0, kept)
    torch.manual_seed(4)
    assert not torch.equal(drop(torch.ones(shape)) != 0, kept)
    g = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    assert torch.equal(dropout_mask(shape, p, g), dropout_mask(shape, p))
    # eval mode and p = 0 pass the input through; p = 1 drops everything
    assert drop.eval()(x) is x and Dropout(0.0).train()(x) is x
    assert (Dropout(1.0).train()(x) == 0).all()
