"""The adaptive cadence of a backend without file events (issue 30), on made-up times: no clock, no threads."""

from __future__ import annotations

import itertools

import pytest

from GangaMonitoring.core.cadence import CadenceSettings, PollBudget, PollCadence, Siblings, next_end


def simulate(runs: dict[int, tuple[float, float]], settings: CadenceSettings, until: float) -> list[float]:
    """Polls of one split job whose subjob n runs from runs[n][0] to runs[n][1], each start and runtime
    learnt at the first poll that sees it (as the status files tell them): returns the poll times."""
    cadence, siblings = PollCadence(settings), Siblings()
    polls: list[float] = []
    seen: set[int] = set()
    now = 0.0
    while now <= until and len(seen) < len(runs):
        ended = [n for n, (_start, end) in runs.items() if n not in seen and end <= now]
        for n in ended:
            siblings.ended(n, runs[n][1] - runs[n][0])
        for n, (start, _end) in runs.items():
            if n not in seen and n not in ended and start <= now:
                siblings.running(n, start)
        cadence.polled(now, len(ended))
        seen.update(ended)
        polls.append(now)
        now = cadence.next_poll(now, now, siblings.next_end(now + settings.min_gap),
                                siblings.next_end(float("-inf"))).at
    return polls


def stock_polls(first: float, at: float, interval: float) -> int:
    """Fixed-interval polls from ``first`` up to ``at``, both included."""
    return int((at - first) // interval) + 1


def test_without_finished_siblings_it_polls_at_the_interval_as_stock_does() -> None:
    cadence = PollCadence(CadenceSettings(interval=10))
    cadence.polled(0, 0)
    assert cadence.next_poll(0, 0, predicted=None).at == 10


def test_a_predicted_end_is_polled_when_the_siblings_runtimes_say() -> None:
    # three subjobs ran 30 s; a fourth started at 3: it should end at 33, not be seen at the poll at 40
    polls = simulate({0: (0, 30), 1: (0, 30), 2: (0, 30), 3: (3, 33)}, CadenceSettings(interval=10), until=100)
    # two quiet polls (nothing ended, nothing predicted): the third waits two intervals, saving a poll;
    # at 30 the siblings' 30 s predict the last end at 33, polled then with the poll saved (stock: 40)
    assert polls == [0, 10, 30, 33]


def test_nothing_ending_backs_off_up_to_max_backoff_intervals() -> None:
    cadence = PollCadence(CadenceSettings(interval=10, quiet_polls=2, max_backoff=4))
    gaps, now = [], 0.0
    for _ in range(6):
        cadence.polled(now, 0)
        later = cadence.next_poll(now, now, predicted=None).at  # no finished sibling: nothing predicted
        gaps.append(later - now)
        now = later
    assert gaps == [10, 20, 40, 40, 40, 40]


def test_jobs_that_need_their_interval_keep_it() -> None:
    cadence = PollCadence(CadenceSettings(interval=10))
    for now in (0, 10, 20, 30):
        cadence.polled(now, 0)
    assert cadence.next_poll(30, 30, predicted=None, may_back_off=False).at == 40


def test_a_subjob_running_longer_than_its_siblings_did_stops_the_back_off() -> None:
    cadence = PollCadence(CadenceSettings(interval=10))
    for now in (0, 10):
        cadence.polled(now, 0)
    assert cadence.next_poll(10, 10, predicted=None, earliest=None).at == 30
    assert cadence.next_poll(10, 10, predicted=None, earliest=5).at == 20  # overdue: it may end any time


def test_polls_seconds_apart_are_not_quiet_intervals() -> None:
    # a new job's first look, then the end of its submission 3 s later: one interval looked at, not two
    cadence = PollCadence(CadenceSettings(interval=30))
    cadence.polled(0, 0)
    cadence.polled(3, 0, asked_apart=True)
    assert cadence.next_poll(3, 3, predicted=None).at == 33
    cadence.polled(33, 0)  # now 33 + 30 s looked at: two intervals without an end
    assert cadence.next_poll(33, 33, predicted=None).at == 93


def test_an_end_resets_the_back_off() -> None:
    cadence = PollCadence(CadenceSettings(interval=10))
    for now in (0, 10, 30):
        cadence.polled(now, 0)
    cadence.polled(70, 1)
    assert cadence.next_poll(70, 70, predicted=None).at == 80


def test_siblings_predict_from_the_median_runtime_and_forget_the_ended() -> None:
    siblings = Siblings()
    for n, start in enumerate((0.0, 5.0, 9.0)):
        siblings.running(n, start)
    siblings.running(1, 7.0)  # told again (a second poll): the first start stays
    assert siblings.next_end(0) is None  # no runtime yet
    siblings.ended(0, 20.0)
    assert siblings.typical_runtime() == 20.0
    assert siblings.next_end(24) == 25.0 and siblings.next_end(25.5) == 29.0 and siblings.next_end(30) is None
    siblings.ended(1, 10.0)
    assert siblings.started == {2: 9.0} and siblings.next_end(0) == 24.0  # median of 20 and 10
    other = Siblings()
    other.running(0, 1.0)
    other.ended(9, 2.0)
    assert next_end([siblings, other], 0) == 3.0 and next_end([], 0) is None


@pytest.mark.parametrize("seed", range(5))
def test_polls_never_outnumber_stocks_in_any_stretch_from_the_first(seed: int) -> None:
    # subjobs of irregular runtimes, started over 60 s: every prefix of the polls is within stock's count
    runs = {n: (n * 7 % 60, n * 7 % 60 + 20 + (n * (seed + 3)) % 45) for n in range(40)}
    settings = CadenceSettings(interval=10, min_gap=2)
    polls = simulate(runs, settings, until=2000)
    for k, at in enumerate(polls):
        assert k + 1 <= stock_polls(polls[0], at, settings.interval), (k, at, polls[: k + 1])
    assert all(b - a >= settings.min_gap for a, b in itertools.pairwise(polls))
    # over any window, at most one poll more than stock's most in a window that long (capacity 2)
    for i, j in itertools.combinations(range(len(polls)), 2):
        assert j - i + 1 <= int((polls[j] - polls[i]) // settings.interval) + 2


def test_a_poll_not_paid_for_is_spent_into_debt_and_one_asked_apart_is_not_counted() -> None:
    budget = PollBudget(interval=10)
    budget.spend(0)
    assert budget.available_at(5) == 10
    budget.spend(5)  # not paid: later polls wait for it
    assert budget.available_at(5) == 20
    cadence = PollCadence(CadenceSettings(interval=10))
    cadence.polled(0, 0)
    cadence.polled(3, 0, asked_apart=True)  # a new job's first look: fixed-interval polling makes it too
    assert cadence.next_poll(3, 3, predicted=5).at == 10  # predicted at 5, but only the next interval is paid
