"""The simulator as a real service on 127.0.0.1: API, errors and injected faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests

from GangaMonitoring.simulator.client import (OutputNotReadyError, SimGridBadAnswer, SimGridClient, SimGridRejected,
                                              SimGridUnavailable)
from GangaMonitoring.simulator.process import SimGridProcess


@pytest.fixture(scope="module")
def simgrid() -> Iterator[SimGridProcess]:
    process = SimGridProcess("--queue-time", "0", "0", "--run-time", "0.3", "0.3", "--max-batch", "50")
    process.start()
    yield process
    process.stop()


def test_submit_status_changes_output_kill(simgrid: SimGridProcess) -> None:
    client = simgrid.client(max_batch=50)
    ids = client.submit(120)
    assert len(ids) == 120
    cursor, changed = client.changes(0)
    assert {v["id"] for v in changed} >= set(ids)
    assert client.status(ids)[0]["id"] == ids[0]  # 120 ids go out in batches of 50
    with pytest.raises(OutputNotReadyError):
        client.output(ids[0])
    assert client.kill([ids[-1]]) == [ids[-1]]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and client.status([ids[0]])[0]["state"] != "Done":
        time.sleep(0.05)
    view = client.status([ids[0]])[0]
    assert view["state"] == "Done" and view["finished_at"] <= time.time()
    assert client.output(ids[0])[:2] == b"\x1f\x8b"  # gzip
    _, later = client.changes(cursor)
    assert {v["id"] for v in later} >= set(ids)
    assert client.status([ids[-1]])[0]["state"] == "Killed"


def test_one_client_shared_by_threads_gives_each_thread_its_own_session(simgrid: SimGridProcess) -> None:
    client = simgrid.client()
    ids = client.submit(8)
    together = threading.Barrier(len(ids))
    answers: dict[int, tuple[int, int]] = {}

    def read(job_id: int) -> None:
        together.wait(timeout=30)  # all at once, as Ganga's main thread and the pools do
        answers[job_id] = (client.status([job_id])[0]["id"], id(client._session))

    threads = [threading.Thread(target=read, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert {job_id: got for job_id, (got, _) in answers.items()} == {i: i for i in ids}
    assert len({session for _, session in answers.values()}) == len(ids)
    client.close()  # every thread's session, not only the caller's
    assert client._sessions == []
    assert client.status([ids[0]])[0]["id"] == ids[0]  # and the client still works afterwards


def test_the_client_ignores_proxy_settings_of_the_environment(simgrid: SimGridProcess,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator is on the loopback: a proxy named in the environment (here one nothing listens on) is
    not asked, nor is a ``.netrc`` read."""
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", "/nonexistent/netrc")
    client = simgrid.client()
    ids = client.submit(1)
    assert client.status(ids)[0]["id"] == ids[0]


def test_bad_requests_are_clear_4xx(simgrid: SimGridProcess) -> None:
    client = simgrid.client(max_batch=1000)
    with pytest.raises(SimGridRejected, match="at most 50 ids"):
        client.status(range(51))
    [known] = client.submit(1)
    assert client.status_report([known, 10**9]) == ([client.status([known])[0]], [10**9])  # per job, as DIRAC
    assert client.kill_report([10**9, known]) == ([known], [10**9])
    with pytest.raises(SimGridRejected, match="unknown job"):
        client.output(10**9)
    with pytest.raises(SimGridRejected, match="count"):
        client._json("POST", "/jobs", {"count": "many"})
    answer = requests.post(simgrid.url + "/status", data=b"not json", timeout=5)
    assert answer.status_code == 400 and "not JSON" in answer.json()["error"]


def test_injected_errors_malformed_answers_and_hangs() -> None:
    with SimGridProcess("--error-rate", "0.3", "--malformed-rate", "0.3", "--timeout-rate", "0.2",
                        "--hang-seconds", "5", "--seed", "3") as url:
        client = SimGridClient(url, timeout=0.5)
        outcomes: dict[str, int] = {}
        for _ in range(40):
            try:
                client.submit(1)
                outcome = "ok"
            except SimGridUnavailable as err:
                outcome = "timeout" if "no answer" in str(err) else "5xx"
            except SimGridBadAnswer:
                outcome = "malformed"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        assert set(outcomes) == {"ok", "5xx", "malformed", "timeout"}, outcomes
        stats = SimGridClient(url).stats()
        assert stats["requests"]["injected 500"] == outcomes["5xx"]


def test_the_client_reports_each_read_it_retries() -> None:
    with SimGridProcess("--error-rate", "0.3", "--seed", "3") as url:
        plain = SimGridClient(url)
        ids = _submit_through_errors(plain, 20)
        retried: list[BaseException] = []
        client = SimGridClient(url, on_retry=retried.append)
        answered = failed = 0
        for _ in range(30):
            try:
                client.status(ids)
                answered += 1
            except SimGridUnavailable:
                failed += 1  # three glitches in a row: retried twice, then given up
        assert answered and retried and all(isinstance(e, SimGridUnavailable) for e in retried)
        # each status() is one request plus one per retry: every retry was reported
        assert plain.stats()["requests"]["requests status"] == answered + failed + len(retried)


def _submit_through_errors(client: SimGridClient, count: int) -> list[int]:
    for _ in range(50):
        try:
            return client.submit(count)
        except SimGridUnavailable:
            continue
    raise AssertionError("50 submissions failed in a row")


def test_scheduled_outage_answers_503_then_recovers() -> None:
    with SimGridProcess("--outage", "0", "1.0") as url:
        client = SimGridClient(url)
        with pytest.raises(SimGridUnavailable, match="503"):
            client.submit(1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                assert len(client.submit(1)) == 1
                break
            except SimGridUnavailable:
                time.sleep(0.1)
        else:
            pytest.fail("the outage never ended")


def test_an_outage_started_on_demand() -> None:
    with SimGridProcess() as url:
        client = SimGridClient(url)
        client.start_outage(30)
        with pytest.raises(SimGridUnavailable, match="503"):
            client.submit(1)
        assert client.stats()["requests"]["outage 503"] == 1  # /stats answers during the outage
        with pytest.raises(SimGridRejected):
            client._json("POST", "/control/outage", {"seconds": -1})


def test_hold_and_release_over_http() -> None:
    with SimGridProcess("--queue-time", "0", "0", "--run-time", "0", "0") as url:
        client = SimGridClient(url)
        assert client.hold(True) == 0
        ids = client.submit(3)
        assert {v["state"] for v in client.status(ids)} == {"Waiting"}
        assert client.hold(False) == 3
        assert {v["state"] for v in client.status(ids)} == {"Done"}
        with pytest.raises(SimGridRejected):
            client._json("POST", "/control/hold", {"held": "yes"})


def test_concurrency_cap_makes_excess_requests_wait() -> None:
    import concurrent.futures

    with SimGridProcess("--latency", "0.2", "--max-concurrent", "2") as url:
        client = SimGridClient(url)
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda _: SimGridClient(url).submit(1), range(6)))
        assert client.stats()["max_concurrent_seen"] == 2


def test_refuses_non_loopback_addresses() -> None:
    from GangaMonitoring.simulator.server import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--host", "0.0.0.0"])


def test_the_simulator_does_not_outlive_its_launcher() -> None:
    import subprocess
    import sys

    import psutil

    code = ("import os; from GangaMonitoring.simulator.process import SimGridProcess; "
            "p = SimGridProcess(); p.start(); print(p._process.pid, flush=True); os._exit(0)")
    launcher = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    server = psutil.Process(int(launcher.stdout.split()[0]))
    try:
        server.wait(timeout=10)  # it notices its launcher is gone within about a second
    except psutil.TimeoutExpired:
        server.kill()
        pytest.fail("the simulator outlived the process that started it")


def test_ids_never_repeat_across_restarts_and_an_old_id_is_unknown_to_a_new_run() -> None:
    """Restarted on the same address, the simulator gave its first job id 0 again: an old job then silently
    completed with a new job's output.  Now each run numbers its jobs from its own start."""
    first = SimGridProcess("--queue-time", "0", "0", "--run-time", "0", "0")
    url = first.start()
    port = url.rsplit(":", 1)[1]
    try:
        old = SimGridClient(url).submit(3, names=["old-a", "old-b", "old-c"])
        assert [v["name"] for v in SimGridClient(url).status(old)] == ["old-a", "old-b", "old-c"]
    finally:
        first.stop()
    seen = set(old)
    for run in range(3):  # restart at once, on the same port, several times
        with SimGridProcess("--port", port, "--queue-time", "0", "0", "--run-time", "0", "0") as again:
            assert again == url
            client = SimGridClient(again)
            ids = client.submit(3, names=[f"new{run}-{i}" for i in range(3)])
            assert not seen & set(ids), (sorted(seen), ids)
            seen |= set(ids)
            views, unknown = client.status_report([*old, *ids])
            assert unknown == old  # the old jobs' ids are nobody's
            assert [v["name"] for v in views] == [f"new{run}-{i}" for i in range(3)]


def test_submission_names_are_checked() -> None:
    with SimGridProcess() as url:
        client = SimGridClient(url)
        with pytest.raises(SimGridRejected, match="'names' must be a list of 2"):
            client.submit(2, names=["only-one"])
        with pytest.raises(SimGridRejected, match="'names'"):
            client._json("POST", "/jobs", {"count": 1, "names": [7]})
        [unnamed] = client.submit(1)
        assert client.status([unnamed])[0]["name"] is None
