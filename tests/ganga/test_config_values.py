"""``[Monitoring]`` values are read from Ganga's config once per change of the section, and every change
made through the section applies from the next read after it (config.monitoring_option's contract)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.ganga


def test_values_are_read_from_gangas_config_once_until_the_section_changes(ganga_session: Any,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from GangaCore.Utility.Config import getConfig
    from GangaCore.Utility.Config.Config import PackageConfig

    from GangaMonitoring import config

    reads: list[str] = []
    effective = PackageConfig.getEffectiveOption

    def counted(self: Any, name: str) -> Any:
        if self.name == config.SECTION and name in ("aging_seconds", "poll_cadence"):  # monitoring reads others
            reads.append(name)
        return effective(self, name)

    monkeypatch.setattr(PackageConfig, "getEffectiveOption", counted)
    getConfig(config.SECTION).hasModified = True  # whatever the session read before, a new set from here
    for _ in range(1000):
        config.monitoring_option("aging_seconds")
        config.monitoring_option("poll_cadence")
    assert sorted(reads) == ["aging_seconds", "poll_cadence"]
    ganga_session.config.Monitoring.aging_seconds = 7.0
    assert config.monitoring_option("aging_seconds") == 7.0
    assert config.monitoring_option("poll_cadence") == "adaptive"
    assert sorted(reads) == ["aging_seconds", "aging_seconds", "poll_cadence", "poll_cadence"]


def test_every_way_ganga_changes_the_section_applies_at_the_next_read(ganga_session: Any) -> None:
    from GangaCore.Utility.Config import getConfig, setConfigOption

    from GangaMonitoring import config

    section = getConfig(config.SECTION)
    assert config.monitoring_option("first_poll_delay") == 2.0
    ganga_session.config.Monitoring.first_poll_delay = 0.5  # at the prompt
    assert config.monitoring_option("first_poll_delay") == 0.5
    section.revertToDefaultOptions()  # as Ganga's clear_config between tests
    assert config.monitoring_option("first_poll_delay") == 2.0
    setConfigOption("Monitoring", "first_poll_delay", 0.25)  # a session value, as Ganga's own tests set
    assert config.monitoring_option("first_poll_delay") == 0.25
    section.setSessionValue("first_poll_delay", 1.5)  # an ini file read
    assert config.monitoring_option("first_poll_delay") == 1.5
    section.setGangarcValue("first_poll_delay", 3.0)
    assert config.monitoring_option("first_poll_delay") == 3.0
    ganga_session.config.Monitoring.first_poll_delay = -7  # refused (-7: each bad value is said once a process)
    assert config.monitoring_option("first_poll_delay") == 3.0


def test_a_read_inside_a_setter_before_the_value_is_stored_is_not_kept(ganga_session: Any) -> None:
    """Forces the interleaving: Ganga marks the section changed, then runs the pre-handlers, then stores
    the value. A read in between (here by a pre-handler; in a session, a monitoring thread) starts a new
    set of values with the old one in it; the post-handler marks the set stale once the value is stored."""
    from GangaCore.Utility.Config import getConfig

    from GangaMonitoring import config

    section = getConfig(config.SECTION)
    seen_inside: list[Any] = []

    def read_before_the_value_is_stored(name: str, value: Any) -> Any:
        seen_inside.append(config.monitoring_option("aging_seconds"))
        return value

    section._user_handlers.insert(0, (read_before_the_value_is_stored, lambda name, value: None))
    try:
        ganga_session.config.Monitoring.aging_seconds = 11.0
    finally:
        section._user_handlers.pop(0)
    assert seen_inside == [30.0]
    assert config.monitoring_option("aging_seconds") == 11.0
