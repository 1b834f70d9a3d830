"""Run upstream Ganga's Unit and GPI suites against the installed Ganga (temp gangadir)."""
import tempfile

import pytest

import ganga  # noqa: F401 - the sys.path hack that makes GangaCore importable

_ROOT = tempfile.mkdtemp(prefix="upstream-gangadir-")


def _temp_root():
    return _ROOT


import GangaCore.testlib.GangaUnitTest as _unit  # noqa: E402
import GangaCore.testlib.fixtures as _fixtures  # noqa: E402

_unit._getGangaPath = _temp_root
_fixtures._getGangaPath = _temp_root
try:
    import ganga.GangaCore.testlib.GangaUnitTest as _unit2  # the second module copy some tests import

    _unit2._getGangaPath = _temp_root
except ImportError:
    pass

pytest_plugins = "GangaCore.testlib.fixtures"


def pytest_addoption(parser):
    parser.addoption("--runexternals", action="store_true", help="run tests that need external services")
    parser.addoption("--keepRepo", action="store_true", help="keep the repo after the tests")
    parser.addoption("--testLHCb", action="store_true", help="use an LHCb proxy")


def pytest_configure(config):
    config.addinivalue_line("markers", "externals: needs external services")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runexternals"):
        return
    skip = pytest.mark.skip(reason="need --runexternals option to run")
    for item in items:
        if "externals" in item.keywords:
            item.add_marker(skip)
