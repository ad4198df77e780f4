"""Commands that repeat (`sweep --every`, a platform's sync `--every`): run, wait, run again."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

# How often a waiting loop looks at whether it was asked to stop: Ctrl-C on `make demo` ends
# it within this, not after a whole interval.
_NAP_SECONDS = 0.5


def run_every(every: float, run_once: Callable[[], None]) -> None:
    """Call `run_once`; with `every` > 0, again every `every` seconds until SIGTERM or SIGINT.

    A signal never interrupts a run (its transactions finish); it ends the wait between runs.
    The handler only sets a flag: waking a lock or starting a thread from a signal handler can
    deadlock the thread it interrupted.
    """
    if not every:
        run_once()
        return
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    # The handlers are the loop's own: given back when it ends, so that a process that runs
    # it in-process (a test, a task) keeps its own handling of SIGTERM and Ctrl-C.
    previous = {
        signum: signal.signal(signum, request_stop) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        while True:
            run_once()
            waited = 0.0
            while waited < every and not stopping:
                nap = min(_NAP_SECONDS, every - waited)
                time.sleep(nap)  # the interval between runs, not a stand-in for synchronisation
                waited += nap
            if stopping:
                return
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
