"""Child processes that never outlive their parent."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int, *, poll_s: float = 1.0) -> None:
    """Make the calling process end when `parent_pid` (its parent) ends, even by `kill -9`.

    Linux: `prctl(PR_SET_PDEATHSIG, SIGKILL)`, the kernel kills this process when the thread
    that forked it exits. Elsewhere: a daemon thread polls `os.getppid()` every `poll_s` s.
    Either way, a parent that is already gone (the process was re-parented before the call)
    ends this process at once.
    """
    armed = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent_pid:
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent_pid, poll_s), daemon=True).start()


def _watch_parent(parent_pid: int, poll_s: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_s)
    os._exit(1)
