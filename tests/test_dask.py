"""The Dask layer shared by the search and training (tsrnn._dask)."""

import contextlib
import threading
import warnings

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


def test_malloc_trap_warning_points_at_the_caller():
    """The warning names the first frame outside tsrnn (here, this test)."""
    facts = {"a": {"malloc_trim": "65536"}, "b": {"malloc_trim": None}}
    with pytest.warns(RuntimeWarning, match="1 of 2 Dask workers run with") as record:
        warn_malloc_trap(facts)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_malloc_trap({"a": {"malloc_trim": None}})  # no trap: silent


@pytest.mark.timeout(180)
def test_unsatisfiable_and_the_watchdog_on_real_workers(dask_processes):
    """On `dask scheduler` + two `dask worker` processes, one declaring TPU=1: what no worker
    can take is named with the command that would start one, and the watchdog reports once
    the only worker able to take the tasks is killed (its whole process group, by PID)."""
    from distributed import Client

    cluster = dask_processes(n_workers=2, resources=[None, "TPU=1"])
    with Client(cluster.address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
        address = client.scheduler.address
        assert unsatisfiable(client, {}) is None
        assert unsatisfiable(client, {"TPU": 1}) is None
        message = unsatisfiable(client, {"TPU": 2})
        assert "that each fit asks for (workers declare: TPU=1)" in message
        assert f"dask worker {address} --resources TPU=2" in message
        assert "run the fits on any worker" in message
        assert "--resources GPU=1" in unsatisfiable(client, {"GPU": 1})

        messages, called = [], threading.Event()

        def on_fatal(message: str) -> None:
            messages.append(message)
            called.set()

        with Watchdog(client, lambda: {"TPU": 1}, on_fatal, interval=0.05, wait_s=0.0):
            assert not called.wait(1.0)  # the TPU worker is there: nothing to report
            cluster.kill_group(1)
            assert called.wait(60)
        assert len(messages) == 1 and messages[0].startswith("For 0 s: no worker of the cluster")


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
