"""The HCP task paradigms the workflow reads and simulates: which EV files hold each task's active
blocks, and the block timing of the published protocols (SPEC section 7) that the simulator jitters."""

from __future__ import annotations

# EV files that hold the active blocks of each task
BLOCK_EVS = {
    "GAMBLING": ("win", "loss"),
    "RELATIONAL": ("relation", "match"),
    "WM": tuple(f"{load}_{cat}" for load in ("0bk", "2bk") for cat in ("body", "faces", "places", "tools")),
}

# Block layout per run (seconds): (condition, onset, duration) before jitter,
# following the HCP protocols (SPEC section 7).
_GAMBLING = [("win", 8.0, 28.0), ("loss", 51.0, 28.0), ("loss", 94.0, 28.0), ("win", 137.0, 28.0)]
_RELATIONAL = [
    ("relation", 8.0, 17.0),
    ("match", 25.0, 16.5),
    ("relation", 57.5, 17.0),
    ("match", 74.5, 16.5),
    ("relation", 107.0, 17.0),
    ("match", 124.0, 16.5),
]
_WM_CONDS = ["2bk_body", "0bk_faces", "2bk_tools", "0bk_places", "2bk_faces", "0bk_tools", "2bk_places", "0bk_body"]
_WM = [(c, on, 27.5) for c, on in zip(_WM_CONDS, [8.0, 35.5, 78.0, 105.5, 148.0, 175.5, 218.0, 245.5], strict=True)]
LAYOUT = {"GAMBLING": _GAMBLING, "RELATIONAL": _RELATIONAL, "WM": _WM}
# Extra EV files with trial events, written with the real names.
GAMBLING_EVENTS = ("win_event", "loss_event", "neut_event")
WM_TRIALS = ("0bk_cor", "0bk_err", "0bk_nlr", "2bk_cor", "2bk_err", "2bk_nlr", "all_bk_cor", "all_bk_err")
