"""Diagnostics that show when DA-SSDP degenerates (docs/dassdp.md "Findings" point 1).

Per hooked layer and step: the fraction of active pre and post units, the mean latency of the
active units, the mean kernel value g over co-active pairs, and the uniform share of dW
(|mean dW| / mean |dW|: 1 when every weight moves by the same amount). When the flags
saturate, g -> 1 and the uniform share -> 1: the update is a near-uniform shift, which on a
bias-free classifier does not change the softmax.
"""

from __future__ import annotations

import logging

import torch

from eventsnn.plasticity.activity import Units
from eventsnn.spikes import latency_kernel

LOG = logging.getLogger(__name__)
SATURATION = 0.95  # an epoch in which every step had more than this fraction active saturates
DIAGNOSTIC_KEYS = ("active_pre", "active_post", "latency_pre", "latency_post", "g_coactive", "uniform_share")


def _active_histogram(units: Units) -> torch.Tensor:
    """float64 `[R, L]`: per row, how many ACTIVE units carry each code."""
    counts = torch.stack([(units.code == c).sum(dim=1) for c in range(units.active_of.numel())], dim=1)
    return counts.to(torch.float64) * units.active_of.to(torch.float64)


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den, NaN where den is 0 (no device sync)."""
    return torch.where(den > 0, num / den.clamp(min=1e-300), torch.full_like(num, float("nan")))


def layer_diagnostics(
    pre: Units, post: Units, *, sigma: float, delta_w: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Scalar float64 tensors: active_pre / active_post (fraction of (row, unit) flags set),
    latency_pre / latency_post (mean latency of active units; NaN if none), g_coactive (mean g over
    co-active (row, j, i) pairs, factorised through per-row latency histograms; NaN if none) and,
    with `delta_w`, uniform_share = |mean dW| / mean |dW| (NaN for dW = 0)."""
    h_pre, h_post = _active_histogram(pre), _active_histogram(post)  # [R,L_pre], [R,L_post]
    lat_pre, lat_post = pre.latency_of.to(torch.float64), post.latency_of.to(torch.float64)
    n_pre, n_post = h_pre.sum(), h_post.sum()
    K = latency_kernel(lat_post[:, None] - lat_pre[None, :], sigma)  # [L_post,L_pre]
    pairs = (h_post.sum(1) * h_pre.sum(1)).sum()
    g_sum = ((h_post @ K) * h_pre).sum()
    out = {
        "active_pre": n_pre / pre.code.numel(),
        "active_post": n_post / post.code.numel(),
        "latency_pre": _ratio((h_pre @ lat_pre).sum(), n_pre),
        "latency_post": _ratio((h_post @ lat_post).sum(), n_post),
        "g_coactive": _ratio(g_sum, pairs),
    }
    if delta_w is not None:
        dw = delta_w.detach().to(torch.float64)
        out["uniform_share"] = _ratio(dw.mean().abs(), dw.abs().mean())
    return out


class EpochSummary:
    """Per-layer running means of the diagnostics over an epoch, and the saturation warning.

    `add(layer, values)` per step; `close()` -> `{"plasticity/<layer>/<key>": epoch mean}` and warns
    (once per layer and side, one line through `logging`) when pre or post had more than 95% of its
    flags set at every step of the epoch. `state()` / `load()` carry a half-finished epoch across a resume.
    """

    def __init__(self, layers: tuple[str, ...]) -> None:
        self.layers = layers
        self.warned: set[tuple[str, str]] = set()
        self._reset()

    def _reset(self) -> None:
        n = len(DIAGNOSTIC_KEYS)
        # per layer: sums [n], counts [n], lowest active fraction of pre and post [2]
        self._acc = {layer: [0.0] * n + [0.0] * n + [2.0, 2.0] for layer in self.layers}

    def add(self, layer: str, values: dict[str, float]) -> None:
        acc, n = self._acc[layer], len(DIAGNOSTIC_KEYS)
        for i, key in enumerate(DIAGNOSTIC_KEYS):
            value = values.get(key)
            if value is not None and value == value:  # present, not NaN
                acc[i] += value
                acc[n + i] += 1.0
        for side, idx in (("pre", 2 * n), ("post", 2 * n + 1)):
            value = values.get(f"active_{side}")
            if value is not None:
                acc[idx] = min(acc[idx], value)

    def close(self) -> dict[str, float]:
        n = len(DIAGNOSTIC_KEYS)
        out = {}
        for layer, acc in self._acc.items():
            for i, key in enumerate(DIAGNOSTIC_KEYS):
                if acc[n + i]:
                    out[f"plasticity/{layer}/{key}"] = acc[i] / acc[n + i]
            for side, low in (("pre", acc[2 * n]), ("post", acc[2 * n + 1])):
                if SATURATION < low <= 1.0 and (layer, side) not in self.warned:
                    self.warned.add((layer, side))
                    LOG.warning(
                        "plasticity layer %r: more than %.0f%% of its %s flags were set at every step of "
                        "the epoch (lowest %.3f); the DA-SSDP update has become a near-uniform shift of the "
                        "weights; consider plasticity.spatial: positions (docs/dassdp.md)",
                        layer,
                        100 * SATURATION,
                        side,
                        low,
                    )
        self._reset()
        return out

    def state(self) -> dict[str, torch.Tensor]:
        """The half-finished epoch: `{layer: float64 [2 * len(DIAGNOSTIC_KEYS) + 2]}`."""
        return {layer: torch.tensor(acc, dtype=torch.float64) for layer, acc in self._acc.items()}

    def load(self, state: dict[str, torch.Tensor]) -> None:
        """Restore `state()` (layers missing from it start empty)."""
        self._reset()
        for layer, value in state.items():
            if layer in self._acc and value.numel() == len(self._acc[layer]):
                self._acc[layer] = [float(v) for v in value.tolist()]
