"""Helpers shared by the test modules."""

from __future__ import annotations

import contextlib
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


class DaskProcesses:
    """A ``dask scheduler`` and ``dask worker`` processes started by a test, as a user would.

    Each worker (a nanny and its worker process) runs in a session of its own, so that
    :meth:`kill_group` can SIGKILL it whole, nanny included, as a crash of its machine would.
    """

    def __init__(
        self, folder, n_workers: int = 2, preload: bool = True, resources: list | None = None
    ) -> None:
        import subprocess
        import sys
        from pathlib import Path

        bin_dir = Path(sys.executable).parent
        self.file = folder / f"scheduler-{time.monotonic_ns()}.json"
        self.procs = []
        self.scheduler = subprocess.Popen(
            [
                *(str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0"),
                *("--dashboard-address", ":0", "--scheduler-file", str(self.file)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        extra = ["--preload", "tsrnn.cluster"] if preload else []
        resources = resources or [None] * n_workers
        for i in range(n_workers):
            declared = ["--resources", resources[i]] if resources[i] else []
            self.procs.append(
                subprocess.Popen(
                    [
                        str(bin_dir / "dask"),
                        "worker",
                        "--scheduler-file",
                        str(self.file),
                        "--nthreads",
                        "1",
                        "--memory-limit",
                        "2GiB",
                        "--name",
                        f"w{i}",
                        *extra,
                        *declared,
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )

    @property
    def address(self) -> str:
        import json

        return json.loads(self.file.read_text())["address"]

    def kill_group(self, i: int) -> None:
        """SIGKILL worker ``i``'s whole process group (its nanny and its worker)."""
        os.killpg(self.procs[i].pid, signal.SIGKILL)

    def close(self) -> None:
        for proc in [*self.procs, self.scheduler]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.fixture
def dask_processes(tmp_path):
    """``dask_processes(n_workers=2, preload=True, resources=None)``: a started
    :class:`DaskProcesses` (``resources``: each worker's ``--resources``, e.g. "GPU=1")."""
    started = []

    def start(
        n_workers: int = 2, preload: bool = True, resources: list | None = None
    ) -> DaskProcesses:
        cluster = DaskProcesses(tmp_path, n_workers, preload, resources)
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.close()
