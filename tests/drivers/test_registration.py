"""Native drivers other packages ship: registered under the ``ganga_monitoring.drivers`` entry point group."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from GangaMonitoring.drivers import ENTRY_POINT_GROUP, make_native_driver, registered_drivers

PACKAGE = '''
from GangaMonitoring.drivers.base import NativeDriver


class SiteDriver(NativeDriver):
    backend = "SiteBatch"

    def poll(self, jobs, ctx, scope=""):
        ctx.jobs_fine(jobs)


class NotADriver:
    backend = "Odd"
'''


@pytest.fixture
def site_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed distribution (a dist-info on sys.path) that registers drivers, as a site's package would."""
    (tmp_path / "site_monitoring").mkdir()
    (tmp_path / "site_monitoring" / "__init__.py").write_text(PACKAGE)
    info = tmp_path / "site_monitoring-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: site-monitoring\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(f"""\
        [{ENTRY_POINT_GROUP}]
        SiteBatch = site_monitoring:SiteDriver
        Missing = site_monitoring:NoSuchDriver
        Odd = site_monitoring:NotADriver
        Mislabelled = site_monitoring:SiteDriver
        """))
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.usefixtures("site_package")
def test_a_driver_another_package_registers_is_used_for_its_backend() -> None:
    assert registered_drivers()["SiteBatch"] == "site_monitoring:SiteDriver"
    driver = make_native_driver("SiteBatch")
    assert driver is not None and type(driver).__name__ == "SiteDriver" and driver.backend == "SiteBatch"
    assert make_native_driver("NobodysBackend") is None  # monitored as stock does


@pytest.mark.usefixtures("site_package")
def test_a_registered_driver_that_cannot_serve_is_logged_and_not_used(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="GangaMonitoring.drivers"):
        assert make_native_driver("Missing") is None
        assert make_native_driver("Odd") is None  # not a NativeDriver
        assert make_native_driver("Mislabelled") is None  # a driver for another backend
    assert "could not be loaded" in caplog.text and caplog.text.count("is not a NativeDriver for") == 2
