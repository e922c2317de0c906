"""Sequence classifiers: LSTM, Bi-LSTM, pooling, self-attention and input-cell attention.

Every model is batch-first and takes ``x: (batch, time, features)`` plus
``lengths: (batch,)`` (true sequence lengths; steps at or after a sequence's
length are padding and never influence its output).  Every model returns
logits ``(batch, n_classes)``; apply softmax only where a probability is
wanted (saliency), never before the cross-entropy.

Input-cell attention (Ismail et al., NeurIPS 2019) feeds each LSTM step an
attention-weighted mix of all inputs up to that step.  Because its scores
depend only on the inputs, the mixes for every step are computed at once as a
causal ("prefix") attention, and the recurrence is then an ordinary fused
``torch.nn.LSTM`` (or GRU) over the mixed sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .errors import ConfigError

SELFATTN_FORMS = ("lin2017", "mean")


def dropout_mask(shape, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """A Bernoulli(1 - ``p``) keep mask, its randomness one 64-bit seed drawn from torch's stream.

    The seed starts numpy's PCG64 (its public bit generator, ``random_raw``): each mask entry is one 32-bit word below
    ``round((1 - p) * 2**32)``, so it is kept with probability ``1 - p`` within ``2**-33``.  torch's CPU Bernoulli
    draw cost a quarter of a training batch of the paper's models; this one is 2.5 times cheaper with the scaling
    applied (``benchmarks/bench_dropout.py``), and every model trained here draws its masks this way, alone or
    with other seeds (:mod:`.stacked` draws each seed's masks from that seed's generator).

    Parameters
    ----------
    shape : tuple of int
        The mask's shape (the input's).
    p : float
        Dropout probability, 0 < p < 1.
    generator : torch.Generator, optional
        Where the seed is drawn from; None: torch's global stream, as ``nn.Dropout`` draws from it.

    Returns
    -------
    torch.Tensor
        bool, ``shape``, on the CPU: True where the entry is kept.
    """
    n = int(np.prod(shape, dtype=np.int64))
    seed = int(torch.randint(0, 2**63 - 1, (1,), generator=generator))
    words = np.random.PCG64(seed).random_raw((n + 1) // 2).view(np.uint32)[:n]
    keep = np.uint32(min(round((1.0 - p) * 2**32), 2**32 - 1))
    return torch.from_numpy(words < keep).reshape(tuple(shape))


def dropout(x: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Inverted dropout of ``x`` with the mask of :func:`dropout_mask`.

    Parameters
    ----------
    x : torch.Tensor
        The input, any shape.
    p : float
        Dropout probability; 0 returns ``x`` itself, 1 zeros.
    generator : torch.Generator, optional
        Where the mask's seed is drawn from (None: torch's global stream).

    Returns
    -------
    torch.Tensor
        ``x`` with the dropped entries 0 and the kept ones scaled by ``1 / (1 - p)``, as
        ``torch.nn.functional.dropout`` scales them.
    """
    if p <= 0:
        return x
    if p >= 1:
        return torch.zeros_like(x)
    return x.mul(scaled_mask(dropout_mask(x.shape, p, generator), p, x))


def scaled_mask(mask: torch.Tensor, p: float, like: torch.Tensor) -> torch.Tensor:
    """A keep mask as the factor inverted dropout multiplies by.

    Parameters
    ----------
    mask : torch.Tensor
        bool keep mask (:func:`dropout_mask`).
    p : float
        Dropout probability, 0 < p < 1.
    like : torch.Tensor
        The tensor the mask will multiply: its dtype and device.

    Returns
    -------
    torch.Tensor
        ``1 / (1 - p)`` where ``mask`` is True, 0 elsewhere, in ``like``'s dtype and on its device (through uint8:
        torch's bool to float conversion is three times slower on the CPU).
    """
    return mask.view(torch.uint8).to(dtype=like.dtype, device=like.device).mul_(1.0 / (1.0 - p))


class Dropout(nn.Dropout):
    """``nn.Dropout`` whose masks come from :func:`dropout_mask`: the same masks for the same torch seed, drawn 2.5
    times faster on the CPU.

    Parameters
    ----------
    p : float, default 0.5
        Dropout probability (as ``nn.Dropout``).
    inplace : bool, default False
        Accepted for ``nn.Dropout``'s signature; the output is always a new tensor.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Inverted dropout in training mode (:func:`dropout`); ``x`` itself in eval mode or with ``p`` 0.

        Parameters
        ----------
        x : torch.Tensor
            The input, any shape.

        Returns
        -------
        torch.Tensor
            The input with dropout applied in training mode.
        """
        if not self.training or self.p == 0:
            return x
        return dropout(x, self.p)


# Above this spread of scores within one hop (max score minus the first step's score)
# the factorised weights could overflow in the working dtype: the forward holds
# exp(span) (1 / cumsum of exp(e - max)) and its backward exp(2 * span), against
# exp(88) for float32 and exp(709) for float64.  A float32 model whose span is above
# its limit mixes in float64; above the float64 limit, the exact log-space weights.
_FACTORISED_SPAN_LIMIT = {torch.float32: 30.0, torch.float64: 300.0}

# Sequences up to this many steps are mixed with one T x T lower-triangular weight matrix
# per sequence (three batched matrix products, forward and backward); longer ones in
# chunks of this many steps, which bounds the memory at O(T * chunk).  On a 2-core CPU the
# dense form is the faster one at T = 100: a cumulative sum over (T, r, N), which needs no
# T x T matrix, was 8-40x slower in PyTorch and 1.6-9x slower as a compiled (numba) loop,
# and chunks of 25-50 steps 0.6-2.2x over three runs (benchmarks/bench_mix_forms.py).
_CHUNK = 256


def length_mask(lengths: torch.Tensor, n_time: int) -> torch.Tensor:
    """Boolean ``(batch, time)`` mask, True on valid (non-padding) steps.

    Parameters
    ----------
    lengths : torch.Tensor of int, shape (batch,)
        True sequence lengths.
    n_time : int
        Number of time steps (the padded length).

    Returns
    -------
    torch.Tensor of bool, shape (batch, n_time)
        True where the step's index is below the sequence's length; on ``lengths``'s device.
    """
    steps = torch.arange(n_time, device=lengths.device)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)


class InputCellAttention(nn.Module):
    """Causal multi-hop attention over the inputs, computed for all steps at once.

    Scores ``e_s = W2 tanh(W1 x_s)`` (``r`` hops).  At step ``t`` hop ``k``
    weighs step ``s <= t`` by ``softmax_{s' <= t}(e_{s',k})[s]``.

    ``variant="vector"`` returns the hop-averaged mix ``m_t`` (``N`` values per
    step); ``variant="matrix"`` returns the ``r x N`` mix flattened to ``r*N``.

    x: (batch, time, N), lengths: (batch,) -> (batch, time, N or r*N)

    Parameters
    ----------
    n_features : int
        ``N``, the features per input step.
    r : int, default 20
        Number of attention hops (rows of ``W2``).
    d_a : int, default 50
        Width of the scores' hidden layer (``W1``'s output).
    variant : {"vector", "matrix"}, default "vector"
        Which mix :meth:`forward` returns (see above).
    bias : bool, default True
        Whether ``W1`` and ``W2`` have biases.
    chunk : int, default 256
        Steps per chunk of the vector variant's causal mix (see :func:`causal_mix`).
    window : int, optional
        ``K`` of the partial variant (paper supplement): step ``t`` attends to its last ``K`` steps
        ``t-K+1..t`` only (softmax over them); ``K >= T`` is the full prefix, ``K`` 0 or 1 passes every step
        through unmixed (a plain recurrence).  None (default): the whole prefix.

    Raises
    ------
    ConfigError
        If ``variant`` is neither ``"vector"`` nor ``"matrix"``, or ``window`` is negative.
    """

    def __init__(
        self,
        n_features: int,
        r: int = 20,
        d_a: int = 50,
        variant: str = "vector",
        bias: bool = True,
        chunk: int = _CHUNK,
        window: int | None = None,
    ):
        super().__init__()
        self.chunk = chunk  # steps per chunk of the causal mix (see causal_mix)
        if variant not in ("vector", "matrix"):
            raise ConfigError(f"input-cell attention variant must be 'vector' or 'matrix', got {variant!r}")
        if window is not None and window < 0:
            raise ConfigError(f"partial input-cell attention's window K must be >= 0, got {window}")
        self.window = window
        self.n_features, self.r, self.d_a, self.variant = n_features, r, d_a, variant
        self.w1 = nn.Linear(n_features, d_a, bias=bias)
        self.w2 = nn.Linear(d_a, r, bias=bias)

    @property
    def output_size(self) -> int:
        """Values per step of the output: ``N`` (vector variant) or ``r * N`` (matrix variant)."""
        return self.n_features if self.variant == "vector" else self.r * self.n_features

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Attention scores ``(batch, time, r)``.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, time, n_features)
            Input sequences.

        Returns
        -------
        torch.Tensor, shape (batch, time, r)
            ``e = W2 tanh(W1 x)``, one score per step and hop.
        """
        return self.w2(torch.tanh(self.w1(x)))

    def prefix_weights(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Exact weights ``A[b, t, s, k]`` (float64), zero for ``s > t`` and padding.

        Computed in log space and masked *before* the exponential: a later step's score can
        exceed the prefix's log-normaliser by any amount (exp would overflow to inf, and
        inf x 0 is NaN), so its log-weight is set to -inf and its weight is exactly 0.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, time, n_features)
            Input sequences.
        lengths : torch.Tensor of int, shape (batch,)
            True sequence lengths; steps at or after a sequence's length are padding.

        Returns
        -------
        torch.Tensor of float64, shape (batch, time, time, r)
            ``A[b, t, s, k]``, the weight of step ``s`` at step ``t`` in hop ``k``; zero for ``s > t`` and where
            ``s`` or ``t`` is padding.
        """
        e, log_norm, causal = self._log_terms(x, lengths)
        if self.window is not None:  # the partial variant: a softmax over the last K steps of each prefix
            steps = torch.arange(x.shape[1], device=x.device)
            causal = causal & ((steps.unsqueeze(1) - steps.unsqueeze(0)) < max(self.window, 1)).unsqueeze(0)
            log_w = e.unsqueeze(1).masked_fill(~causal.unsqueeze(-1), float("-inf"))  # (B, t, s, r)
            log_w = log_w - torch.logsumexp(log_w, dim=2, keepdim=True)
            return torch.exp(log_w).nan_to_num(0.0)  # padding rows (every s masked): 0
        log_w = (e.unsqueeze(1) - log_norm.unsqueeze(2)).masked_fill(~causal.unsqueeze(-1), float("-inf"))
        return torch.exp(log_w)  # (B, t, s, r)

    def banded_mix(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The partial variant's hop-mean weights ``W[b, t, s]`` (float64): the mean over hops of each step's
        softmax over its last ``window`` steps.

        Factorised like the full variant's: ``exp(e_sk - M_k) / Z_tk`` with ``M_k`` the hop's maximum and ``Z_tk``
        the moving sum of ``exp(e - M_k)`` over the window (a sum of positive terms, never a difference of prefix
        sums, which would cancel), then one ``(T, r) x (r, T)`` product per sequence and the band.  That needs the
        scores' span within ``exp(300)`` (float64); beyond it the exact log-space :meth:`prefix_weights` (a
        ``(batch, T, T, r)`` tensor, far slower in training: ``benchmarks/bench_partial.py``) gives them.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, time, n_features)
            Input sequences.
        lengths : torch.Tensor of int, shape (batch,)
            True sequence lengths.

        Returns
        -------
        torch.Tensor of float64, shape (batch, time, time)
            ``W[b, t, s]``, zero outside ``t - window < s <= t`` and where ``s`` or ``t`` is padding; each valid row
            sums to 1.
        """
        n_time, k = x.shape[1], max(int(self.window), 1)
        valid = length_mask(lengths, n_time).unsqueeze(-1)  # (B, T, 1)
        e = self.scores(x).double()
        e = torch.where(valid, e, e[:, :1, :])  # padding: the first step's score, then weighed 0
        peak = e.amax(dim=1, keepdim=True)
        if (peak - e).amax().item() > _FACTORISED_SPAN_LIMIT[torch.float64]:
            return self.prefix_weights(x, lengths).sum(-1) / self.r
        right = torch.exp(e - peak) * valid  # (B, T, r)
        window_sum = nn.functional.pad(right.transpose(1, 2), (k - 1, 0)).unfold(2, k, 1).sum(-1).transpose(1, 2)
        left = valid / (self.r * torch.where(valid, window_sum, 1.0))  # padding rows: 0
        steps = torch.arange(n_time, device=x.device)
        lag = steps.unsqueeze(1) - steps.unsqueeze(0)
        band = ((lag >= 0) & (lag < k)).to(right.dtype)
        return torch.bmm(left, right.transpose(1, 2)) * band

    def _log_terms(self, x, lengths):
        n_time = x.shape[1]
        valid = length_mask(lengths, n_time)
        e = self.scores(x).double()
        # Padding scores are set to the first step's so they can neither overflow
        # nor, being excluded by the causal mask for valid t, change any output.
        e = torch.where(valid.unsqueeze(-1), e, e[:, :1, :])
        log_norm = torch.logcumsumexp(e, dim=1)  # L[b, t, k]
        steps = torch.arange(n_time, device=x.device)
        causal = steps.unsqueeze(1) >= steps.unsqueeze(0)  # (t, s)
        causal = causal.unsqueeze(0) & valid.unsqueeze(1) & valid.unsqueeze(2)
        return e, log_norm, causal

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, values: torch.Tensor | None = None) -> torch.Tensor:
        """The mix of ``values`` (default ``x``, any width V) with the weights of ``x``'s scores.

        The weights are linear in what they mix, so a model may mix a projection of the inputs
        instead of the inputs (``values = x @ W.T``) and get ``W`` applied to the mix.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, time, N)
            Input sequences; their scores give the weights.
        lengths : torch.Tensor of int, shape (batch,)
            True sequence lengths; padding steps weigh nothing.
        values : torch.Tensor, shape (batch, time, V), optional
            What to mix (default ``x``); the matrix variant mixes ``x`` only and ignores it.

        Returns
        -------
        torch.Tensor, shape (batch, time, V) or (batch, time, r*N)
            The mix at every step: ``(batch, time, V)`` (vector variant, in ``values``'s dtype), or the ``r x N``
            mix flattened (matrix variant, in ``x``'s dtype).  Rows at padding steps are zero.
        """
        if self.variant == "matrix":
            w = self.prefix_weights(x, lengths).to(x.dtype)  # (B, t, s, r)
            mixed = torch.einsum("btsk,bsn->btkn", w, x)
            return mixed.reshape(x.shape[0], x.shape[1], self.r * self.n_features)
        values = x if values is None else values
        n_time = x.shape[1]
        padded = bool((lengths < n_time).any())
        valid = length_mask(lengths, n_time)
        if self.window is not None and self.window < n_time:  # partial: the banded weights
            if self.window <= 1:  # one step in each window: every step passes through unmixed
                return values * valid.unsqueeze(-1).to(values.dtype)
            return torch.bmm(self.banded_mix(x, lengths).to(values.dtype), values)
        e = self.scores(x)
        if padded:
            e = torch.where(valid.unsqueeze(-1), e, e[:, :1, :])
        peak = e.amax(dim=1, keepdim=True)  # M[b, k]
        span = (peak.squeeze(1) - e[:, 0, :]).max().item()
        if span > _FACTORISED_SPAN_LIMIT[torch.float64]:
            mix = self.prefix_weights(x, lengths).sum(-1) / self.r  # (B, t, s), exact at any span
            return torch.bmm(mix.to(values.dtype), values)
        # the weights and the mix in the values' dtype where it holds exp(2 * span), else in float64
        work = values.dtype if span <= _FACTORISED_SPAN_LIMIT.get(values.dtype, 0.0) else torch.float64
        e, peak = e.to(work), peak.to(work)
        left, right = _PrefixSoftmaxFactors.apply(e, peak, valid.unsqueeze(-1).to(work) if padded else None, self.r)
        mixed = causal_mix(left, right, values.to(work), self.chunk).to(values.dtype)
        if padded:
            mixed = mixed * valid.unsqueeze(-1).to(values.dtype)  # padding rows: zero, as the input
        return mixed


class _PrefixSoftmaxFactors(torch.autograd.Function):
    """The prefix softmax of every hop as two factors: the weight of step s at step t, hop k, is
    ``exp(e_sk - L_tk) / r = right[s, k] * left[t, k]`` with ``right = exp(e - M) <= 1`` (0 on
    padding) and ``left = 1 / (r cumsum_{s<=t} right)`` (the hop mean's 1 / r folded in).

    ``M`` (a per-hop maximum) only keeps the exponentials in range: the weights do not depend
    on it, so it gets no gradient.  One node with a hand-written backward instead of autograd's
    eight (the cumulative sum's included), which is most of this step's cost at the paper's size.

    e: (B, T, r), peak: (B, 1, r), valid: (B, T, 1) or None -> left, right: (B, T, r)
    """

    @staticmethod
    def forward(ctx, e, peak, valid, r):
        right = torch.exp(e - peak)
        if valid is not None:
            right = right * valid  # padding steps weigh nothing
        left = torch.cumsum(right, dim=1).mul_(r).reciprocal_()
        ctx.save_for_backward(left, right)
        ctx.r = r
        return left, right

    @staticmethod
    def backward(ctx, g_left, g_right):
        left, right = ctx.saved_tensors
        # left = 1 / (r C) with C = cumsum(right): dleft/dC = -r left^2; C's gradient reaches every
        # earlier step through a reversed cumulative sum
        g_c = -ctx.r * g_left * left * left
        g_total = g_right + torch.flip(torch.cumsum(torch.flip(g_c, [1]), dim=1), [1])
        # padding steps have right = 0, so they get no gradient either
        return g_total * right, None, None, None


class _DenseCausalMix(torch.autograd.Function):
    """``(tril(left @ right^T)) @ values`` with a hand-written backward: the weight matrix is
    formed once and kept, and no gradient is computed that autograd did not ask for."""

    @staticmethod
    def forward(ctx, left, right, values):
        causal = torch.ones(left.shape[1], right.shape[1], dtype=left.dtype, device=left.device).tril()
        weights = torch.bmm(left, right.transpose(1, 2)).mul_(causal)  # (B, t, s)
        ctx.save_for_backward(left, right, values, weights, causal)
        return torch.bmm(weights, values)

    @staticmethod
    def backward(ctx, grad):
        left, right, values, weights, causal = ctx.saved_tensors
        grad = grad.contiguous()  # an expanded (stride-0) gradient sends bmm down a slow path
        g_left = g_right = g_values = None
        if ctx.needs_input_grad[2]:
            g_values = torch.bmm(weights.transpose(1, 2), grad)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            g_weights = torch.bmm(grad, values.transpose(1, 2)).mul_(causal)
            if ctx.needs_input_grad[0]:
                g_left = torch.bmm(g_weights, right)
            if ctx.needs_input_grad[1]:
                g_right = torch.bmm(g_weights.transpose(1, 2), left)
        return g_left, g_right, g_values


def causal_mix(left: torch.Tensor, right: torch.Tensor, values: torch.Tensor, chunk: int = _CHUNK) -> torch.Tensor:
    """``out[b, t] = sum_{s <= t} sum_k left[b, t, k] right[b, s, k] values[b, s]``.

    Up to ``chunk`` steps: one lower-triangular ``T x T`` weight matrix per sequence.  Longer
    sequences go in chunks of about ``chunk`` steps: a ``c x c`` matrix within each chunk, and
    every earlier chunk reaching step ``t`` through ``left[t] @ S`` with
    ``S[k] = sum_s right[s, k] values[s]`` over those chunks (an ``r x V`` state per hop).

    Parameters
    ----------
    left, right : torch.Tensor, shape (B, T, r)
        The two factors of the weights: step ``s`` weighs ``left[b, t, k] right[b, s, k]`` at step ``t``, hop ``k``.
    values : torch.Tensor, shape (B, T, V)
        What is mixed.
    chunk : int, default 256
        Longest sequence mixed with one ``T x T`` matrix, and about the chunk size of longer ones.

    Returns
    -------
    torch.Tensor, shape (B, T, V)
        ``out``, in the dtype of the inputs.
    """
    n_batch, n_time, width = values.shape
    if n_time <= chunk:
        return _DenseCausalMix.apply(left, right, values)
    n_chunks = -(-n_time // max(1, chunk))
    c = -(-n_time // n_chunks)  # balanced chunks
    pad = n_chunks * c - n_time
    if pad:  # zero steps weigh nothing
        left, right, values = (nn.functional.pad(v, (0, 0, 0, pad)) for v in (left, right, values))
    r = left.shape[-1]
    lc = left.reshape(n_batch * n_chunks, c, r)
    rc = right.reshape(n_batch * n_chunks, c, r)
    vc = values.reshape(n_batch * n_chunks, c, width)
    within = _DenseCausalMix.apply(lc, rc, vc).reshape(n_batch, n_chunks, c, width)
    state = torch.bmm(rc.transpose(1, 2), vc).reshape(n_batch, n_chunks, r, width)  # each chunk's sum
    before = torch.cumsum(state[:, :-1], dim=1)  # ... of the chunks before
    before = torch.cat([torch.zeros_like(state[:, :1]), before], dim=1)
    within = within + torch.matmul(left.reshape(n_batch, n_chunks, c, r), before)
    return within.reshape(n_batch, n_chunks * c, width)[:, :n_time]


class StructuredSelfAttention(nn.Module):
    """Lin et al. (2017) self-attention over hidden states, padding masked.

    ``A = softmax_t(W_s2 tanh(W_s1 H^T))`` with ``hops`` rows; ``M = A H`` is
    flattened (``flatten=True``, Lin et al.) or averaged over hops.  Every forward
    also stores Lin et al.'s penalty ``||A A^T - I||_F^2`` (mean over the batch) in
    ``last_penalty``, which pushes the hops to attend to different steps when the
    training adds it to the loss.

    h: (batch, time, H), mask: (batch, time) -> (batch, H or hops*H)

    Parameters
    ----------
    hidden : int
        ``H``, the width of the hidden states.
    d_a : int, default 50
        Width of ``W_s1``'s output.
    hops : int, default 10
        Number of attention hops (rows of ``A``).
    flatten : bool, default False
        Flatten ``M`` to ``hops * H`` values (Lin et al.) instead of averaging it over the hops.
    """

    def __init__(self, hidden: int, d_a: int = 50, hops: int = 10, flatten: bool = False):
        super().__init__()
        self.ws1 = nn.Linear(hidden, d_a, bias=False)
        self.ws2 = nn.Linear(d_a, hops, bias=False)
        self.hops, self.flatten = hops, flatten
        self.output_size = hops * hidden if flatten else hidden
        self.last_penalty = None

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The attention-pooled hidden states; stores this forward's penalty in ``last_penalty``.

        Parameters
        ----------
        h : torch.Tensor, shape (batch, time, H)
            Hidden states.
        mask : torch.Tensor of bool, shape (batch, time)
            True on valid steps; the others get attention weight 0.

        Returns
        -------
        torch.Tensor, shape (batch, hops*H) or (batch, H)
            ``M = A H`` flattened (``flatten=True``) or averaged over the hops.
        """
        scores = self.ws2(torch.tanh(self.ws1(h)))  # (B, T, hops)
        scores = scores.masked_fill(~mask.unsqueeze(-1), float("-inf"))
        attn = torch.softmax(scores, dim=1)
        a = attn.transpose(1, 2)  # (B, hops, T), rows sum to 1
        eye = torch.eye(self.hops, dtype=a.dtype, device=a.device)
        self.last_penalty = ((a @ a.transpose(1, 2) - eye) ** 2).sum((1, 2)).mean()
        pooled = torch.einsum("bth,btk->bkh", h, attn)  # (B, hops, H)
        return pooled.flatten(1) if self.flatten else pooled.mean(1)


@dataclass(frozen=True)
class Architecture:
    """What a registry name means: front end, recurrent cell and readout.

    Parameters
    ----------
    front : {"none", "inputcell"}, default "none"
        Front end: none, or input-cell attention over the inputs.
    cell : {"lstm", "bilstm", "gru"}, default "lstm"
        Recurrent cell.
    readout : {"last", "max", "mean", "selfattn"}, default "last"
        How the hidden states become one vector: the state at the true last step (Bi-LSTM: the forward state there
        and the backward state at the first step), max or mean pooling over the valid steps, or self-attention.
    variant : {"vector", "matrix"}, default "vector"
        Input-cell attention variant (used with ``front="inputcell"``).
    partial : bool, default False
        Input-cell attention over the last ``ModelConfig.window`` steps only (the paper supplement's partial variant).
    description : str, default ""
        What the architecture is, in words.
    """

    front: str = "none"  # none | inputcell
    cell: str = "lstm"  # lstm | bilstm | gru
    readout: str = "last"  # last | max | mean | selfattn
    variant: str = "vector"  # input-cell variant: vector | matrix
    partial: bool = False  # attention over the last ModelConfig.window steps only
    description: str = ""


REGISTRY: dict[str, Architecture] = {
    "lstm": Architecture(description="LSTM, hidden state at the true last step"),
    "bilstm": Architecture(
        cell="bilstm", description="Bi-LSTM, forward state at the last step + backward state at the first"
    ),
    "lstm_maxpool": Architecture(readout="max", description="LSTM + max pooling over time"),
    "lstm_meanpool": Architecture(readout="mean", description="LSTM + mean pooling over time"),
    "lstm_selfattn": Architecture(readout="selfattn", description="LSTM + self-attention (Lin et al. 2017)"),
    "inputcell_lstm": Architecture(front="inputcell", description="LSTM + input-cell attention"),
    "inputcell_lstm_maxpool": Architecture(
        front="inputcell", readout="max", description="LSTM + max pooling + input-cell attention"
    ),
    "inputcell_lstm_meanpool": Architecture(
        front="inputcell", readout="mean", description="LSTM + mean pooling + input-cell attention"
    ),
    "inputcell_lstm_selfattn": Architecture(
        front="inputcell", readout="selfattn", description="LSTM + self-attention + input-cell attention"
    ),
    "inputcell_lstm_matrix": Architecture(
        front="inputcell", variant="matrix", description="LSTM + input-cell attention, flattened r x N matrix variant"
    ),
    "inputcell_gru": Architecture(front="inputcell", cell="gru", description="GRU + input-cell attention"),
    "inputcell_lstm_partial": Architecture(
        front="inputcell",
        partial=True,
        description="LSTM + partial input-cell attention: each step attends to its last K (models.window) steps",
    ),
}


@dataclass
class ModelConfig:
    """Hyper-parameters shared by all architectures (paper: hidden 5, r 20, d_a 50).

    Parameters
    ----------
    n_features : int
        Features per time step of the input.
    n_classes : int, default 2
        Number of classes (logits).
    hidden : int, default 5
        Hidden units of the recurrent cell (per direction for the Bi-LSTM).
    r, d_a : int, default 20, 50
        Input-cell attention's hops and the width of its scores' hidden layer.
    dropout : float, default 0.1
        Dropout probability on the inputs and on the readout's features.
    selfattn_hops, selfattn_d_a : int, default 10, 50
        Self-attention readout's hops and the width of ``W_s1``'s output.
    selfattn_form : {"lin2017", "mean"}, default "mean"
        ``"lin2017"``: M flattened and the penalty (weight ``selfattn_penalty``) in the loss; ``"mean"``: M averaged
        over hops, no penalty (this workflow's form before ``"lin2017"``).
    selfattn_penalty : float, default 0.0
        Weight of Lin et al.'s penalty in the loss (form ``"lin2017"``; see :meth:`SequenceClassifier.regularization`).
    window : int, default 10
        ``K`` of the partial input-cell attention (architectures with ``partial``): the steps each step attends to.
    extra : dict, default {}
        Further settings, kept with the others (``asdict``); no model reads them.
    """

    n_features: int
    n_classes: int = 2
    hidden: int = 5
    r: int = 20
    d_a: int = 50
    dropout: float = 0.1
    selfattn_hops: int = 10
    selfattn_d_a: int = 50
    # "lin2017": M flattened and the penalty (weight selfattn_penalty) in the loss;
    # "mean": M averaged over hops, no penalty (this workflow's form before "lin2017")
    selfattn_form: str = "mean"
    selfattn_penalty: float = 0.0
    window: int = 10
    extra: dict = field(default_factory=dict)


class SequenceClassifier(nn.Module):
    """[input-cell attention] -> LSTM / Bi-LSTM / GRU -> readout -> linear logits.

    x: (batch, time, features), lengths: (batch,) -> logits (batch, n_classes)

    Parameters
    ----------
    arch : Architecture
        Front end, recurrent cell and readout (an entry of ``REGISTRY``).
    cfg : ModelConfig
        Hyper-parameters.

    Raises
    ------
    ConfigError
        If the readout is self-attention and ``cfg.selfattn_form`` is not one of ``SELFATTN_FORMS``, or the front end
        is input-cell attention and ``arch.variant`` is neither ``"vector"`` nor ``"matrix"``.
    """

    def __init__(self, arch: Architecture, cfg: ModelConfig):
        super().__init__()
        self.arch, self.cfg = arch, cfg
        self.input_dropout = Dropout(cfg.dropout)
        self.output_dropout = Dropout(cfg.dropout)
        if arch.front == "inputcell":
            self.attention = InputCellAttention(
                cfg.n_features, cfg.r, cfg.d_a, arch.variant, window=cfg.window if arch.partial else None
            )
            rnn_in = self.attention.output_size
        else:
            self.attention = None
            rnn_in = cfg.n_features
        rnn_type = nn.GRU if arch.cell == "gru" else nn.LSTM
        self.rnn = rnn_type(rnn_in, cfg.hidden, batch_first=True, bidirectional=arch.cell == "bilstm")
        feat = cfg.hidden * (2 if arch.cell == "bilstm" else 1)
        self.selfattn = None
        if arch.readout == "selfattn":
            if cfg.selfattn_form not in SELFATTN_FORMS:
                raise ConfigError(
                    f"unknown models.selfattn_form {cfg.selfattn_form!r}; known: {', '.join(SELFATTN_FORMS)}"
                )
            self.selfattn = StructuredSelfAttention(
                feat, cfg.selfattn_d_a, cfg.selfattn_hops, flatten=cfg.selfattn_form == "lin2017"
            )
            feat = self.selfattn.output_size
        self.classifier = nn.Linear(feat, cfg.n_classes)

    def regularization(self) -> torch.Tensor | None:
        """The training loss's extra term for the last forward: Lin et al.'s self-attention penalty
        times ``selfattn_penalty`` (form ``lin2017``), else None.

        Returns
        -------
        torch.Tensor or None
            The penalty term (a scalar tensor); None without a self-attention readout, with form ``"mean"`` or with
            ``selfattn_penalty`` 0.
        """
        if self.selfattn is None or self.cfg.selfattn_form != "lin2017" or not self.cfg.selfattn_penalty:
            return None
        return self.cfg.selfattn_penalty * self.selfattn.last_penalty

    def hidden_states(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Recurrent outputs ``(batch, time, H or 2H)`` of every step (the readouts use only the valid ones).

        Parameters
        ----------
        x : torch.Tensor, shape (batch, time, features)
            Input sequences (input dropout applies in training mode).
        lengths : torch.Tensor of int, shape (batch,)
            True sequence lengths.

        Returns
        -------
        torch.Tensor, shape (batch, time, H) or (batch, time, 2H)
            The recurrence's output at every step (``2H``: the Bi-LSTM's forward then backward states).  Rows at
            padding steps are zero for the Bi-LSTM (packed); a forward-only cell runs on over the padding, and those
            rows are not zero (no readout uses them).
        """
        x = self.input_dropout(x)
        if self._mix_projection(x):
            return self._projected_recurrence(x, lengths)
        if self.attention is not None:
            x = self.attention(x, lengths)
        if self.arch.cell == "bilstm":
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
            return out
        # A forward-only recurrence never sees the padding after a step, so the
        # padded run is exact for valid steps and faster than packing.
        out, _ = self.rnn(x)
        return out

    def _mix_projection(self, x: torch.Tensor) -> bool:
        """Whether to mix the recurrence's input projection rather than the inputs: the same
        numbers (the attention mix is linear), cheaper when the gates (4H for an LSTM, 3H for a
        GRU) are fewer than the features, e.g. the paper's H = 5 on 100 features (20 vs 100)."""
        if self.attention is None or self.attention.variant != "vector" or self.arch.cell == "bilstm":
            return False
        return self.rnn.weight_ih_l0.shape[0] < x.shape[-1]

    def _projected_recurrence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``rnn(mix(x))`` computed as the mix of ``x @ W_ih^T`` fed to the same recurrence with an
        identity input weight (torch.lstm / torch.gru, the kernels nn.LSTM / nn.GRU call)."""
        projected = self.attention(x, lengths, values=x @ self.rnn.weight_ih_l0.T)  # (B, T, gates)
        return self.gate_recurrence(projected)

    def gate_recurrence(self, projected: torch.Tensor) -> torch.Tensor:
        """The recurrence on inputs already multiplied by its input weight, with an identity in place of ``W_ih``
        (biases and ``W_hh`` as trained).

        Parameters
        ----------
        projected : torch.Tensor, shape (B, T, gates)
            Inputs times ``W_ih^T`` (``gates``: 4H for an LSTM, 3H for a GRU).

        Returns
        -------
        torch.Tensor, shape (B, T, H)
            The recurrence's output at every step.
        """
        rnn = self.rnn
        eye = torch.eye(projected.shape[-1], dtype=projected.dtype, device=projected.device)
        params = [eye, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0]
        h0 = projected.new_zeros(1, projected.shape[0], rnn.hidden_size)
        # one layer, no dropout, the module's training flag (as nn.LSTM / nn.GRU pass it), batch first
        flags = dict(
            has_biases=True, num_layers=1, dropout=0.0, train=self.training, bidirectional=False, batch_first=True
        )
        if self.arch.cell == "gru":
            out, _ = torch.gru(projected, h0, params, **flags)
        else:
            out, _, _ = torch.lstm(projected, (h0, h0), params, **flags)
        return out

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of a batch of sequences: :meth:`hidden_states`, then :meth:`readout`.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, time, features)
            Input sequences.
        lengths : torch.Tensor of int, shape (batch,), optional
            True sequence lengths (moved to ``x``'s device as int64); default: every sequence has all ``time`` steps.

        Returns
        -------
        torch.Tensor, shape (batch, n_classes)
            Logits (no softmax).
        """
        if lengths is None:
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=x.device)
        lengths = lengths.to(device=x.device, dtype=torch.long)
        return self.readout(self.hidden_states(x, lengths), lengths)

    def readout(self, h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_classes)`` from recurrent outputs ``h: (batch, time, H or 2H)``.

        Separate from :meth:`forward` so that altered hidden states (a cell
        ablated inside the recurrence, see ``dynamics``) go through the same head.

        Parameters
        ----------
        h : torch.Tensor, shape (batch, time, H) or (batch, time, 2H)
            Recurrent outputs (``2H`` for the Bi-LSTM), as from :meth:`hidden_states`.
        lengths : torch.Tensor of int, shape (batch,)
            True sequence lengths; the readout uses only the steps before them.

        Returns
        -------
        torch.Tensor, shape (batch, n_classes)
            Logits (no softmax).
        """
        mask = length_mask(lengths, h.shape[1])
        last = (lengths - 1).clamp(min=0)
        batch = torch.arange(h.shape[0], device=h.device)
        if self.arch.readout == "last":
            if self.arch.cell == "bilstm":
                hid = self.cfg.hidden
                feat = torch.cat([h[batch, last, :hid], h[:, 0, hid:]], dim=-1)
            else:
                feat = h[batch, last]
        elif self.arch.readout == "max":
            feat = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)
        elif self.arch.readout == "mean":
            feat = (h * mask.unsqueeze(-1)).sum(1) / lengths.clamp(min=1).unsqueeze(-1).to(h.dtype)
        else:
            feat = self.selfattn(h, mask)
        return self.classifier(self.output_dropout(feat))


def build_model(name: str, cfg: ModelConfig) -> SequenceClassifier:
    """Build a registered architecture by name (see ``REGISTRY``).

    Parameters
    ----------
    name : str
        A key of ``REGISTRY``.
    cfg : ModelConfig
        Hyper-parameters.

    Returns
    -------
    SequenceClassifier
        A new model with freshly initialised weights.

    Raises
    ------
    ConfigError
        If ``name`` is not in ``REGISTRY``, or the configuration is inconsistent (see :class:`SequenceClassifier`).
    """
    if name not in REGISTRY:
        raise ConfigError(f"unknown architecture {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return SequenceClassifier(REGISTRY[name], cfg)
