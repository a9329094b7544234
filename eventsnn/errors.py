"""The error taxonomy of eventsnn; the CLI turns every `EventsnnError` into one line and exit code 2.

Which error to raise:

- `ArgumentError` (also a `ValueError`): misuse of a function -- an argument value that can never
  be right (`n_frames=0`, `backend="gpu"`, a probability of 1.5, a `sensor_size` of two numbers).
  Code that catches `ValueError` keeps working; the CLI still prints one line. Subclasses name
  the area: `SpikeInputError` (spike tensors), `PlasticityInputError` (DA-SSDP inputs).
- `DataError`: bad data -- a recording, data set, cache or checkpoint that is missing, corrupt or
  inconsistent (events outside the sensor, unsorted timestamps in a time mode, a truncated file).
  `CheckpointError` is the data error of checkpoint files.
- `ConfigError`: bad configuration -- a config file, a `--set` override or a command-line option
  (unknown key, wrong type, value out of its range, settings that contradict each other).
- `TrainingError`: training cannot go on (a NaN loss, fewer samples than one batch).

Python's own `TypeError` / `ValueError` from deep inside torch or h5py are bugs to be turned into
one of the above at the boundary where the value first arrives.
"""


class EventsnnError(Exception):
    """Base class: a problem the user can fix (bad input, missing data, wrong config)."""


class ArgumentError(EventsnnError, ValueError):
    """Misuse of a function: an argument value outside what the function accepts."""


class ConfigError(EventsnnError):
    """A config file, `--set` override or command-line option is invalid."""


class DataError(EventsnnError):
    """A recording, data set, cache or checkpoint is missing, corrupt or inconsistent."""


class CheckpointError(DataError):
    """A checkpoint is missing, not a trusted checkpoint, or belongs to another model (bad data)."""


class MissingExtraError(EventsnnError, ImportError):
    """A feature needs an optional dependency that is not installed (the message names the extra)."""


class TrainingError(EventsnnError):
    """Training cannot go on (for example a NaN loss)."""
