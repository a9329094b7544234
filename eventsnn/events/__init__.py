"""Event streams: framing (numba / torch / numpy kernels behind `to_frames`) and post-processing."""

from eventsnn.events.frame import to_frames
from eventsnn.events.postprocess import (
    ConfiguredFramer,
    FramePostprocess,
    framer_from_config,
    frames_from_config,
    frames_to_input,
    from_config,
)

__all__ = [
    "ConfiguredFramer",
    "FramePostprocess",
    "framer_from_config",
    "frames_from_config",
    "frames_to_input",
    "from_config",
    "to_frames",
]
