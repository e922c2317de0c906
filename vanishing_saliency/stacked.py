"""Several seeds of one architecture trained together, each exactly as if it had trained alone.

A training job of this workflow trains a model with 5 hidden units on about a thousand sequences: the
process start, the imports and the per-operation overhead of tiny tensors cost more than the arithmetic,
so eight seeds trained one after the other cost eight times one.  Here the seeds' parameters are stacked
along a leading seed dimension and every operation runs once for all of them:

- the input projections, input-cell attention's scores, the self-attention readout and the classifier are
  batched matrix products over the seed dimension (``torch.einsum``);
- input-cell attention's causal mix has no parameters: the seeds go along the batch;
- the recurrence is one ``torch.lstm`` / ``torch.gru`` kernel (the one ``nn.LSTM`` calls) whose hidden
  state is the seeds' states side by side, with a block-diagonal recurrent weight: seed ``s``'s units
  see only seed ``s``'s units, so the blocks are the seeds' own ``W_hh`` and nothing else;
- the Bi-LSTM's backward direction runs on each sequence reversed within its own length, which is what
  ``pack_padded_sequence`` gives ``nn.LSTM``.

Each seed keeps what makes it that seed: its initial weights (the model :func:`~.models.build_model`
makes after ``torch.manual_seed(seed)``), its validation split and data order (generators seeded as
:func:`~.training.train_model` seeds them), its dropout masks (drawn from a generator that continues
the global stream where that seed's initialisation left it, so the masks are the ones it would draw alone),
its Adam moments (elementwise, so stacking changes nothing), its loss (the stacked loss is the sum of the
seeds' losses, so each seed's gradient is its own), and its stopping rule and kept checkpoint.  A seed
that has stopped keeps its checkpoint; its block goes on being computed with the others until every seed
has stopped, and nothing it computes after its stop is read.  The numbers match the seed trained alone to
float rounding (the products are summed in another order); ``tests/test_stacked.py`` checks the weights
after training, the kept epoch and the test accuracy, and ``benchmarks/bench_seeds.py`` measures the gain.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .models import (
    InputCellAttention,
    ModelConfig,
    SequenceClassifier,
    build_model,
    dropout_mask,
    length_mask,
    scaled_mask,
)
from .torch_startup import adam, adam_of_rows, set_determinism
from .training import DTYPES, TrainConfig, _improves, evaluate, split_validation, train_model

__all__ = ["StackedClassifier", "train_stacked"]


def _dropout(x: torch.Tensor, p: float, generators) -> torch.Tensor:
    """Inverted dropout of ``x: (S, ...)`` with seed ``s``'s mask drawn from ``generators[s]`` the way
    :class:`~.models.Dropout` draws it alone (:func:`~.models.dropout_mask`)."""
    if generators is None or p <= 0:
        return x
    if p >= 1:
        return torch.zeros_like(x)
    return x.mul(scaled_mask(torch.stack([dropout_mask(x.shape[1:], p, g) for g in generators]), p, x))


class _SeedScores(InputCellAttention):
    """Input-cell attention whose scores come from each seed's own ``W1`` / ``W2``; the rest (the prefix
    softmax and the causal mix) is :class:`~.models.InputCellAttention`'s, with the seeds along the batch."""

    def __init__(self, owner: StackedClassifier, template: InputCellAttention):
        super().__init__(
            template.n_features,
            template.r,
            template.d_a,
            template.variant,
            chunk=template.chunk,
            window=template.window,
        )
        del self.w1, self.w2  # the seeds' weights live in the owner's parameters
        object.__setattr__(self, "_owner", owner)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        o = self._owner
        s = o.n_seeds
        x = x.reshape(s, -1, *x.shape[1:])  # (S, B, T, N)
        hidden = torch.tanh(_linear(x, o.p("attention.w1.weight"), o.p("attention.w1.bias")))
        e = _linear(hidden, o.p("attention.w2.weight"), o.p("attention.w2.bias"))
        return e.reshape(-1, *e.shape[2:])


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``x @ W^T + b`` per seed: ``x: (S, ..., in)``, ``weight: (S, out, in)``, ``bias: (S, out)``."""
    shape = x.shape
    out = torch.bmm(x.reshape(shape[0], -1, shape[-1]), weight.transpose(1, 2))
    if bias is not None:
        out = out + bias.unsqueeze(1)
    return out.reshape(*shape[:-1], weight.shape[1])


class StackedClassifier(nn.Module):
    """The seeds of one :class:`~.models.SequenceClassifier` architecture, parameters stacked along a leading
    seed dimension.

    x: (S, batch, time, features), lengths: (S, batch) -> logits (S, batch, n_classes)

    Parameters
    ----------
    models : list of SequenceClassifier
        One model per seed, of the same architecture and configuration; their weights are copied.
    """

    def __init__(self, models: list[SequenceClassifier]):
        super().__init__()
        first = models[0]
        self.arch, self.cfg, self.n_seeds = first.arch, first.cfg, len(models)
        self.names = [n for n, _ in first.named_parameters()]
        states = [dict(m.named_parameters()) for m in models]
        self.stack = nn.ParameterList(
            [nn.Parameter(torch.stack([st[n].detach() for st in states]).clone()) for n in self.names]
        )
        self._index = {n: i for i, n in enumerate(self.names)}
        self.attention = None if first.attention is None else _SeedScores(self, first.attention)
        self._mix_projection = first.attention is not None and first._mix_projection(
            torch.empty(1, 1, first.cfg.n_features)
        )
        self.last_penalty = None
        self.wide_kernel = False  # True: one block-diagonal kernel call for every seed on the CPU too

    def keep(self, rows: list[int]) -> None:
        """Keep only the seeds at positions ``rows`` (new parameters: an optimizer must be rebuilt, see
        :func:`.torch_startup.adam_of_rows`)."""
        self.stack = nn.ParameterList([nn.Parameter(p.detach()[rows].clone()) for p in self.stack])
        self.n_seeds = len(rows)

    def p(self, name: str) -> torch.Tensor | None:
        """The stacked parameter ``name`` (a name of the single model's ``named_parameters``), or None."""
        i = self._index.get(name)
        return None if i is None else self.stack[i]

    def state_dicts(self) -> list[dict]:
        """Each seed's parameters as a single model's ``state_dict`` (copies, on the CPU)."""
        return [
            {n: self.stack[i][s].detach().to("cpu", copy=True) for i, n in enumerate(self.names)}
            for s in range(self.n_seeds)
        ]

    def models(self, name: str) -> list[SequenceClassifier]:
        """Each seed as a :class:`~.models.SequenceClassifier` of architecture ``name`` (eval mode)."""
        dtype = self.stack[0].dtype
        out = []
        for state in self.state_dicts():
            m = build_model(name, self.cfg).to(dtype)
            m.load_state_dict(state)
            out.append(m.eval())
        return out

    # ---- the forward pass ---------------------------------------------------------------------------------------
    def _recurrence(self, gates: torch.Tensor, prefix: str) -> torch.Tensor:
        """``gates: (S, B, T, G)`` (inputs times ``W_ih^T``) through each seed's recurrence -> ``(S, B, T, H)``.

        On a GPU one kernel call runs every seed: the seeds' states side by side, the recurrent weight
        block-diagonal and an identity input weight.  On the CPU that identity's products grow with the square of
        the seeds (oneDNN multiplies every step's inputs by it, forward and backward: 8 seeds of the paper's H = 5
        made an LSTM epoch 1.6 times the 8 seeds' epochs one by one), while the kernel's cost per seed does not
        shrink with width; so each seed gets its own call there (``benchmarks/bench_seeds.py --kernel``)."""
        s = gates.shape[0]
        group = s if gates.device.type != "cpu" or self.wide_kernel else 1
        return torch.cat([self._kernel(gates[i : i + group], prefix, i) for i in range(0, s, group)])

    def _kernel(self, gates: torch.Tensor, prefix: str, first: int) -> torch.Tensor:
        """Seeds ``first, first + 1, ...`` (``gates: (k, B, T, G)``) in one ``torch.lstm`` / ``torch.gru`` call."""
        s, b, t, g = gates.shape
        h = self.cfg.hidden
        n_gate = g // h
        rows = slice(first, first + s)
        wide = gates.reshape(s, b, t, n_gate, h).permute(1, 2, 3, 0, 4).reshape(b, t, n_gate * s * h)
        w_hh = self.p(f"rnn.weight_hh_l0{prefix}")[rows]
        if s > 1:
            eye_s = torch.eye(s, dtype=gates.dtype, device=gates.device)
            w_hh = torch.einsum("skij,sq->ksiqj", w_hh.reshape(s, n_gate, h, h), eye_s).reshape(n_gate * s * h, s * h)
        else:
            w_hh = w_hh[0]

        def bias(name):
            return self.p(name)[rows].reshape(s, n_gate, h).transpose(0, 1).reshape(-1)

        eye = torch.eye(n_gate * s * h, dtype=gates.dtype, device=gates.device)
        params = [eye, w_hh, bias(f"rnn.bias_ih_l0{prefix}"), bias(f"rnn.bias_hh_l0{prefix}")]
        h0 = gates.new_zeros(1, b, s * h)
        flags = dict(
            has_biases=True, num_layers=1, dropout=0.0, train=self.training, bidirectional=False, batch_first=True
        )
        if self.arch.cell == "gru":
            out, _ = torch.gru(wide, h0, params, **flags)
        else:
            out, _, _ = torch.lstm(wide, (h0, h0), params, **flags)
        return out.reshape(b, t, s, h).permute(2, 0, 1, 3)

    def hidden_states(self, x: torch.Tensor, lengths: torch.Tensor, generators=None) -> torch.Tensor:
        """Each seed's recurrent outputs ``(S, B, T, H or 2H)``; ``generators``: one per seed for the input dropout
        (None: no dropout, as in eval mode)."""
        s, b, t, _ = x.shape
        x = _dropout(x, self.cfg.dropout, generators if self.training else None)
        folded = lengths.reshape(-1)
        if self._mix_projection:
            values = _linear(x, self.p("rnn.weight_ih_l0"), None)
            gates = self.attention(x.reshape(s * b, t, -1), folded, values=values.reshape(s * b, t, -1))
            return self._recurrence(gates.reshape(s, b, t, -1), "")
        if self.attention is not None:
            x = self.attention(x.reshape(s * b, t, -1), folded).reshape(s, b, t, -1)
        out = self._recurrence(_linear(x, self.p("rnn.weight_ih_l0"), None), "")
        if self.arch.cell != "bilstm":
            return out
        # the backward direction: each sequence reversed within its length (padding stays at the end)
        steps = torch.arange(t, device=x.device)
        last = (lengths - 1).unsqueeze(-1)
        valid = steps < lengths.unsqueeze(-1)  # (S, B, T)
        idx = torch.where(valid, last - steps, steps)
        rev = torch.gather(x, 2, idx.unsqueeze(-1).expand_as(x))
        back = self._recurrence(_linear(rev, self.p("rnn.weight_ih_l0_reverse"), None), "_reverse")
        back = torch.gather(back, 2, idx.unsqueeze(-1).expand_as(back))
        keep = valid.unsqueeze(-1).to(out.dtype)
        return torch.cat([out * keep, back * keep], dim=-1)  # padding rows zero, as packed sequences give

    def readout(self, h: torch.Tensor, lengths: torch.Tensor, generators=None) -> torch.Tensor:
        """Logits ``(S, B, n_classes)`` from ``h: (S, B, T, H or 2H)`` (the single model's readouts, per seed)."""
        s, b, t, _ = h.shape
        mask = length_mask(lengths.reshape(-1), t).reshape(s, b, t)
        last = (lengths - 1).clamp(min=0)
        if self.arch.readout == "last":
            at_last = torch.gather(h, 2, last[..., None, None].expand(s, b, 1, h.shape[-1])).squeeze(2)
            if self.arch.cell == "bilstm":
                hid = self.cfg.hidden
                feat = torch.cat([at_last[..., :hid], h[:, :, 0, hid:]], dim=-1)
            else:
                feat = at_last
        elif self.arch.readout == "max":
            feat = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=2)
        elif self.arch.readout == "mean":
            feat = (h * mask.unsqueeze(-1)).sum(2) / lengths.clamp(min=1).unsqueeze(-1).to(h.dtype)
        else:
            feat = self._selfattn(h, mask)
        feat = _dropout(feat, self.cfg.dropout, generators if self.training else None)
        return _linear(feat, self.p("classifier.weight"), self.p("classifier.bias"))

    def _selfattn(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """:class:`~.models.StructuredSelfAttention` per seed; each seed's penalty in ``last_penalty`` ``(S,)``."""
        scores = _linear(
            torch.tanh(_linear(h, self.p("selfattn.ws1.weight"), None)), self.p("selfattn.ws2.weight"), None
        )
        scores = scores.masked_fill(~mask.unsqueeze(-1), float("-inf"))
        attn = torch.softmax(scores, dim=2)  # (S, B, T, hops)
        a = attn.transpose(2, 3)
        eye = torch.eye(a.shape[2], dtype=a.dtype, device=a.device)
        self.last_penalty = ((a @ a.transpose(2, 3) - eye) ** 2).sum((2, 3)).mean(1)
        pooled = torch.einsum("sbth,sbtk->sbkh", h, attn)
        return pooled.flatten(2) if self.cfg.selfattn_form == "lin2017" else pooled.mean(2)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, generators=None) -> torch.Tensor:
        """Logits ``(S, B, n_classes)``; ``generators`` (one per seed) draw the dropout masks in training mode."""
        lengths = lengths.to(device=x.device, dtype=torch.long)
        return self.readout(self.hidden_states(x, lengths, generators), lengths, generators)

    def regularization(self) -> torch.Tensor | None:
        """Each seed's extra loss term ``(S,)`` of the last forward (as
        :meth:`~.models.SequenceClassifier.regularization`)."""
        if self.arch.readout != "selfattn" or self.cfg.selfattn_form != "lin2017" or not self.cfg.selfattn_penalty:
            return None
        return self.cfg.selfattn_penalty * self.last_penalty


def _per_seed(data, n_seeds: int, dtype, device) -> tuple[torch.Tensor, ...]:
    """``(x, y, lengths)`` as ``(S, n, ...)`` tensors: each a single array every seed shares (an expanded view, no
    copy) or a list of one array per seed (label-permuted or time-shuffled runs), all of the same shape."""
    out = []
    for v, kind in zip(data, (dtype, torch.long, torch.long), strict=True):
        if isinstance(v, list | tuple):
            if len(v) != n_seeds or len({np.shape(a) for a in v}) != 1:
                raise ValueError(f"per-seed data needs one array per seed ({n_seeds}), all of one shape")
            t = torch.stack([torch.as_tensor(np.asarray(a), dtype=kind) for a in v])
        else:
            t = torch.as_tensor(np.asarray(v), dtype=kind)
            t = t.unsqueeze(0).expand(n_seeds, *t.shape)
        out.append(t.to(device))
    return tuple(out)


@torch.no_grad()
def _evaluate(model: StackedClassifier, x, y, lengths, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Per-seed (accuracy, mean cross-entropy) on per-seed splits ``x: (S, n, T, F)``, ``y, lengths: (S, n)``."""
    model.eval()
    logits = torch.cat(
        [model(x[:, i : i + batch_size], lengths[:, i : i + batch_size]) for i in range(0, x.shape[1], batch_size)],
        dim=1,
    )
    loss = nn.functional.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(1)
    acc = (logits.argmax(-1) == y).double().mean(1)
    return acc.cpu().numpy(), loss.double().cpu().numpy()


def _in_turn(name, model_cfg, train_cfgs, x, y, lengths, seeds, progress, desc, val) -> list:
    """:func:`train_stacked`'s runs one after the other, each by :func:`~.training.train_model` (``stack=False``)."""

    def pick(values, i):
        return values[i] if isinstance(values, (list, tuple)) else values

    out = []
    for i, (seed, tcfg) in enumerate(zip(seeds, train_cfgs, strict=True)):
        model, info = train_model(
            name,
            model_cfg,
            tcfg,
            pick(x, i),
            pick(y, i),
            pick(lengths, i),
            seed=int(seed),
            progress=progress,
            desc=f"{desc or name} {i + 1}/{len(seeds)}",
            val=None if val is None else tuple(pick(v, i) for v in val),
        )
        out.append((model, {**info, "stacked": [], "seed": int(seed)}))
    return out


def train_stacked(
    name: str,
    model_cfg: ModelConfig,
    train_cfgs: list[TrainConfig],
    x,
    y,
    lengths,
    seeds: list[int],
    progress: bool = True,
    desc: str | None = None,
    val=None,
    device: str = "cpu",
    stack: bool = True,
):
    """Train architecture ``name`` once per seed of ``seeds``, all together; returns ``[(model, info), ...]`` as
    :func:`~.training.train_model` returns them for each seed alone (``info["stacked"]``: the seeds trained together;
    empty where they were trained one after the other).

    ``stack``: True (the default) stacks the seeds (:class:`StackedClassifier`); False trains them one after the other
    with :func:`~.training.train_model`, the same runs to float rounding.  On the CPU neither wins everywhere: with 8
    seeds on 1 thread one after the other was 1.03-1.24 times faster for the LSTM and input-cell attention
    (``benchmarks/bench_seeds.py``), but a default run trained that way took 35.3 min against 33.3 stacked, its
    Bi-LSTM jobs 1.2-1.5 times as long (alone, ``nn.LSTM`` runs a Bi-LSTM on packed sequences; stacked, each direction
    is one plain kernel call), so the workflow stacks.

    ``x``, ``y``, ``lengths`` (and the three of ``val``): arrays every seed trains on, or lists of one array per seed
    (labels permuted per run, samples shuffled in time per run).  ``train_cfgs``: one per seed; they may differ in
    ``max_epochs``, ``patience``, the stopping accuracy and the checkpoint rule (a permuted-label run trains for its
    seed's kept epochs) but not in batch size, learning rate, dtype or validation fraction.  ``device``: where the
    arithmetic runs (``"cuda"`` on a GPU); the data order and dropout masks are drawn on the CPU as alone, and the
    models come back on the CPU.
    """
    if not seeds:
        return []
    if not stack:
        return _in_turn(name, model_cfg, train_cfgs, x, y, lengths, seeds, progress, desc, val)
    tcfg = train_cfgs[0]
    shared = ("batch_size", "lr", "dtype", "val_fraction")
    if any(getattr(c, k) != getattr(tcfg, k) for c in train_cfgs for k in shared):
        raise ValueError(f"seeds trained together must share {', '.join(shared)}")
    for c in train_cfgs:  # an unknown rule fails first, as alone
        _improves(c.selection, 0.0, 0.0, {"val_accuracy": 0.0, "val_loss": 0.0})
    dtype = DTYPES[tcfg.dtype]
    threads = torch.get_num_threads()
    n_seeds = len(seeds)
    x_all, y_all, l_all = _per_seed((x, y, lengths), n_seeds, dtype, device)  # (S, n, ...): views where shared
    models, dropout_gens, order_gens, splits = [], [], [], []
    for seed in seeds:
        set_determinism(seed, threads)
        models.append(build_model(name, model_cfg).to(dtype))
        g = torch.Generator()
        g.set_state(torch.get_rng_state())  # the global stream from where this seed's initialisation left it
        dropout_gens.append(g)
        order_gens.append(torch.Generator().manual_seed(seed))
        if val is None:
            splits.append(split_validation(y_all[len(splits)].cpu().numpy(), tcfg.val_fraction, seed))
        else:
            splits.append((np.arange(x_all.shape[1]), None))
    sizes = {(len(tr), None if va is None else len(va)) for tr, va in splits}
    if len(sizes) != 1:
        raise ValueError(f"the seeds' validation splits differ in size ({sorted(sizes)}): train them one by one")
    tr_idx = torch.as_tensor(np.stack([tr for tr, _ in splits]))  # (S, n_train)
    rows = torch.arange(n_seeds).unsqueeze(1)
    if val is None:
        val_idx = torch.as_tensor(np.stack([va for _, va in splits]))
        x_val, y_val, l_val = x_all[rows, val_idx], y_all[rows, val_idx], l_all[rows, val_idx]
    else:
        x_val, y_val, l_val = _per_seed(val, n_seeds, dtype, device)
    n_val = x_val.shape[1]
    stacked = StackedClassifier(models).to(device)
    opt = adam(stacked.parameters(), lr=tcfg.lr)
    s_all = len(seeds)
    best = [{"val_accuracy": -1.0, "val_loss": float("inf"), "epoch": 0, "state": None} for _ in seeds]
    initial = stacked.state_dicts()
    for b, st in zip(best, initial, strict=True):
        b["state"] = st
    history: list[list[dict]] = [[] for _ in seeds]
    stale = [0] * s_all
    running = [c.max_epochs > 0 for c in train_cfgs]
    active = list(range(s_all))  # the seeds (their positions in ``seeds``) still in the stack, in order
    start = time.perf_counter()
    n_train = tr_idx.shape[1]
    bar = tqdm(
        total=max(c.max_epochs for c in train_cfgs),
        desc=desc or f"{name} x{s_all} seeds",
        disable=not progress,
        mininterval=1.0,
    )
    epoch = 0
    while any(running):
        if [s for s in active if running[s]] != active:  # a seed stopped: its block leaves the stack
            rows = [j for j, s in enumerate(active) if running[s]]
            old_params = list(stacked.parameters())
            stacked.keep(rows)
            opt = adam_of_rows(opt, old_params, list(stacked.parameters()), rows)
            active = [active[j] for j in rows]
        seats = torch.as_tensor(active).unsqueeze(1)  # (S, 1): rows of the per-seed data
        epoch += 1
        stacked.train()
        gens = [dropout_gens[s] for s in active]
        orders = torch.stack([torch.randperm(n_train, generator=order_gens[s]) for s in active])  # (S, n_train)
        correct = torch.zeros(s_all, dtype=torch.long)
        total_loss = torch.zeros(s_all, dtype=torch.float64)
        for i in range(0, n_train, tcfg.batch_size):
            batch = tr_idx[seats, orders[:, i : i + tcfg.batch_size]]  # (S, b): each seed's samples
            logits = stacked(x_all[seats, batch], l_all[seats, batch], gens)
            target = y_all[seats, batch]
            losses = nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="none").mean(1)  # (S,)
            penalty = stacked.regularization()
            opt.zero_grad()
            (losses + penalty if penalty is not None else losses).sum().backward()
            opt.step()
            correct[active] += (logits.argmax(-1) == target).sum(1).cpu()
            total_loss[active] += losses.detach().double().cpu() * batch.shape[1]
        train_acc = (correct.double() / n_train).numpy()
        if n_val:
            val_acc, val_loss = np.zeros(s_all), np.zeros(s_all)
            val_acc[active], val_loss[active] = _evaluate(
                stacked, x_val[seats[:, 0]], y_val[seats[:, 0]], l_val[seats[:, 0]]
            )
        else:
            val_acc, val_loss = train_acc, (total_loss / n_train).numpy()
        states = None
        for j, s in enumerate(active):
            cfg, rule = train_cfgs[s], train_cfgs[s].selection
            acc, loss = float(val_acc[s]), float(val_loss[s])
            history[s].append(
                {
                    "epoch": epoch,
                    "train_loss": float(total_loss[s]) / n_train,
                    "train_accuracy": float(train_acc[s]),
                    "val_loss": loss,
                    "val_accuracy": acc,
                }
            )
            if _improves(rule, acc, loss, best[s]):
                states = states or stacked.state_dicts()
                best[s] = {"val_accuracy": acc, "val_loss": loss, "epoch": epoch, "state": states[j]}
                stale[s] = 0
            else:
                stale[s] += 1
            done = (
                epoch >= cfg.max_epochs
                or (cfg.stop_at_train_accuracy is not None and train_acc[s] >= cfg.stop_at_train_accuracy)
                or stale[s] >= cfg.patience
                or (rule == "first_best" and best[s]["val_accuracy"] >= 1.0)
            )
            running[s] = not done
        bar.update(1)
        bar.set_postfix(
            running=sum(running),
            train_acc=f"{float(np.mean(train_acc[active])):.3f}",
            val_acc=f"{float(np.mean(val_acc[active])):.3f}",
        )
    bar.close()
    seconds = time.perf_counter() - start
    out = []
    for s, seed in enumerate(seeds):
        model = build_model(name, model_cfg).to(dtype)
        model.load_state_dict(best[s]["state"])
        model.eval()
        b = dict(best[s])
        if not history[s]:  # max_epochs = 0: the initial weights, scored on the validation set
            b["val_accuracy"], b["val_loss"] = (
                evaluate(model, x_val[s].cpu(), y_val[s].cpu(), l_val[s].cpu())
                if n_val
                else (float("nan"), float("nan"))
            )
        info = {
            "epochs_run": len(history[s]),
            "best_epoch": b["epoch"],
            "selection": train_cfgs[s].selection,
            "val_accuracy": b["val_accuracy"],
            "val_loss": b["val_loss"],
            "n_train": int(n_train),
            "n_val": int(n_val),
            "train_seconds": seconds,
            "stacked": [int(v) for v in seeds],
            "history": history[s],
            "seed": int(seed),
        }
        out.append((model, info))
    return out
