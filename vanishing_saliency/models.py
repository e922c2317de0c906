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

from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .errors import ConfigError

SELFATTN_FORMS = ("lin2017", "mean")

# Above this spread of scores within one hop (max score minus the first step's
# score) the factorised float64 form could overflow: its forward holds
# exp(span) and its backward (through 1 / cumsum) exp(2 * span), against the
# float64 limit exp(709).  Wider spans take the exact log-space weights.
_FACTORISED_SPAN_LIMIT = 300.0


def length_mask(lengths: torch.Tensor, n_time: int) -> torch.Tensor:
    """Boolean ``(batch, time)`` mask, True on valid (non-padding) steps."""
    steps = torch.arange(n_time, device=lengths.device)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)


class InputCellAttention(nn.Module):
    """Causal multi-hop attention over the inputs, computed for all steps at once.

    Scores ``e_s = W2 tanh(W1 x_s)`` (``r`` hops).  At step ``t`` hop ``k``
    weighs step ``s <= t`` by ``softmax_{s' <= t}(e_{s',k})[s]``.

    ``variant="vector"`` returns the hop-averaged mix ``m_t`` (``N`` values per
    step); ``variant="matrix"`` returns the ``r x N`` mix flattened to ``r*N``.

    x: (batch, time, N), lengths: (batch,) -> (batch, time, N or r*N)
    """

    def __init__(self, n_features: int, r: int = 20, d_a: int = 50,
                 variant: str = "vector", bias: bool = True):
        super().__init__()
        if variant not in ("vector", "matrix"):
            raise ConfigError(f"input-cell attention variant must be 'vector' or 'matrix', got {variant!r}")
        self.n_features, self.r, self.d_a, self.variant = n_features, r, d_a, variant
        self.w1 = nn.Linear(n_features, d_a, bias=bias)
        self.w2 = nn.Linear(d_a, r, bias=bias)

    @property
    def output_size(self) -> int:
        return self.n_features if self.variant == "vector" else self.r * self.n_features

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Attention scores ``(batch, time, r)``."""
        return self.w2(torch.tanh(self.w1(x)))

    def prefix_weights(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Exact weights ``A[b, t, s, k]`` (float64), zero for ``s > t`` and padding.

        Computed in log space and masked *before* the exponential: a later step's score can
        exceed the prefix's log-normaliser by any amount (exp would overflow to inf, and
        inf x 0 is NaN), so its log-weight is set to -inf and its weight is exactly 0."""
        e, log_norm, causal = self._log_terms(x, lengths)
        log_w = (e.unsqueeze(1) - log_norm.unsqueeze(2)).masked_fill(~causal.unsqueeze(-1), float("-inf"))
        return torch.exp(log_w)                                        # (B, t, s, r)

    def _log_terms(self, x, lengths):
        n_time = x.shape[1]
        valid = length_mask(lengths, n_time)
        e = self.scores(x).double()
        # Padding scores are set to the first step's so they can neither overflow
        # nor, being excluded by the causal mask for valid t, change any output.
        e = torch.where(valid.unsqueeze(-1), e, e[:, :1, :])
        log_norm = torch.logcumsumexp(e, dim=1)                       # L[b, t, k]
        steps = torch.arange(n_time, device=x.device)
        causal = (steps.unsqueeze(1) >= steps.unsqueeze(0))           # (t, s)
        causal = causal.unsqueeze(0) & valid.unsqueeze(1) & valid.unsqueeze(2)
        return e, log_norm, causal

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.variant == "matrix":
            w = self.prefix_weights(x, lengths).to(x.dtype)              # (B, t, s, r)
            mixed = torch.einsum("btsk,bsn->btkn", w, x)
            return mixed.reshape(x.shape[0], x.shape[1], self.r * self.n_features)
        n_time = x.shape[1]
        padded = bool((lengths < n_time).any())
        valid = length_mask(lengths, n_time)
        e = self.scores(x).double()
        if padded:
            e = torch.where(valid.unsqueeze(-1), e, e[:, :1, :])
        peak = e.amax(dim=1, keepdim=True)                             # M[b, k]
        if (peak.squeeze(1) - e[:, 0, :]).max().item() <= _FACTORISED_SPAN_LIMIT:
            # sum_k exp(e_sk - L_tk) = sum_k exp(M_k - L_tk) * exp(e_sk - M_k) with
            # exp(M_k - L_tk) = 1 / cumsum_s<=t exp(e_sk - M_k): one (T x r) @ (r x T)
            # product per sequence, no T x T x r tensor and no logcumsumexp.
            right = torch.exp(e - peak)                                 # (B, s, r), <= 1
            left = 1.0 / (torch.cumsum(right, dim=1) * self.r)          # (B, t, r)
            mix = torch.tril(torch.bmm(left, right.transpose(1, 2)))
        else:
            mix = self.prefix_weights(x, lengths).sum(-1) / self.r
        mix = mix.to(x.dtype)                                           # (B, t, s)
        if padded:
            # padding rows and columns hold junk weights; zero them so nothing leaks
            mix = mix * (valid.unsqueeze(2) & valid.unsqueeze(1)).to(x.dtype)
        return torch.bmm(mix, x)


class StructuredSelfAttention(nn.Module):
    """Lin et al. (2017) self-attention over hidden states, padding masked.

    ``A = softmax_t(W_s2 tanh(W_s1 H^T))`` with ``hops`` rows; ``M = A H`` is
    flattened (``flatten=True``, Lin et al.) or averaged over hops.  Every forward
    also stores Lin et al.'s penalty ``||A A^T - I||_F^2`` (mean over the batch) in
    ``last_penalty``, which pushes the hops to attend to different steps when the
    training adds it to the loss.

    h: (batch, time, H), mask: (batch, time) -> (batch, H or hops*H)
    """

    def __init__(self, hidden: int, d_a: int = 50, hops: int = 10, flatten: bool = False):
        super().__init__()
        self.ws1 = nn.Linear(hidden, d_a, bias=False)
        self.ws2 = nn.Linear(d_a, hops, bias=False)
        self.hops, self.flatten = hops, flatten
        self.output_size = hops * hidden if flatten else hidden
        self.last_penalty = None

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.ws2(torch.tanh(self.ws1(h)))                     # (B, T, hops)
        scores = scores.masked_fill(~mask.unsqueeze(-1), float("-inf"))
        attn = torch.softmax(scores, dim=1)
        a = attn.transpose(1, 2)                                         # (B, hops, T), rows sum to 1
        eye = torch.eye(self.hops, dtype=a.dtype, device=a.device)
        self.last_penalty = ((a @ a.transpose(1, 2) - eye) ** 2).sum((1, 2)).mean()
        pooled = torch.einsum("bth,btk->bkh", h, attn)                  # (B, hops, H)
        return pooled.flatten(1) if self.flatten else pooled.mean(1)


@dataclass(frozen=True)
class Architecture:
    """What a registry name means: front end, recurrent cell and readout."""

    front: str = "none"          # none | inputcell
    cell: str = "lstm"           # lstm | bilstm | gru
    readout: str = "last"        # last | max | mean | selfattn
    variant: str = "vector"      # input-cell variant: vector | matrix
    description: str = ""


REGISTRY: dict[str, Architecture] = {
    "lstm": Architecture(description="LSTM, hidden state at the true last step"),
    "bilstm": Architecture(cell="bilstm", description="Bi-LSTM, forward state at the last step + backward state at the first"),
    "lstm_maxpool": Architecture(readout="max", description="LSTM + max pooling over time"),
    "lstm_meanpool": Architecture(readout="mean", description="LSTM + mean pooling over time"),
    "lstm_selfattn": Architecture(readout="selfattn", description="LSTM + self-attention (Lin et al. 2017)"),
    "inputcell_lstm": Architecture(front="inputcell", description="LSTM + input-cell attention"),
    "inputcell_lstm_maxpool": Architecture(front="inputcell", readout="max", description="LSTM + max pooling + input-cell attention"),
    "inputcell_lstm_meanpool": Architecture(front="inputcell", readout="mean", description="LSTM + mean pooling + input-cell attention"),
    "inputcell_lstm_selfattn": Architecture(front="inputcell", readout="selfattn", description="LSTM + self-attention + input-cell attention"),
    "inputcell_lstm_matrix": Architecture(front="inputcell", variant="matrix", description="LSTM + input-cell attention, flattened r x N matrix variant"),
    "inputcell_gru": Architecture(front="inputcell", cell="gru", description="GRU + input-cell attention"),
}

from .labels import LABELS  # noqa: E402,F401  (display names; kept importable from here)


@dataclass
class ModelConfig:
    """Hyper-parameters shared by all architectures (paper: hidden 5, r 20, d_a 50)."""

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
    extra: dict = field(default_factory=dict)


class SequenceClassifier(nn.Module):
    """[input-cell attention] -> LSTM / Bi-LSTM / GRU -> readout -> linear logits.

    x: (batch, time, features), lengths: (batch,) -> logits (batch, n_classes)
    """

    def __init__(self, arch: Architecture, cfg: ModelConfig):
        super().__init__()
        self.arch, self.cfg = arch, cfg
        self.input_dropout = nn.Dropout(cfg.dropout)
        self.output_dropout = nn.Dropout(cfg.dropout)
        if arch.front == "inputcell":
            self.attention = InputCellAttention(cfg.n_features, cfg.r, cfg.d_a, arch.variant)
            rnn_in = self.attention.output_size
        else:
            self.attention = None
            rnn_in = cfg.n_features
        rnn_type = nn.GRU if arch.cell == "gru" else nn.LSTM
        self.rnn = rnn_type(rnn_in, cfg.hidden, batch_first=True,
                            bidirectional=arch.cell == "bilstm")
        feat = cfg.hidden * (2 if arch.cell == "bilstm" else 1)
        self.selfattn = None
        if arch.readout == "selfattn":
            if cfg.selfattn_form not in SELFATTN_FORMS:
                raise ConfigError(f"unknown models.selfattn_form {cfg.selfattn_form!r}; known: "
                                  f"{', '.join(SELFATTN_FORMS)}")
            self.selfattn = StructuredSelfAttention(feat, cfg.selfattn_d_a, cfg.selfattn_hops,
                                                    flatten=cfg.selfattn_form == "lin2017")
            feat = self.selfattn.output_size
        self.classifier = nn.Linear(feat, cfg.n_classes)

    def regularization(self) -> torch.Tensor | None:
        """The training loss's extra term for the last forward: Lin et al.'s self-attention penalty
        times ``selfattn_penalty`` (form ``lin2017``), else None."""
        if self.selfattn is None or self.cfg.selfattn_form != "lin2017" or not self.cfg.selfattn_penalty:
            return None
        return self.cfg.selfattn_penalty * self.selfattn.last_penalty

    def hidden_states(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Recurrent outputs ``(batch, time, H or 2H)``; padding rows are zero."""
        x = self.input_dropout(x)
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

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if lengths is None:
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=x.device)
        lengths = lengths.to(device=x.device, dtype=torch.long)
        return self.readout(self.hidden_states(x, lengths), lengths)

    def readout(self, h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_classes)`` from recurrent outputs ``h: (batch, time, H or 2H)``.

        Separate from :meth:`forward` so that altered hidden states (a cell
        ablated inside the recurrence, see ``dynamics``) go through the same head.
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
    """Build a registered architecture by name (see ``REGISTRY``)."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown architecture {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return SequenceClassifier(REGISTRY[name], cfg)


def model_config_dict(cfg: ModelConfig) -> dict:
    return asdict(cfg)
