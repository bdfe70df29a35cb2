"""The Dask layer shared by the search and training (tsrnn._dask), without a cluster."""

import contextlib
import threading
import warnings
from types import SimpleNamespace

import pytest

from tsrnn._dask.connect import (
    Watchdog,
    connect,
    unsatisfiable,
    warn_malloc_trap,
)
from tsrnn._dask.worker import prepare_worker_thread, worker_address
from tsrnn._train.progress import Progress
from tsrnn.cluster import local_cluster
from tsrnn.errors import ClusterError, ParameterError, SearchError


class _FakeClient:
    """What unsatisfiable() reads of a client: the workers' resources and the address."""

    def __init__(self, *resources: dict) -> None:
        self.scheduler = SimpleNamespace(address="tcp://h:8786")
        self._workers = {f"tcp://w{i}:1": {"resources": r} for i, r in enumerate(resources)}

    def scheduler_info(self, n_workers: int = 5) -> dict:
        return {"workers": self._workers}


def test_malloc_trap_warning_points_at_the_caller():
    """The warning names the first frame outside tsrnn (here, this test)."""
    facts = {"a": {"malloc_trim": "65536"}, "b": {"malloc_trim": None}}
    with pytest.warns(RuntimeWarning, match="1 of 2 Dask workers run with") as record:
        warn_malloc_trap(facts)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_malloc_trap({"a": {"malloc_trim": None}})  # no trap: silent


def test_unsatisfiable_names_the_workers_to_start():
    client = _FakeClient({}, {"TPU": 1})
    assert unsatisfiable(client, {}) is None
    assert unsatisfiable(client, {"TPU": 1}) is None
    message = unsatisfiable(client, {"TPU": 2})
    assert "that each fit asks for (workers declare: TPU=1)" in message
    assert "dask worker tcp://h:8786 --resources TPU=2" in message
    assert "run the fits on any worker" in message
    assert "--resources GPU=1" in unsatisfiable(client, {"GPU": 1})


def test_watchdog_reports_once_the_cluster_stays_unable():
    messages, called = [], threading.Event()

    def on_fatal(message: str) -> None:
        messages.append(message)
        called.set()

    with Watchdog(_FakeClient({}), lambda: {"GPU": 1}, on_fatal, interval=0.01, wait_s=0.0):
        assert called.wait(10)
    assert len(messages) == 1 and messages[0].startswith("For 0 s: no worker of the cluster")
    able = []
    with Watchdog(_FakeClient({"GPU": 1}), lambda: {"GPU": 1}, able.append, interval=0.01):
        threading.Event().wait(0.1)
    assert able == []


def test_connect_rejects_other_types_before_any_cluster():
    with contextlib.ExitStack() as stack, pytest.raises(ParameterError, match="client must be"):
        connect(42, n_workers=1, stack=stack)


def test_search_errors_are_cluster_errors():
    assert issubclass(SearchError, ClusterError)


def test_outside_a_worker_nothing_is_changed():
    import torch

    threads = torch.get_num_threads()
    assert worker_address() is None
    assert prepare_worker_thread() == threads == torch.get_num_threads()
    with Progress(0, 3, "training", "networks") as bar:  # verbose=0: no bar, no output
        bar.advance("note")
        bar.total(4)
        bar.note("text")


@pytest.mark.parametrize(
    ("options", "message"),
    [({"n_workers": 0}, "at least one worker"), ({"gpus": "some"}, "gpus must be 'all'")],
)
def test_local_cluster_settings_fail_as_cluster_errors_not_search_errors(options, message):
    """The local cluster serves training too: its errors are not the search's."""
    with pytest.raises(ClusterError, match=message) as caught, local_cluster(**options):
        pass
    assert type(caught.value) is ClusterError
