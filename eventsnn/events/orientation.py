"""Orientation maps: how a data set's released pipeline turns stored pixel addresses into images.

A map is a comma-separated list of steps, applied in order to an `EVENT_DTYPE` array (a copy):

    transpose      x' = y, y' = x
    flip_x=W       x' = W - 1 - x
    flip_y=H       y' = H - 1 - y
    invert_p       p' = 1 - p

Named maps (`ORIENTATIONS`) state the conventions of the field:

    spikingjelly_cifar10dvs   transpose, flip_x=128, flip_y=128, invert_p
                              = x' = 127 - y, y' = 127 - x, p' = 1 - p from the jAER DVS128 address
                              fields (spikingjelly's CIFAR10-DVS `load_origin_data`, the released
                              SpikingResformer / DA-SSDP pipeline)
    jaer_dvs128               flip_x=128, invert_p
                              = jAER's own display convention for DVS128 addresses
                              (x' = 127 - x, p' = 1 - p; the CSIC dat2mat.m reader)
    spikingjelly_asl_dvs      flip_x=240, flip_y=180 (spikingjelly's ASL-DVS .mat reader)

Composition: jaer_dvs128 followed by "transpose, flip_x=128" equals spikingjelly_cifar10dvs
(tested): the released pipeline's picture is jAER's picture turned by a quarter turn
(x' = 127 - y_jaer, y' = x_jaer), with the same polarity.
"""

from __future__ import annotations

import numpy as np

from eventsnn.errors import DataError

ORIENTATIONS = {
    "native": "",
    "spikingjelly_cifar10dvs": "transpose,flip_x=128,flip_y=128,invert_p",
    "jaer_dvs128": "flip_x=128,invert_p",
    "spikingjelly_asl_dvs": "flip_x=240,flip_y=180",
}


def parse_orientation(spec: str) -> list[tuple[str, int]]:
    """A named map or a step list -> [(step, size)]; `DataError` on an unknown step."""
    spec = ORIENTATIONS.get(spec, spec)
    steps = []
    for part in filter(None, (s.strip() for s in spec.split(","))):
        name, _, arg = part.partition("=")
        if name in ("transpose", "invert_p") and not arg:
            steps.append((name, 0))
        elif name in ("flip_x", "flip_y") and arg.isdigit() and int(arg) > 0:
            steps.append((name, int(arg)))
        else:
            raise DataError(
                f"orientation {spec!r}: unknown step {part!r} (steps: transpose, flip_x=W, flip_y=H, "
                f"invert_p; names: {', '.join(ORIENTATIONS)})"
            )
    return steps


def apply_orientation(events: np.ndarray, spec: str) -> np.ndarray:
    """`events` (EVENT_DTYPE) mapped by `spec` (a new array; the input is not changed).

    Raises:
        DataError: an event outside the size a flip names (the first such event index).
    """
    out = events.copy()
    for name, size in parse_orientation(spec):
        if name == "transpose":
            out["x"], out["y"] = events_xy_swapped(out)
        elif name == "invert_p":
            out["p"] = 1 - out["p"]
        else:
            f = name[-1]
            v = out[f]
            if len(v) and v.max() >= size:
                i = int(np.argmax(v >= size))
                raise DataError(
                    f"event {i}: {f}={v[i]} outside 0..{size - 1} of orientation step {name}={size}"
                )
            out[f] = size - 1 - v
    return out


def events_xy_swapped(ev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) copies: the transposed coordinates."""
    return ev["y"].copy(), ev["x"].copy()
