"""`run_every`, the loop of `sweep --every` and `douyin_sync --every`: a signal ends the wait
between runs at once, never a run. Time is not slept: `time.sleep` is replaced by a recorder."""

from __future__ import annotations

import signal

import pytest

from aftersales.core import periodic


@pytest.fixture
def naps(monkeypatch):
    """The naps taken, in seconds, instead of sleeping them."""
    taken: list[float] = []
    monkeypatch.setattr(periodic.time, "sleep", taken.append)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield taken
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def deliver(signum: int) -> None:
    """What the kernel would do: call the handler the loop installed."""
    signal.getsignal(signum)(signum, None)


def test_without_an_interval_it_runs_once_and_waits_for_nothing(naps):
    runs = []
    periodic.run_every(0, lambda: runs.append(1))
    assert runs == [1] and naps == []


def test_it_waits_the_whole_interval_between_runs_in_short_naps(naps):
    runs = []

    def run_once():
        runs.append(len(naps))
        if len(runs) == 3:
            deliver(signal.SIGTERM)  # arrives during the third run: that run still finishes

    periodic.run_every(2, run_once)
    assert runs == [0, 4, 8]  # two seconds in four naps of 0.5 s between runs
    assert sum(naps) == 4 and max(naps) == 0.5  # no wait after the signal


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_wait_ends_it_within_a_nap(naps, monkeypatch, signum):
    runs = []

    def nap(seconds):
        naps.append(seconds)
        if len(naps) == 3:
            deliver(signum)

    monkeypatch.setattr(periodic.time, "sleep", nap)
    periodic.run_every(30, lambda: runs.append(1))
    assert runs == [1]  # not run again after Ctrl-C
    assert naps == [0.5, 0.5, 0.5]  # 1.5 s, not the 30 s interval


def test_the_loop_gives_back_the_processs_own_handlers_when_it_ends(naps):
    # A task worker (or a test) running the loop in-process keeps its own SIGTERM handling;
    # a run without an interval never touches it.
    def own_handler(signum, frame):
        pass

    signal.signal(signal.SIGTERM, own_handler)
    signal.signal(signal.SIGINT, own_handler)
    periodic.run_every(0, lambda: None)
    assert signal.getsignal(signal.SIGTERM) is own_handler

    def run_once():
        assert signal.getsignal(signal.SIGTERM) is not own_handler  # the loop's, meanwhile
        deliver(signal.SIGTERM)

    periodic.run_every(5, run_once)
    assert signal.getsignal(signal.SIGTERM) is own_handler
    assert signal.getsignal(signal.SIGINT) is own_handler
