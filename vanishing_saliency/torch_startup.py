"""Torch start-up shortcuts, in one place: the private torch calls this package makes, and why.

torch.optim's optimizers and torch.use_deterministic_algorithms each import TorchDynamo (and sympy) on first use, for
a compiler this workflow never runs: seconds more per training job, minutes over the default run's jobs that train or
run Dynamask (``python -m benchmarks.bench_startup`` measures both; benchmarks/README.md has the last figures).  On
the torch releases listed in ``SHORTCUT_TORCH_RELEASES`` the shortcuts here do the same work without the import:
:class:`StartupAdam` computes exactly what ``torch.optim.Adam`` computes (tests/test_training.py compares the weights
bit for bit) and the kernels' deterministic flag is set directly (``torch._C._set_deterministic_algorithms``, the one
private torch call).  On any other release, or with the environment variable ``VANISHING_SALIENCY_PUBLIC_TORCH=1``,
the public APIs run.

Training (``training``, ``stacked``) and Dynamask (``saliency.masks``) get their optimizer from :func:`adam` and
their determinism from :func:`set_determinism`, never from torch directly.
"""

from __future__ import annotations

import os

import torch

SHORTCUT_TORCH_RELEASES = ("2.13.",)


def use_startup_shortcuts() -> bool:
    """Whether this torch is a release the start-up shortcuts were checked against (and they are not switched off).

    Returns
    -------
    bool
        True when ``torch.__version__`` starts with one of ``SHORTCUT_TORCH_RELEASES``, ``torch._C`` has
        ``_set_deterministic_algorithms`` and the environment variable ``VANISHING_SALIENCY_PUBLIC_TORCH`` is unset,
        empty or ``"0"``.
    """
    return (
        torch.__version__.startswith(SHORTCUT_TORCH_RELEASES)
        and hasattr(torch._C, "_set_deterministic_algorithms")
        and os.environ.get("VANISHING_SALIENCY_PUBLIC_TORCH", "0") in ("", "0")
    )


class StartupAdam:
    """Adam as ``torch.optim.Adam`` computes it on the CPU (its single-tensor path: no weight decay, no AMSGrad),
    without importing TorchDynamo; used only where :func:`use_startup_shortcuts` holds.

    Parameters
    ----------
    params : iterable of torch.Tensor
        The tensors to optimise.
    lr : float
        Learning rate.
    betas : tuple of float
        Decay rates of the first and second moment estimates.
    eps : float
        Added to the denominator for numerical stability.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = list(params)
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.state: dict[int, tuple] = {}

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to None (what ``torch.optim.Adam.zero_grad()`` does by default)."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One Adam update, in place and without autograd, of every parameter that has a ``grad``.

        A parameter's state (a step count in torch's default float dtype, and first and second moments shaped like
        the parameter) is created at its first update; parameters whose ``grad`` is None are skipped.
        """
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            if i not in self.state:  # torch's state: a float step count (its default scalar dtype) and moments
                step_dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
                self.state[i] = (torch.tensor(0.0, dtype=step_dtype), torch.zeros_like(p), torch.zeros_like(p))
            step_t, exp_avg, exp_avg_sq = self.state[i]
            grad = p.grad
            step_t += 1
            exp_avg.lerp_(grad, 1 - self.beta1)
            exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
            step = step_t.item()
            bias_correction1 = 1 - self.beta1**step
            bias_correction2_sqrt = (1 - self.beta2**step) ** 0.5
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.eps)
            p.addcdiv_(exp_avg, denom, value=-(self.lr / bias_correction1))


def adam(params, lr: float):
    """Adam with torch's defaults otherwise: ``torch.optim.Adam``, or :class:`StartupAdam` where
    :func:`use_startup_shortcuts` holds (the same numbers, without TorchDynamo's import).

    Parameters
    ----------
    params : iterable of torch.Tensor
        The tensors to optimise (e.g. ``model.parameters()``).
    lr : float
        Learning rate.

    Returns
    -------
    StartupAdam or torch.optim.Adam
        A new optimizer over ``params``.
    """
    if use_startup_shortcuts():
        return StartupAdam(params, lr=lr)
    return torch.optim.Adam(params, lr=lr)


def set_determinism(seed: int, threads: int = 1) -> None:
    """Seed torch, set its thread count and make its CPU kernels deterministic
    (``torch.use_deterministic_algorithms``, or the same flag set directly where :func:`use_startup_shortcuts`).

    Also switches off ``torch.utils.deterministic.fill_uninitialized_memory`` (see the comment in the code).  All
    of this is process-wide torch state.

    Parameters
    ----------
    seed : int
        Seed for ``torch.manual_seed``.
    threads : int, default 1
        Number of intra-op threads (``torch.set_num_threads``); values below 1 count as 1.
    """
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, int(threads)))
    if use_startup_shortcuts():
        torch._C._set_deterministic_algorithms(True)  # the kernels' flag, without TorchInductor's
    else:
        torch.use_deterministic_algorithms(True)
    # The flag also fills every new tensor (NaN / zeros) in case a kernel reads memory it never wrote.  None of
    # ours does (the committed hashes and the rerun test compare whole runs bit for bit, and the weights come
    # out identical either way), and the fill was 15-20 % of training an LSTM: oneDNN's LSTM asks for an 89 MB
    # workspace on every training forward pass of an HCP batch, and all of it was zeroed.
    torch.utils.deterministic.fill_uninitialized_memory = False


def adam_of_rows(opt, old_params: list, new_params: list, rows: list[int]):
    """The Adam of ``new_params`` (the rows ``rows`` of ``old_params``) with the kept rows' moments and step count:
    Adam is elementwise, so each row's state carries over unchanged (how seeds trained together drop a seed that
    stopped).

    Parameters
    ----------
    opt : StartupAdam or torch.optim.Adam
        The optimizer of ``old_params``, as :func:`adam` made it.
    old_params, new_params : list of torch.Tensor
        The parameters before and after; ``new_params[j]`` holds the rows ``rows`` of ``old_params[j]``.
    rows : list of int
        The kept rows (seeds), in order.

    Returns
    -------
    StartupAdam or torch.optim.Adam
        An optimizer of the same kind over ``new_params``, with the kept rows' state.
    """
    idx = torch.as_tensor(rows, device=new_params[0].device)
    if isinstance(opt, StartupAdam):
        new = StartupAdam(new_params, lr=opt.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps)
        new.state = {i: (st[0].clone(), st[1][idx].clone(), st[2][idx].clone()) for i, st in opt.state.items()}
        return new
    new = type(opt)(new_params, **opt.defaults)
    for old_p, new_p in zip(old_params, new_params, strict=True):
        st = opt.state.get(old_p)
        if st:
            new.state[new_p] = {k: v.clone() if k == "step" else v[idx].clone() for k, v in st.items()}
    return new
