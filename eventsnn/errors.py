"""Exceptions that the CLI turns into one clear line and exit code 2."""


class EventsnnError(Exception):
    """Base class: a problem the user can fix (bad input, missing data, wrong config)."""


class ConfigError(EventsnnError):
    """A config file or `--set` override is invalid."""


class DataError(EventsnnError):
    """A recording, data set or cache is missing, corrupt or inconsistent."""


class CheckpointError(DataError):
    """A checkpoint is missing, not a trusted checkpoint, or belongs to another model (bad data)."""


class TrainingError(EventsnnError):
    """Training cannot go on (for example a NaN loss)."""
