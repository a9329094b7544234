"""Property tests (hypothesis) for the invariants of framing, perturbations and the DA-SSDP rule.

Framing: every event lands in exactly one frame in the count split (spikingjelly folds the
remainder into the last frame), the frames' counts sum to the event count, and the numba path
equals the slow reference loop. Perturbations: severity `low` (0) returns the input unchanged,
for every registered one, and a severity outside the declared bounds is refused. The rule: the
factorised dW equals the direct `[B, C_out, C_in]` computation, it scales linearly with
(a_plus, a_minus) and with a constant gate, and it has the sign of its terms (a_minus = 0: no
depression, so dW >= 0; a_plus = 0: dW <= 0).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventsnn.config import PerturbationSweep
from eventsnn.errors import ConfigError
from eventsnn.events import to_frames
from eventsnn.plasticity._reference import direct_delta_w
from eventsnn.plasticity.functional import da_ssdp_delta_w
from eventsnn.robustness import validate_sweeps
from eventsnn.utils.registry import PERTURBATIONS

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EVENT = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])


@st.composite
def recordings(draw, max_events: int = 300):
    """A time-sorted recording on a small sensor (W, H, 2)."""
    w, h = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    n = draw(st.integers(0, max_events))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    ev = np.zeros(n, dtype=EVENT)
    ev["t"] = np.sort(rng.integers(0, 10_000, n))
    ev["x"], ev["y"], ev["p"] = rng.integers(0, w, n), rng.integers(0, h, n), rng.integers(0, 2, n)
    return ev, (w, h, 2)


# ---- framing ---------------------------------------------------------------------------------------
@SETTINGS
@given(recordings(), st.integers(1, 12))
def test_count_split_conserves_every_event(rec, n_frames):
    ev, sensor = rec
    frames = to_frames(ev, sensor, n_frames=n_frames, split_by="count", backend="numba")
    assert frames.shape == (n_frames, 2, sensor[1], sensor[0])
    assert int(frames.sum()) == len(ev)  # the remainder is folded into the last frame
    per_pixel = np.zeros((2, sensor[1], sensor[0]), dtype=np.int64)
    np.add.at(per_pixel, (ev["p"], ev["y"], ev["x"]), 1)
    assert np.array_equal(frames.sum(axis=0), per_pixel)  # each event in its own pixel and polarity


@SETTINGS
@given(recordings(), st.integers(1, 12))
def test_count_split_frames_hold_equal_shares(rec, n_frames):
    """Frame k of the count split holds floor(N / n) events, the last one the remainder too."""
    ev, sensor = rec
    frames = to_frames(ev, sensor, n_frames=n_frames, split_by="count", backend="numba")
    per_frame = frames.reshape(n_frames, -1).sum(axis=1)
    share = len(ev) // n_frames
    assert all(int(c) == share for c in per_frame[:-1])
    assert int(per_frame[-1]) == len(ev) - share * (n_frames - 1)


@SETTINGS
@given(recordings(), st.integers(1, 8), st.sampled_from(["count", "time"]))
def test_numba_framing_equals_the_reference_loop(rec, n_frames, split_by):
    ev, sensor = rec
    fast = to_frames(ev, sensor, n_frames=n_frames, split_by=split_by, backend="numba")
    slow = to_frames(ev, sensor, n_frames=n_frames, split_by=split_by, backend="numpy")
    assert np.array_equal(fast, slow)


@SETTINGS
@given(recordings(), st.integers(1, 8))
def test_time_split_conserves_every_event(rec, n_frames):
    ev, sensor = rec
    frames = to_frames(ev, sensor, n_frames=n_frames, split_by="time", backend="numba")
    assert int(frames.sum()) == len(ev)


# ---- perturbations ---------------------------------------------------------------------------------
EVENT_LEVEL = [n for n, p in PERTURBATIONS.items() if p.level == "event"]
SPIKE_LEVEL = [n for n, p in PERTURBATIONS.items() if p.level == "spike"]


@SETTINGS
@given(recordings(), st.sampled_from(EVENT_LEVEL), st.integers(0, 1000))
def test_event_perturbations_at_severity_zero_are_the_identity(rec, name, seed):
    ev, sensor = rec
    p = PERTURBATIONS[name]
    out = p.fn(ev, p.low, sensor_size=sensor, generator=np.random.default_rng(seed))
    assert np.array_equal(out, ev) and out is not ev  # unchanged, and never the input itself


@SETTINGS
@given(
    st.sampled_from(SPIKE_LEVEL),
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(0, 1000),
    st.booleans(),
)
def test_spike_perturbations_at_severity_zero_are_the_identity(name, T, C, seed, counts):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 3 if counts else 2, (T, C, 3, 3), generator=g).float()
    p = PERTURBATIONS[name]
    out = p.fn(x, p.low, counts=counts, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(out, x)


@SETTINGS
@given(st.sampled_from(PERTURBATIONS.names()), st.floats(0, 5, allow_nan=False))
def test_sweep_severities_are_checked_against_the_declared_bounds(name, severity):
    p = PERTURBATIONS[name]
    sweep = [PerturbationSweep(name, (severity,), p.level)]
    inside = severity >= p.low and (p.high is None or severity <= p.high)
    if inside:
        assert validate_sweeps(sweep) == [p]
    else:
        with pytest.raises(ConfigError, match=f"{name}' severities"):
            validate_sweeps(sweep)


# ---- the rule --------------------------------------------------------------------------------------
@st.composite
def spike_pairs(draw):
    """Binary pre `[T, B, C_in]` and post `[T, B, C_out]` spike trains."""
    T, B = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    c_in, c_out = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    pre = (torch.rand(T, B, c_in, generator=g) < 0.4).double()
    post = (torch.rand(T, B, c_out, generator=g) < 0.4).double()
    return pre, post


KW = dict(sigma=1.0, dw_clip=10.0, dtype=torch.float64)


@SETTINGS
@given(spike_pairs(), st.floats(0, 2), st.floats(0, 2))
def test_factorised_rule_equals_the_direct_computation(pair, a_plus, a_minus):
    pre, post = pair
    gate = torch.linspace(0.5, 1.5, pre.shape[1], dtype=torch.float64)
    fast = da_ssdp_delta_w(pre, post, a_plus=a_plus, a_minus=a_minus, gate=gate, **KW)
    slow = direct_delta_w(pre, post, a_plus=a_plus, a_minus=a_minus, gate=gate, **KW)
    assert torch.allclose(fast.double(), slow.double(), atol=1e-9)


@SETTINGS
@given(spike_pairs(), st.floats(0.1, 2), st.floats(0.1, 2), st.floats(0.1, 3))
def test_rule_scales_linearly_with_its_amplitudes_and_a_constant_gate(pair, a_plus, a_minus, c):
    pre, post = pair
    base = da_ssdp_delta_w(pre, post, a_plus=a_plus, a_minus=a_minus, **KW)
    scaled = da_ssdp_delta_w(pre, post, a_plus=c * a_plus, a_minus=c * a_minus, **KW)
    gated = da_ssdp_delta_w(
        pre, post, a_plus=a_plus, a_minus=a_minus, gate=torch.full((pre.shape[1],), c, dtype=torch.float64), **KW
    )
    assert torch.allclose(scaled, c * base, atol=1e-9)
    assert torch.allclose(gated, c * base, atol=1e-9)


@SETTINGS
@given(spike_pairs(), st.floats(0.01, 2))
def test_rule_has_the_sign_of_its_terms(pair, a):
    pre, post = pair
    eps = 1e-12  # the factorised sums cancel terms: zero comes back as +-1e-18
    assert bool((da_ssdp_delta_w(pre, post, a_plus=a, a_minus=0.0, **KW) >= -eps).all())  # potentiation only
    assert bool((da_ssdp_delta_w(pre, post, a_plus=0.0, a_minus=a, **KW) <= eps).all())  # depression only
