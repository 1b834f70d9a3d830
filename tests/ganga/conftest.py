"""In-process Ganga for tests: Ganga's own testlib, a temp gangadir, our package active.

``start_ganga``/``stop_ganga`` are GangaCore.testlib's.  The first Ganga start
of a process must already name GangaMonitoring (Ganga accepts new config
sections only before its first bootstrap), so every start here does, and
names GangaDirac too, with a simulated DIRAC installation made once per
test process (``FAKE_DIRAC``; no simulator answers it until a test points
it at one) and a valid proxy.  Child processes a test starts inherit it.
HTCondor's bindings are a fake HTCondor's in this process (``testing/fakecondor.py``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from typing import Any
from collections.abc import Iterator

import pytest

import ganga  # noqa: F401 - puts GangaCore on sys.path

from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga  # noqa: E402

from GangaMonitoring import quiet_bare_name_warning  # noqa: E402
from GangaMonitoring.simulator import fakedirac  # noqa: E402
from GangaMonitoring.testing import fakecondor  # noqa: E402

from ..waiting import wait_for  # noqa: E402,F401 - the tests here import it from this module

from . import plugins  # noqa: E402,F401 - Ganga takes plugin classes only before its first start

quiet_bare_name_warning()

RUNTIME = "GangaTest:GangaDirac:GangaMonitoring"

NO_SIMULATOR = "http://127.0.0.1:9"
"""Where the simulated DIRAC points until a test starts a simulator for it (nothing listens there)."""


def _fake_dirac() -> fakedirac.FakeDirac:
    """This test process's simulated DIRAC installation; a process a test starts reuses it.

    Keyed by the xdist worker: workers inherit the environment of the
    controller, and each must have its own (tests point it at their own simulators).
    """
    variable = f"GM_FAKE_DIRAC_ROOT_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    root = os.environ.get(variable)
    if root is None:
        root = os.environ[variable] = tempfile.mkdtemp(prefix="gm-fakedirac-")
        atexit.register(shutil.rmtree, root, True)
        os.environ["X509_USER_PROXY"] = os.path.join(root, "x509up")
        fake = fakedirac.install(os.path.join(root, "diracos"), NO_SIMULATOR)
        fakedirac.make_proxy()
        return fake
    return fakedirac.installed(os.path.join(root, "diracos"))


FAKE_DIRAC = _fake_dirac()

fakecondor.install()  # HTCondor's bindings for Ganga's Condor backend, before Ganga imports it (tests reset it)


def ganga_options(extra: list[tuple[str, str, Any]] | None = None) -> list[tuple[str, str, Any]]:
    """Options for a test session: our runtime, fast polls of the test backends."""
    return [
        ("Configuration", "RUNTIME_PATH", RUNTIME),
        ("PollThread", "Local", 1),
        ("PollThread", "TestSubmitter", 1),
        ("Monitoring", "retry_max_wait", 1.0),
        *FAKE_DIRAC.ganga_options(),
        *(extra or []),
    ]


@pytest.fixture(autouse=True)
def fresh_recording_submitter() -> None:
    """RecordingSubmitter's record, gate and error are module state: each test starts without them."""
    plugins.UPDATES.reset()
    plugins.SUBMIT_GATE.set()


@pytest.fixture
def gangadir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("gangadir"))


@pytest.fixture
def ganga_session(request: pytest.FixtureRequest, gangadir: str) -> Iterator[Any]:
    """A started Ganga (monitoring enabled) with GangaMonitoring; yields GangaCore.GPI.

    A test can pass more options with ``@pytest.mark.parametrize("ganga_session",
    [[(section, option, value)]], indirect=True)``.
    """
    with ganga_running(gangadir, getattr(request, "param", None)) as gpi:
        yield gpi


def options_not_taken(options: list[tuple[str, str, Any]]) -> list[str]:
    """Each option whose value in the started session differs from the one asked for, as a sentence."""
    from GangaCore.Utility.Config import getConfig

    refused = []
    last = {(section, name): value for section, name, value in options}  # a later value overrides an earlier one
    for (section, name), value in last.items():
        try:
            taken = getConfig(section)[name]
        except Exception as error:  # Ganga's ConfigError for an option its section does not have
            refused.append(f"[{section}]{name} = {value!r}: {error}")
            continue
        if (section, name) == ("Configuration", "RUNTIME_PATH") and (  # Ganga joins the paths it is given
                set(str(value).split(":")) <= set(str(taken).split(":"))):
            continue
        if taken != value:
            refused.append(f"[{section}]{name} = {value!r} ({type(value).__name__}) reads {taken!r}")
    return refused


@contextlib.contextmanager
def fake_dirac_at(server_url: str, **settings: Any) -> Iterator[None]:
    """The simulated DIRAC answers from ``server_url`` (``settings``: ``point_at``'s) meanwhile, then nothing."""
    FAKE_DIRAC.point_at(server_url, **settings)
    try:
        yield
    finally:
        FAKE_DIRAC.point_at(NO_SIMULATOR)


@contextlib.contextmanager
def ganga_running(gangadir: str, extra: list[tuple[str, str, Any]] | None = None) -> Iterator[Any]:
    """A Ganga session on ``gangadir`` with the test options (plus ``extra``), monitoring enabled; yields GPI."""
    start_ganga(gangadir, extra_opts=ganga_options(extra))
    try:
        refused = options_not_taken(extra or [])
    except BaseException:
        stop_ganga()
        raise
    if refused:
        stop_ganga()
        pytest.fail(f"Ganga did not take these test options (GangaUnitTest only prints 'Error Setting'): {refused}")
    from GangaCore import GPI
    from GangaCore.Core import monitoring_component

    monitoring_component.enable()
    try:
        yield GPI
    finally:
        stop_ganga()


