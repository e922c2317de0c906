"""Confound controls of the HCP experiments (SPEC section 10): what a classifier with no knowledge of
the task scores, and what one that sees only a sample's length or mean scores (the label-permutation null of a
model's accuracy, and every other test, is in :mod:`vanishing_saliency.stats`).

- ``logistic_control``: an L1-penalised logistic regression (statsmodels; alpha 1e-3 so that a
  perfectly separable control still converges) on one or a few per-sample features, trained on
  the training subjects' samples and scored on the test subjects';
- ``sample_features``: the length-only and mean-only features;
- ``permute_labels`` / ``shuffle_time``: the training data of the label-permuted and
  time-shuffled control models;
- ``matched_training``: how a label-permuted run trains: for exactly the epochs its matched training seed kept.

Which control runs exist, and their names, are :mod:`vanishing_saliency.plan`'s.
"""

from __future__ import annotations

import warnings

import numpy as np

CONTROL_FEATURES = ("length", "mean")


def sample_features(split: dict, kind: str) -> np.ndarray:
    """(n, 1) per-sample feature of a control: its length, or the mean of its valid entries."""
    lengths = np.asarray(split["lengths"])
    if kind == "length":
        return lengths[:, None].astype(np.float64)
    if kind == "mean":
        x = np.asarray(split["x"], np.float64)
        valid = np.arange(x.shape[1])[None, :] < lengths[:, None]
        return ((x * valid[:, :, None]).sum((1, 2)) / (lengths * x.shape[2]))[:, None]
    raise ValueError(f"unknown control feature {kind!r}; known: {', '.join(CONTROL_FEATURES)}")


def logistic_control(x_train, y_train, x_test) -> np.ndarray:
    """Predicted labels of an L1-penalised logistic regression (features standardised on the training set)."""
    import statsmodels.api as sm

    x_train, x_test = np.asarray(x_train, np.float64), np.asarray(x_test, np.float64)
    mean, sd = x_train.mean(0), x_train.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    a, b = (
        sm.add_constant((x_train - mean) / sd, has_constant="add"),
        sm.add_constant((x_test - mean) / sd, has_constant="add"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.Logit(np.asarray(y_train, np.float64), a).fit_regularized(alpha=1e-3, disp=0)
    return (fit.predict(b) > 0.5).astype(np.int64)


def matched_training(training: dict, epochs: int) -> dict:
    """The training settings of a label-permuted run: the branch's, but exactly ``epochs`` epochs (those its matched
    training seed kept) with the last one kept, no early stop.

    Why not the seed's own stopping rule on the permuted labels: the validation labels are permuted too, so
    ``first_best`` keeps the first epoch that reaches a validation accuracy no later epoch beats by chance, which is
    epoch 1 in practice (an untrained model under another name; SPEC section 10), and a stop at 100 % training
    accuracy would let it memorise for as long as it takes.  Matching the epochs gives the control the optimisation
    budget of the model it controls, so a difference between them is the labels', not the training length's."""
    return {
        **training,
        "max_epochs": int(epochs),
        "patience": int(epochs) + 1,
        "stop_at_train_accuracy": None,
        "selection": "last",
    }


def permute_labels(split: dict, seed: int) -> dict:
    """A copy of a split with its labels permuted at random (the label-permuted control's training data)."""
    return {**split, "y": np.random.default_rng(seed).permutation(split["y"])}


def shuffle_time(split: dict, seed: int) -> dict:
    """A copy of a split with each sample's valid frames in a random order (padding stays at the end)."""
    rng = np.random.default_rng(seed)
    x = np.array(split["x"], copy=True)
    for i, n in enumerate(np.asarray(split["lengths"])):
        x[i, :n] = x[i, rng.permutation(int(n))]
    return {**split, "x": x}
