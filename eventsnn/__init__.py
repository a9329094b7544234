"""eventsnn: event-camera data, spike I/O and DA-SSDP for spiking transformers."""

__version__ = "0.2.0"

__all__ = ["__version__"]
