"""The adaptive cadence of a split job without file events (issue 30), on made-up times: no clock, no threads."""

from __future__ import annotations

import itertools

import pytest

from GangaMonitoring._core.cadence import CadenceSettings, PollBudget, SplitJobCadence


def simulate(ends: dict[int, tuple[float, float]], settings: CadenceSettings, until: float) -> list[float]:
    """Polls of one split job whose subjob n runs from ends[n][0] to ends[n][1]: returns the poll times."""
    cadence = SplitJobCadence(settings)
    polls: list[float] = []
    seen: set[int] = set()
    now = 0.0
    while now <= until and len(seen) < len(ends):
        ended = [n for n, (_start, end) in ends.items() if n not in seen and end <= now]
        cadence.polled(now, [ends[n][1] - ends[n][0] for n in ended])
        seen.update(ended)
        polls.append(now)
        running = [start for n, (start, _end) in ends.items() if n not in seen and start <= now]
        now = cadence.next_poll(now, now, running)
    return polls


def test_without_finished_siblings_it_polls_at_the_interval_as_stock_does() -> None:
    cadence = SplitJobCadence(CadenceSettings(interval=10))
    cadence.polled(0, [])
    assert cadence.next_poll(0, 0, running_since=[0, 0]) == 10


def test_a_predicted_end_is_polled_when_the_siblings_runtimes_say() -> None:
    # three subjobs ran 30 s; a fourth started at 3: it should end at 33, not be seen at the poll at 40
    polls = simulate({0: (0, 30), 1: (0, 30), 2: (0, 30), 3: (3, 33)}, CadenceSettings(interval=10), until=100)
    # two quiet polls (nothing ended, nothing predicted): the third waits two intervals, saving a poll;
    # at 30 the siblings' 30 s predict the last end at 33, polled then with the poll saved (stock: 40)
    assert polls == [0, 10, 30, 33]


def test_nothing_ending_backs_off_up_to_max_backoff_intervals() -> None:
    cadence = SplitJobCadence(CadenceSettings(interval=10, quiet_polls=2, max_backoff=4))
    gaps, now = [], 0.0
    for _ in range(6):
        cadence.polled(now, [])
        later = cadence.next_poll(now, now, running_since=[0])  # no finished sibling: nothing predicted
        gaps.append(later - now)
        now = later
    assert gaps == [10, 20, 40, 40, 40, 40]


def test_an_end_resets_the_back_off() -> None:
    cadence = SplitJobCadence(CadenceSettings(interval=10))
    for now in (0, 10, 30):
        cadence.polled(now, [])
    cadence.polled(70, [65])
    assert cadence.next_poll(70, 70, running_since=[]) == 80


@pytest.mark.parametrize("seed", range(5))
def test_polls_never_outnumber_stocks_in_any_stretch_from_the_first(seed: int) -> None:
    # subjobs of irregular runtimes, started over 60 s: every prefix of the polls is within stock's count
    ends = {n: (n * 7 % 60, n * 7 % 60 + 20 + (n * (seed + 3)) % 45) for n in range(40)}
    settings = CadenceSettings(interval=10, min_gap=2)
    polls = simulate(ends, settings, until=2000)
    for k, at in enumerate(polls):
        stock = int((at - polls[0]) // settings.interval) + 1
        assert k + 1 <= stock, (k, at, polls[: k + 1])
    assert all(b - a >= settings.min_gap for a, b in itertools.pairwise(polls))


def test_a_poll_not_paid_for_is_refused() -> None:
    budget = PollBudget(interval=10)
    budget.spend(0)
    assert budget.available_at(5) == 10
    with pytest.raises(ValueError):
        budget.spend(5)
