"""Display names of the architectures, for tables and figures (no torch import, so the
preprocessing and report environments can use them)."""

LABELS = {
    "lstm": "LSTM", "bilstm": "Bi-LSTM", "lstm_maxpool": "LSTM+Max pl.",
    "lstm_meanpool": "LSTM+Mean pl.", "lstm_selfattn": "LSTM+Self-At.",
    "inputcell_lstm": "LSTM+In.Cell At.", "inputcell_lstm_maxpool": "LSTM+Max pl.+In.Cell At.",
    "inputcell_lstm_meanpool": "LSTM+Mean pl.+In.Cell At.",
    "inputcell_lstm_selfattn": "LSTM+Self-At.+In.Cell At.",
    "inputcell_lstm_matrix": "LSTM+In.Cell At. (matrix)", "inputcell_gru": "GRU+In.Cell At.",
}
