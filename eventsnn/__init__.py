"""eventsnn: event-camera data, spike I/O and DA-SSDP for spiking transformers."""

__version__ = "0.2.0"

__all__ = ["Checkpoint", "__version__"]


def __getattr__(name: str):
    """`eventsnn.Checkpoint` without importing torch at `import eventsnn` (PEP 562)."""
    if name == "Checkpoint":
        from eventsnn.checkpoint import Checkpoint

        return Checkpoint
    raise AttributeError(f"module 'eventsnn' has no attribute {name!r}")
