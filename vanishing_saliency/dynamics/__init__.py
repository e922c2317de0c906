"""Response characterization of LSTM cells (SPEC section 8), single-cell ablation and capacity.

The one-cell system
-------------------
Cell ``u`` of a trained single-layer ``torch.nn.LSTM`` is isolated with its own
rows of the input weights for each gate, its self-recurrent weights
``W_hh[gate u, u]`` and its biases ``b_ih + b_hh``; every other cell's hidden
state is held at 0.  The input is a scalar drive ``s_t`` along a direction
``d_u`` in the LSTM's input space (``x_t = s_t d_u``), so each gate sees
``a_gate,u * s_t`` with ``a_gate,u = W_ih[gate u] . d_u``.  Directions
(``input_direction``):

- ``ones``: every input feature equals the drive (``d = 1``, not normalised, so
  ``A`` is the value each feature takes, as in ``x_t = A 1[t > T/2]``);
- ``feature``: only feature ``feature`` is driven (``d = e_k``);
- ``own``: the cell's own candidate-gate input-weight row, unit norm, so ``A`` is
  the length of the input vector along the direction the cell is most tuned to.

All cells of a network and all probes (amplitudes, frequencies) run in one
batched float64 simulation from a zero state.  For models with input-cell
attention the drive enters the LSTM after the attention (the LSTM's own input
space).

Metrics (every threshold is a parameter)
----------------------------------------
Step, ``s_t = A 1[t >= T/2]`` over ``T`` steps (the change at ``c = T/2``):

- ``initial``: ``h`` at step ``c - 1`` (the zero-input steady state);
- ``final``: mean of ``h`` over the last ``final_window`` steps;
- ``delta`` = final - initial;
- ``settling_time``: steps after the change until ``h`` stays within
  ``(1 - band) |delta|`` (``band`` 0.9 by default, at least ``abs_tol``) of the
  final value to the end.  A cell must then hold the band for at least the
  last ``hold`` fraction of the post-step window (default a quarter, and at
  least ``final_window`` steps); otherwise it never settled (a ramp or a slow
  drift only reaches its own final value at the end): ``settled`` is False and
  its settling time is the whole post-step window ``T - c`` (censored).

Sine, ``s_t = A sin(2 pi f t)`` (``f`` in cycles per step) over ``T`` steps, the
first ``transient`` steps discarded:

- ``amplitude``: half the peak-to-peak of the remaining output;
- ``response_frequency``: argmax of the periodogram (mean removed, DC excluded),
  in cycles per step; NaN for a flat output (amplitude <= ``abs_tol``);
- ``correlation``: sum over t of ``(x_t - mean x)(y_t - mean y)``, SPEC's
  unnormalised definition (it grows with the window length), and ``pearson``,
  the same normalised to [-1, 1].

Ablation: cell ``u``'s hidden output is zeroed at every step *inside* the
recurrence, so neither the other cells (through ``W_hh[:, u]``) nor the readout
see it; the change in test error is measured against the intact network.
"""

from ..errors import DynamicsError
from .cells import (
    CELL_METRICS,
    DIRECTIONS,
    GATES,
    OneCellSystems,
    ProbeSettings,
    characterize,
    check_lstm,
    input_directions,
    one_cell_systems,
    simulate,
    sine_drive,
    sine_metrics,
    step_drive,
    step_metrics,
)
from .network import (
    ablation_errors,
    impact_correlations,
    lstm_input,
    masked_hidden_states,
    moving_average,
    power_law_slope,
)

__all__ = [
    "CELL_METRICS",
    "DIRECTIONS",
    "GATES",
    "DynamicsError",
    "OneCellSystems",
    "ProbeSettings",
    "ablation_errors",
    "characterize",
    "check_lstm",
    "impact_correlations",
    "input_directions",
    "lstm_input",
    "masked_hidden_states",
    "moving_average",
    "one_cell_systems",
    "power_law_slope",
    "simulate",
    "sine_drive",
    "sine_metrics",
    "step_drive",
    "step_metrics",
]
