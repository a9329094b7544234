"""From the network's logits over time to a prediction and a loss (the one home of both).

SpikingResformer emits logits at every time step, `out [T, B, K]`. The prediction is the
time average (as the reference): z = (1/T) sum_t out[t]  -> `[B, K]`, class = argmax_k z_k.
Training and evaluation take the cross-entropy on z:

    hard labels y:   l_b = CE(z_b, y_b) with label smoothing eps
                     (target (1 - eps) one_hot(y) + eps / K)
    soft targets q:  l_b = -sum_k q_bk log softmax(z_b)_k   (mixup / cutmix, timm's SoftTargetCrossEntropy)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def mean_logits(out: torch.Tensor) -> torch.Tensor:
    """Time-averaged prediction: `[T, B, K]` -> `[B, K]`."""
    return out.mean(0)


def per_sample_loss(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy per sample on time-averaged logits `[B, K]`; soft targets `[B, K]` allowed.

    Soft targets (mixup) give the soft-target cross-entropy -sum_k y_k log softmax(z)_k;
    hard labels `[B]` give cross-entropy with label smoothing. Returns `[B]` (float32).
    """
    logits = logits.float()
    if target.dim() == 2:
        return torch.sum(-target * F.log_softmax(logits, dim=-1), dim=-1)
    return F.cross_entropy(logits, target, label_smoothing=label_smoothing, reduction="none")
