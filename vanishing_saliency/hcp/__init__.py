"""HCP task fMRI: geometry and atlas, an HCP-format simulator, loading with
validation, motion and low-frequency regression, parcellation, block
extraction and a subject-wise split."""
