"""Optional dependencies: import one, or say in one line which extra installs it.

eventsnn's core imports without its optional parts; a feature that needs one imports it through
`import_optional`, which raises `MissingExtraError` (an `ImportError` and an `EventsnnError`:
one line and exit code 2 on the command line) naming the `pip install` that adds it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from eventsnn.errors import MissingExtraError

# module -> (distribution, extra)
OPTIONAL = {"dv_processing": ("dv-processing", "dv")}


def import_optional(module: str, feature: str) -> ModuleType:
    """`import module`, or `MissingExtraError` naming the extra that installs it.

    >>> import_optional("json", "reading JSON").dumps([1])
    '[1]'
    >>> import_optional("no_such_module", "it")
    Traceback (most recent call last):
    ...
    eventsnn.errors.MissingExtraError: it needs the Python module no_such_module, which is not installed
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        pass
    if module in OPTIONAL:
        dist, extra = OPTIONAL[module]
        raise MissingExtraError(
            f"{feature} needs {dist}, which is not installed: pip install 'eventsnn[{extra}]'"
        ) from None
    raise MissingExtraError(f"{feature} needs the Python module {module}, which is not installed") from None
