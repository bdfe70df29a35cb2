"""Helpers shared by the test modules."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import pytest


class WorkerKiller(threading.Thread):
    """SIGKILL, by its PID, the first worker seen running a task whose key ``matches``.

    ``pid`` is the killed process' id once done (None if no such task ran within ``within``
    seconds); ``delay`` seconds pass between seeing the task and the kill.
    """

    def __init__(self, client, matches: Callable[[str], bool], delay: float = 0.0,
                 within: float = 60.0) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.client, self.matches, self.delay, self.within = client, matches, delay, within
        self.pids = client.run(os.getpid)
        self.pid: int | None = None

    def run(self) -> None:
        deadline = time.monotonic() + self.within
        while time.monotonic() < deadline:
            for worker, keys in self.client.processing().items():
                if worker in self.pids and any(self.matches(str(k)) for k in keys):
                    time.sleep(self.delay)
                    self.pid = self.pids[worker]
                    os.kill(self.pid, signal.SIGKILL)
                    return
            time.sleep(0.02)


@pytest.fixture
def worker_killer():
    """``worker_killer(client, matches, delay=0.0)``: a started :class:`WorkerKiller`."""

    def start(client, matches: Callable[[str], bool], delay: float = 0.0) -> WorkerKiller:
        killer = WorkerKiller(client, matches, delay)
        killer.start()
        return killer

    return start
