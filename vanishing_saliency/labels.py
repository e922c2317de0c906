"""Names without torch: the display names of the architectures (tables, figures), and the
architecture and saliency-method names the Snakefile pins its wildcards to, so neither the
preprocessing and report environments nor building the DAG import torch.  ``models.REGISTRY``
and ``saliency.METHODS`` hold the same names (tests/test_models.py checks it)."""

LABELS = {
    "lstm": "LSTM",
    "bilstm": "Bi-LSTM",
    "lstm_maxpool": "LSTM+Max pl.",
    "lstm_meanpool": "LSTM+Mean pl.",
    "lstm_selfattn": "LSTM+Self-At.",
    "inputcell_lstm": "LSTM+In.Cell At.",
    "inputcell_lstm_maxpool": "LSTM+Max pl.+In.Cell At.",
    "inputcell_lstm_meanpool": "LSTM+Mean pl.+In.Cell At.",
    "inputcell_lstm_selfattn": "LSTM+Self-At.+In.Cell At.",
    "inputcell_lstm_matrix": "LSTM+In.Cell At. (matrix)",
    "inputcell_gru": "GRU+In.Cell At.",
    "inputcell_lstm_partial": "LSTM+Partial In.Cell At.",
}

# every architecture of models.REGISTRY
ARCHITECTURES = tuple(LABELS)

SALIENCY_METHODS = (
    "gradient",
    "integrated_gradients",
    "deeplift",
    "gradient_shap",
    "input_x_gradient",
    "smoothgrad",
    "occlusion",
    "occlusion_features",
    "tsr",
    "dynamask",
    "extremal_mask",  # time-interpret's (the tint extra)
    "tint_dynamask",
)
