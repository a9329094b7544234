"""Measurements across runs and checkpoints: multi-seed comparisons (`compare`), paired
statistics (`stats`) and the paper's figures from checkpoints (`figures`)."""
