"""Training, fine-tuning and evaluation jobs (CPU, one GPU, or torchrun DDP)."""
