"""A DVS emulator: a still image moved on a screen in front of an event camera (as CIFAR10-DVS).

CIFAR10-DVS (Li et al., 2017, Front. Neurosci. 11:309) was recorded by showing each CIFAR-10
image on a monitor and moving it in small repeated steps in front of a DVS128. Here the image
makes `n_saccades` straight saccades along a closed triangle (directions 60, -60, 180 degrees,
so every edge orientation moves), sampled every `step_us` with sub-pixel bilinear resampling.

Each pixel follows the DVS model (Lichtsteiner et al., 2008; v2e, Hu et al., 2021):

    L(t)   = log(luminance(t) + eps)
    ON     when L - L_ref >=  C_on(x, y)    then L_ref += C_on     (OFF: <= -C_off, L_ref -= C_off)
    C(x,y) = C * (1 + sigma * N(0, 1))      fixed per-pixel threshold mismatch (the sensor's, seeded)

Within one step the log intensity changes linearly, so the k-th crossing of a pixel whose level
moved by dL over [t0, t0 + dt] happens at t0 + dt * k C / |dL| (timestamps in microseconds).
After an event a pixel is blind for `refractory_us`; crossings inside that window are lost (the
pixel is held in reset, its reference still follows). Optional background activity: Poisson
events at `noise_rate_hz` per pixel, uniform in time and polarity. Output sorted by t.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numba
import numpy as np

from eventsnn.events.io import EVENT_DTYPE


@dataclass(frozen=True)
class EmulatorParams:
    """Screen, motion and pixel parameters; `size` x `size` sensor, 2 polarities."""

    size: int = 64
    content_fraction: float = 0.8  # the image spans this fraction of the sensor's side
    amplitude: float = 3.0  # saccade length in sensor pixels
    n_saccades: int = 3
    saccade_us: int = 100_000
    steps_per_saccade: int = 16
    contrast_on: float = 0.25
    contrast_off: float = 0.25
    threshold_sigma: float = 0.03
    refractory_us: int = 1_000
    noise_rate_hz: float = 0.2  # background activity per pixel; 0 disables it
    min_luminance: float = 0.08  # screen black level (white = 1)
    eps: float = 1e-3

    @property
    def sensor_size(self) -> tuple[int, int, int]:
        return (self.size, self.size, 2)


def saccade_path(p: EmulatorParams) -> tuple[np.ndarray, np.ndarray]:
    """Displacements `[S+1, 2]` (dx, dy in pixels) and times `[S+1]` (us) of the whole motion."""
    angles = np.deg2rad([60.0, -60.0, 180.0])
    vertices = [np.zeros(2)]
    for k in range(p.n_saccades):
        a = angles[k % 3]
        vertices.append(vertices[-1] + p.amplitude * np.array([np.cos(a), np.sin(a)]))
    steps = [vertices[0][None]]
    frac = np.arange(1, p.steps_per_saccade + 1)[:, None] / p.steps_per_saccade
    for a, b in itertools.pairwise(vertices):
        steps.append(a + (b - a) * frac)
    disp = np.concatenate(steps)  # [S+1, 2]
    step_us = p.saccade_us / p.steps_per_saccade
    times = np.round(np.arange(len(disp)) * step_us).astype(np.int64)
    return disp, times


def render(image: np.ndarray, p: EmulatorParams, dx: float, dy: float) -> np.ndarray:
    """Screen luminance `[size, size]` seen by the sensor with the image shifted by (dx, dy).

    `image` `[h, w]` in [0, 1] is centred, scaled to `content_fraction` of the sensor and sampled
    bilinearly (zero = the screen's black level outside the image).
    """
    h, w = image.shape
    scale = p.content_fraction * p.size / max(h, w)
    pad = np.zeros((h + 2, w + 2), dtype=np.float64)
    pad[1:-1, 1:-1] = image
    c = (p.size - 1) / 2.0
    ys = (np.arange(p.size) - c - dy) / scale + (h - 1) / 2.0 + 1.0  # source row in `pad`
    xs = (np.arange(p.size) - c - dx) / scale + (w - 1) / 2.0 + 1.0
    v = _interp_matrix(ys, h + 2) @ pad @ _interp_matrix(xs, w + 2).T  # [size, size], separable
    return p.min_luminance + (1.0 - p.min_luminance) * v


def _interp_matrix(coords: np.ndarray, n: int) -> np.ndarray:
    """Linear-interpolation weights `[len(coords), n]` sampling positions `coords` (clamped)."""
    c = np.clip(coords, 0.0, n - 1.0)
    i0 = np.minimum(np.floor(c).astype(np.int64), n - 2)
    f = c - i0
    m = np.zeros((len(c), n))
    rows = np.arange(len(c))
    m[rows, i0] = 1.0 - f
    m[rows, i0 + 1] = f
    return m


def pixel_thresholds(p: EmulatorParams, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel ON / OFF thresholds `[size*size]` (the sensor's fixed mismatch for `seed`)."""
    rng = np.random.default_rng([int(seed), 0x5E75])
    n = p.size * p.size
    on = p.contrast_on * (1 + p.threshold_sigma * rng.standard_normal(n))
    off = p.contrast_off * (1 + p.threshold_sigma * rng.standard_normal(n))
    floor = 0.01
    return np.maximum(on, floor), np.maximum(off, floor)


@numba.njit(cache=True, nogil=True)
def dvs_pixel_events(L, times, thr_on, thr_off, refractory, last):
    """Threshold crossings of every pixel over a sequence of log-intensity images.

    Args:
        L: `[S+1, n_pix]` log intensities at `times` `[S+1]` (us); `L[0]` is the first reference.
        thr_on, thr_off: `[n_pix]` contrast thresholds; refractory: us.
        last: `[n_pix]` int64 time of each pixel's previous event (updated in place).

    Returns:
        (pixel ids, times, polarities) of the emitted events, in step order (not sorted by t).
        Crossing k of a step with change dL is at floor(t0 + dt * k * C / |dL|); an event is
        emitted when it is at least `refractory` after the pixel's previous one. The reference
        level follows every crossing, emitted or not.
    """
    n_steps, n_pix = L.shape
    ref = L[0].copy()
    cap = 1024
    pix = np.empty(cap, np.int64)
    ts = np.empty(cap, np.int64)
    pol = np.empty(cap, np.uint8)
    n = 0
    for k in range(1, n_steps):
        t0 = float(times[k - 1])
        dt = float(times[k] - times[k - 1])
        for i in range(n_pix):
            d = L[k, i] - ref[i]
            if d > 0:
                thr = thr_on[i]
                mag = d
                on = 1
            elif d < 0:
                thr = thr_off[i]
                mag = -d
                on = 0
            else:
                continue
            m = int(np.floor(mag / thr))
            if m == 0:
                continue
            for j in range(1, m + 1):
                t = int(np.floor(t0 + dt * j * thr / mag))
                if t >= last[i] + refractory:
                    if n == cap:
                        cap *= 2
                        pix2 = np.empty(cap, np.int64)
                        ts2 = np.empty(cap, np.int64)
                        pol2 = np.empty(cap, np.uint8)
                        pix2[:n] = pix[:n]
                        ts2[:n] = ts[:n]
                        pol2[:n] = pol[:n]
                        pix, ts, pol = pix2, ts2, pol2
                    pix[n] = i
                    ts[n] = t
                    pol[n] = on
                    n += 1
                    last[i] = t
            ref[i] += m * thr if on else -m * thr
    return pix[:n], ts[:n], pol[:n]


def emulate_recording(
    image: np.ndarray, params: EmulatorParams, *, sensor_seed: int, noise_seed: int | tuple[int, ...]
) -> np.ndarray:
    """One still image `[h, w]` (values in [0, 1]) -> a DVS recording (`EVENT_DTYPE`, sorted by t).

    Args:
        sensor_seed: threshold mismatch of the sensor (the same for every recording of a data set).
        noise_seed: this recording's background-activity noise.
    """
    p = params
    img = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
    thr_on, thr_off = pixel_thresholds(p, sensor_seed)
    disp, times = saccade_path(p)
    L = np.log(np.stack([render(img, p, dx, dy).ravel() for dx, dy in disp]) + p.eps)  # [S+1, n_pix]
    last_t = np.full(p.size * p.size, -(10**12), dtype=np.int64)
    chunks = [dvs_pixel_events(L, times, thr_on, thr_off, int(p.refractory_us), last_t)]
    rng = np.random.default_rng(noise_seed)
    duration = int(times[-1])
    if p.noise_rate_hz > 0:
        n_noise = rng.poisson(p.noise_rate_hz * p.size * p.size * duration * 1e-6)
        chunks.append(
            (
                rng.integers(0, p.size * p.size, n_noise),
                rng.integers(0, duration + 1, n_noise),
                rng.integers(0, 2, n_noise).astype(np.uint8),
            )
        )
    pix = np.concatenate([c[0] for c in chunks])
    ts = np.concatenate([c[1] for c in chunks])
    pol = np.concatenate([c[2] for c in chunks])
    order = np.lexsort((pol, pix, ts))  # by t, then pixel, then polarity: deterministic
    ev = np.empty(len(order), dtype=EVENT_DTYPE)
    ev["t"] = ts[order]
    ev["x"] = pix[order] % p.size
    ev["y"] = pix[order] // p.size
    ev["p"] = pol[order]
    return ev
