"""Loading a state_dict into a model, strictly, with a short message when it does not fit.

The checkpoint file and its keys are `eventsnn.Checkpoint`'s business; this module only fits
weights to a model. `transfer=True` keeps the backbone and drops the classifier when its shape
differs (fine-tuning on another class count). Weights of another model raise a short
`CheckpointError` with counts and the first few missing / unexpected / wrong-shaped keys.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from eventsnn.errors import CheckpointError

CLASSIFIER_PREFIX = "classifier."
SHOW = 3


def _summary(kind: str, keys: list[str]) -> str:
    more = f", ... (+{len(keys) - SHOW})" if len(keys) > SHOW else ""
    return f"{len(keys)} {kind} ({', '.join(keys[:SHOW])}{more})"


def load_weights(
    model: nn.Module,
    weights: Mapping[str, torch.Tensor],
    *,
    transfer: bool = False,
    where: str = "checkpoint",
) -> list[str]:
    """Load `weights` into `model` strictly; returns the keys that were dropped (transfer only).

    Raises:
        CheckpointError: NaN / infinite weights, or "<where>: does not fit this model: N missing
            (...); M unexpected (...)".
    """
    state = dict(weights)
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        more = f" and {len(bad) - 1} more tensors" if len(bad) > 1 else ""
        raise CheckpointError(
            f"{where}: the weights hold NaN or infinite values ({bad[0]}{more}); the training diverged "
            "before this checkpoint was saved: use an earlier one (e.g. checkpoint_best.pt)"
        )
    own = model.state_dict()
    dropped: list[str] = []
    if transfer:
        for key in [k for k in state if k.startswith(CLASSIFIER_PREFIX)]:
            if key not in own or own[key].shape != state[key].shape:
                dropped.append(key)
                state.pop(key)
        for key in own:
            if key.startswith(CLASSIFIER_PREFIX) and key not in state:
                state[key] = own[key]  # keep the freshly initialised classifier
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = [
            _summary(kind, keys)
            for kind, keys in (("missing", missing), ("unexpected", unexpected), ("wrong-shaped", shapes))
            if keys
        ]
        raise CheckpointError(f"{where}: does not fit this model: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)
    return dropped
