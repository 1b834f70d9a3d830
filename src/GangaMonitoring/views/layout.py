"""Monitoring's data as text, each line within a width: the layout engine and the renderers built on it.

The engine: a display line is made of :class:`Part` s, each with the
shorter forms it takes, ranked; :func:`fit` gives way by rank until the line
fits, :func:`cut` cuts a line's end.  The renderers lay out the data of
``views/snapshot.py``: :func:`render` (the ``queues`` display and the status
file's text), :func:`render_progress`, :func:`explain_job` (``queues.why``).
The contract: pure functions of the data and a width (None: whole lines);
what gives way first is the least telling part, never a backend's health
word.  Nothing here reads a job, a clock or the terminal.
"""

from __future__ import annotations

from ..drivers.base import JobKey, fqid
from .snapshot import (FIRST_FEW, RECENT_NAMES, RECENT_SPAN_S, WHY_LINES, BackendSnapshot, CadenceSnapshot,
                       FailedJobs, JobProgress, JobReasons, JobStatistics, MonitoringSnapshot, TroubledJobs)

SURE_FROM = 10
"""Run times from which the time left of a split job is said without "rough"."""
STATE_ORDER = ("completed", "failed", "killed", "completing", "running", "submitted")

CUT = None
"""A :class:`Part`'s shorter form that is the part as it stands, cut to what fits."""
ELLIPSIS = "\u2026"
MIN_CUT = 4
"""A part is cut only if that keeps at least this many characters more than its next shorter form."""

ACTIVITY_COLUMN = 60
"""The widest a busy worker's description is shown."""

NO_REASON = "no reason known to monitoring"


class Part:
    """A piece of a display line, and the shorter forms it takes when the line is too wide.

    ``shorter``: (rank, form) pairs, in the order the part takes them, ranks
    rising; of all the line's parts the lowest rank gives way first.  A form
    is taken only if it is shorter than the part as it stands; ``""`` drops
    the part; :data:`CUT` cuts it to what fits, ending in an ellipsis (not if
    that keeps too little: then its next form is taken).
    """

    __slots__ = ("text", "shorter")

    def __init__(self, text: str, *shorter: tuple[int, str | None]) -> None:
        self.text = text
        self.shorter = shorter


def fit(width: int | None, *parts: Part) -> str:
    """The line ``parts`` make, within ``width`` columns (None: whole).

    Parts give way by rank (see :class:`Part`); if all did and the line is
    still too wide, its end is cut.
    """
    texts = [part.text for part in parts]
    if width is None:
        return "".join(texts)
    steps = sorted((rank, n, k) for n, part in enumerate(parts) for k, (rank, _form) in enumerate(part.shorter))
    for _rank, n, k in steps:
        over = sum(map(len, texts)) - width
        if over <= 0:
            break
        form = parts[n].shorter[k][1]
        if form is CUT:
            following = next((f for _r, f in parts[n].shorter[k + 1:] if f is not CUT), "")
            keep = len(texts[n]) - over - len(ELLIPSIS)
            if keep >= len(following) + MIN_CUT:
                texts[n] = texts[n][:keep] + ELLIPSIS
        elif len(form) < len(texts[n]):
            texts[n] = form
    return cut("".join(texts), width)


def cut(text: str, width: int | None) -> str:
    """``text`` within ``width`` columns: its end cut, ending in an ellipsis (None: whole)."""
    if width is None or len(text) <= width:
        return text
    return text[:max(0, width - len(ELLIPSIS))] + ELLIPSIS if width > 0 else ""


def render(snapshot: MonitoringSnapshot, width: int | None = None) -> str:
    """The snapshot as the text ``queues`` shows; every line within ``width`` columns (None: whole lines).

    What gives way first in a narrow display: in a backend's line the next
    poll, then the last poll, then the health's detail, then the job counts
    by state; never the health word (ok, FAILING, DOWN, HELD) that follows
    the backend's name.  Lines that list in order of importance are cut at
    their end.
    """
    state = "enabled" if snapshot.enabled else ("disabled" if snapshot.alive else "stopped")
    waited, retrieving, finalising = (snapshot.oldest_ready_age, snapshot.retrieval_backlog,
                                      snapshot.finalisation_backlog)
    lines = [fit(width, Part(f"GangaMonitoring: {state}"),
                 Part(f"; oldest due work has waited {waited:.1f} s", (2, f"; due work waited {waited:.1f} s")),
                 Part(f"; retrieval backlog {retrieving}, finalisation backlog {finalising}",
                      (1, f"; to retrieve {retrieving}, to finalise {finalising}"), (3, ""))),
             "", "Pools:"]
    # a busy worker's line: 4 + 22 + 1 columns, its description, then 9 for the time it has run
    column = ACTIVITY_COLUMN if width is None else max(0, min(ACTIVITY_COLUMN, width - 36))
    for pool in snapshot.pools:
        lines.append(fit(width, Part(f"  {pool.name:<10} {pool.busy}/{pool.workers} busy"),
                         Part(f"; ready work waits: {'; '.join(pool.idle_because)}" if pool.idle_because else "",
                              (1, CUT), (2, "; ready work waits"))))
        lines.extend(cut(f"    {a.worker:<22} {cut(a.running, column):<{column}} {a.for_seconds:6.1f} s", width)
                     for a in pool.activities)
    if snapshot.hung:
        lines += ["", "Hung calls (their jobs go to the next poll; a late return is ignored):"]
        lines.extend(cut(f"  {call}", width) for call in snapshot.hung)
    lines += ["", "Backends:"]
    if not snapshot.backends:
        lines.append("  (no job to monitor)")
    for b in snapshot.backends:
        lines.append(_backend_line(b, width))
        lags = []
        if b.consecutive_failures or _down(b) or b.credential is not None:
            # polls fail or wait: saying when jobs were "looked at" would hide that nothing was learnt
            ok = "never" if b.last_ok_poll_ago is None else f"{b.last_ok_poll_ago:.1f} s ago"
            lags.append(f"last successful poll {ok}")
        elif b.unchecked_for is not None:
            lags.append(f"every active job looked at within {b.unchecked_for:.1f} s")
        if b.oldest_completing_age is not None:
            lags.append(f"oldest output waiting {b.oldest_completing_age:.1f} s")
        if lags:
            lines.append(cut(f"  {'':<14} " + "; ".join(lags), width))
        lines.append(cut(f"  {'':<14} " + render_recent(b.recent, b.last_service_error), width))
        for limit in (entry for entry in snapshot.limits if entry.backend == b.backend):
            how = (f"adaptive, {limit.raises} up / {limit.cuts} down; {limit.reason}" if limit.adaptive
                   else "configured: [Monitoring]backend_concurrency")
            lines.append(cut(f"  {'':<14} {limit.pool} limit {limit.limit} ({how})", width))
    events = snapshot.file_events
    if events is not None and (events.watched or events.ended or events.not_watched):
        lines.append(cut(f"  file events: {events.watched} job(s) watched, {events.ended} end(s) seen from their "
                         f"status file", width))
        lines.extend(cut(f"  {'':<14} not watched ({count}, polled every interval): {why}", width)
                     for why, count in events.not_watched.items())
    if snapshot.cadence:
        lines.append(cut("  adaptive cadence ([Monitoring]poll_cadence; no file events for these jobs):", width))
        lines.extend(cut(f"  {'':<14} {render_cadence(entry)}", width) for entry in snapshot.cadence[:FIRST_FEW])
        if len(snapshot.cadence) > FIRST_FEW:
            lines.append(f"  {'':<14} ... and {len(snapshot.cadence) - FIRST_FEW} more")
    if snapshot.troubled:
        lines += ["", "Jobs in trouble (theirs, not their backend's):"]
        lines.extend(cut(f"  {render_troubled(group)}", width) for group in snapshot.troubled[:FIRST_FEW])
        if len(snapshot.troubled) > FIRST_FEW:
            lines.append(f"  ... and {len(snapshot.troubled) - FIRST_FEW} more")
    if snapshot.jobs:
        lines += ["", "Split jobs:"]
        lines.extend(f"  {render_progress(job, None if width is None else width - 2)}" for job in snapshot.jobs)
        if snapshot.more_jobs:
            lines.append(f"  ... and {snapshot.more_jobs} more")
    lines += ["", "Queued:"]
    if not snapshot.queued:
        lines.append("  (nothing)")
    for group in snapshot.queued:
        lines.append(fit(width, Part(f"  {group.kind:<9} {group.priority:<9} ready {group.ready:<6} "
                                     f"waiting {group.waiting:<6} "),
                         Part(f"first: {'; '.join(group.first)}", (1, CUT), (2, ""))))
    if snapshot.running:
        lines += ["", cut(f"Running ({len(snapshot.running)}): " + "; ".join(snapshot.running[:FIRST_FEW]), width)]
    return "\n".join(lines)


def _down(b: BackendSnapshot) -> bool:
    return b.breaker is not None and b.breaker.state != "closed"


def _backend_line(b: BackendSnapshot, width: int | None) -> str:
    """A backend's line: its name, health, jobs, last and next poll (see :func:`render` for what gives way)."""
    total = sum(b.jobs.values())
    # jobs as Ganga's jobs table counts them: a split job is one (its subjobs are under "Split jobs")
    jobs = f"{total} job{'' if total == 1 else 's'}: " + ", ".join(f"{n} {s}" for s, n in sorted(b.jobs.items())) \
        if total else "no active job"
    outcome = "failed after" if b.consecutive_failures else "took"
    polled = f"{b.last_poll_jobs} job{'' if b.last_poll_jobs == 1 else 's'}"
    last = "never" if b.last_poll_ago is None else f"{b.last_poll_ago:.1f} s ago"
    detail = "" if b.last_poll_ago is None else f" ({polled}; it {outcome} {b.last_poll_duration or 0:.2f} s)"
    upcoming = "-" if b.next_poll_in is None else f"in {b.next_poll_in:.1f} s"
    troubles = [(f"HELD: {b.credential.last_error}", "HELD") if b.credential is not None else None,
                (f"DOWN (breaker {b.breaker.describe()})", "DOWN") if b.breaker is not None and _down(b) else None,
                (f"FAILING x{b.consecutive_failures}: {b.last_error}", f"FAILING x{b.consecutive_failures}")
                if b.consecutive_failures else None]
    health = [trouble for trouble in troubles if trouble is not None] or [("ok", "ok")]
    return fit(width, Part(f"  {b.backend:<14} "),
               Part("; ".join(full for full, _word in health), (4, CUT), (5, ", ".join(w for _full, w in health))),
               Part(f"; {jobs}", (6, f"; {total} job{'' if total == 1 else 's'}")),
               Part(f"; last poll {last}{detail}", (2, f"; last poll {last}"), (3, "")),
               Part(f"; next {upcoming}", (1, "")))


def render_cadence(entry: CadenceSnapshot) -> str:
    """``"next poll of master 3 (Slurm) at +4.1 s (a predicted end): 12 sibling(s) ended, median runtime 21 s,
    5 running"``."""
    when = f"at +{entry.next_poll_in:.1f} s" if entry.next_poll_in > 0 else "due now"
    median = "" if entry.median_runtime is None else f", median runtime {entry.median_runtime:.0f} s"
    return (f"next poll of master {entry.job_id} ({entry.backend}) {when} ({entry.why}): "
            f"{entry.siblings_ended} sibling(s) ended{median}, {entry.running} running")


def render_troubled(group: TroubledJobs) -> str:
    """``"job 3: 18 subjobs failing their updates for 2.0 min while the backend answers (...); marked failed in
    8.0 min unless they succeed"``."""
    many = group.subjobs > 1
    who = (f"{group.subjobs} subjobs failing their updates" if many else
           "1 subjob failing its updates" if group.subjobs else "failing its updates")
    return (f"job {group.job_id}: {who} for {_duration(group.failing_for)} while the backend answers "
            f"({group.last_error}); marked failed in {_duration(group.marked_failed_in)} unless "
            f"{'they succeed' if many else 'it succeeds'}")


def render_progress(job: JobProgress, width: int | None = None) -> str:
    """"job 8 on SimGrid, 500 subjobs: 320 completed, 5 failed, 150 running, 25 submitted; 64/min, ~2.7 min left".

    Within ``width`` columns the backend, then the rate, then the subjob total go first, then the
    states are cut; the time left stays longest.
    """
    states = subjob_counts(job.states)
    left = None
    if job.finished_recently == 0:
        pace = "none finished lately"
    elif job.rate_per_min <= 0:
        pace = f"{job.finished_recently} finished just now"
    else:
        pace = f"{job.rate_per_min:.0f}/min" if job.rate_per_min >= 1 else f"{job.rate_per_min:.2f}/min"
    if job.eta_s is not None:
        samples = job.eta_from_run_times
        rough = f" (rough: {samples} run time{'' if samples == 1 else 's'})" if 0 < samples < SURE_FROM else ""
        left = f"~{_duration(job.eta_s)} left{rough}"
        pace += f", {left}"
    return fit(width,
               Part(f"job {job.job_id} on {job.backend}, {job.subjobs} subjobs: ",
                    (1, f"job {job.job_id}, {job.subjobs} subjobs: "), (3, f"job {job.job_id}: ")),
               Part(states, (4, CUT)),
               Part(f"; {pace}", (2, f"; {left or pace}"), (5, "")))


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def render_recent(recent: dict[str, dict[str, int]], last_service_error: str | None) -> str:
    """One backend's last minutes: "polls 30 (2 retried); downloads 300; 14 requests retried by its client"."""
    parts = []
    for what, name in RECENT_NAMES:
        outcomes = recent.get(what)
        if not outcomes:
            continue
        ended = outcomes.get("ok", 0) + outcomes.get("failed", 0)
        trouble = [f"{outcomes[o]} {o}" for o in ("retried", "failed") if outcomes.get(o)]
        parts.append(f"{name} {ended}" + (f" ({', '.join(trouble)})" if trouble else ""))
    retried = recent.get("request", {}).get("retried", 0)
    if retried:
        last = f"; last: {last_service_error}" if last_service_error else ""
        parts.append(f"{retried} request(s) retried by its client{last}")
    return f"last {RECENT_SPAN_S / 60:.0f} min: " + ("; ".join(parts) if parts else "nothing")


def failure_reasons(reasons: JobReasons | None, backend_says: str | None = None) -> list[str]:
    """Why a job failed, as far as monitoring knows, most telling first.

    How a driver found it ended, what monitoring gave up for it (with how to
    try again), the last error of its updates, and ``backend_says``, its
    backend's own reason.  Empty when none is known.
    """
    found = []
    if reasons is not None and reasons.ended is not None:
        found.append(reasons.ended)
    if reasons is not None and reasons.given_up is not None:
        found.append(f"{reasons.given_up} (queues.retry(j) tries again)")
    if reasons is not None and reasons.trouble is not None:
        found.append(f"its updates failed {reasons.trouble[0]} time(s) in a row, the last: {reasons.trouble[1]}")
    if backend_says:
        found.append(backend_says)
    return found


def trouble_lines(reasons: JobReasons | None, status: str | None, backend_says: str | None = None) -> list[str]:
    """One job's own trouble: why it failed or was killed outside Ganga, else whether its updates keep failing."""
    if status == "killed":
        return [f"  it was killed: {reasons.ended}"] if reasons is not None and reasons.ended else []
    if status == "failed":
        return [f"  it failed: {'; '.join(failure_reasons(reasons, backend_says)) or NO_REASON}"]
    if reasons is None or reasons.trouble is None:
        return []
    return [f"  its updates failed {reasons.trouble[0]} time(s) in a row, the last: {reasons.trouble[1]}"]


def _failed_subjob_lines(stats: JobStatistics, failed: FailedJobs | None) -> list[str]:
    """A job's failed subjobs, those monitoring failed first, each with why (the first ``WHY_LINES``)."""
    found = {key: says for key, says in (failed.backend_says if failed else {}).items() if key.sub is not None}
    given_up = {key for key in stats.given_up if key.sub is not None}
    found.update((key, found.get(key)) for key in given_up)
    if not found:
        return []
    count = max(failed.count if failed else 0, len(found))
    of = f" of its {failed.subjobs}" if failed and failed.subjobs else ""
    lines = [f"  {count}{of} subjob{'' if count == 1 and not of else 's'} failed:"]
    reasons = {key: failure_reasons(stats.reasons.get(key), says) for key, says in found.items()}
    ordered = sorted(found, key=lambda key: (key not in given_up, key.sub))
    lines.extend(f"    {fqid(key)}: {'; '.join(reasons[key]) or NO_REASON}" for key in ordered[:WHY_LINES])
    if count > min(len(ordered), WHY_LINES):
        lines.append(f"    ... and {count - min(len(ordered), WHY_LINES)} more")
    return lines


def subjob_counts(states: dict[str, int]) -> str:
    """``"320 completed, 5 failed, 150 running, 25 submitted"``: the counts in STATE_ORDER, others after."""
    ordered = [s for s in STATE_ORDER if states.get(s)] + sorted(set(states) - set(STATE_ORDER))
    return ", ".join(f"{states[s]} {s}" for s in ordered)


def explain_job(stats: JobStatistics, status: str | None = None, failed: FailedJobs | None = None) -> str:
    """Why a job is (or is not) being worked on: its tracked state, its trouble, its pending work.

    ``status``: the job's own status, said when monitoring does not track it.
    ``failed``: the failed among the job and its subjobs, as the caller read
    them; without it, only those monitoring itself failed are said to be.
    """
    job_id = stats.job_id
    lines = []
    counts = f" ({failed.subjobs} subjobs: {subjob_counts(failed.states)})" if failed is not None and failed.states \
        else ""
    if stats.status is None:
        state = f"is {status}{counts}: it " if status else ""
        lines.append(f"job {job_id} {state}is not being monitored (only submitted, running and completing "
                     "jobs are)")
    elif status is not None and status != stats.status:
        # Ganga's word for the job, as j.status and the jobs table say it (a master is 'submitted' while
        # some of its subjobs run; monitoring tracks it by what its subjobs need)
        lines.append(f"job {job_id} is {status}{counts} on {stats.backend}")
    else:
        since = stats.for_seconds or 0.0
        lines.append(f"job {job_id} is {stats.status}{counts} on {stats.backend} since {since:.1f} s")
    itself = JobKey(job_id)
    says = failed.backend_says if failed else {}
    split = failed is not None and failed.subjobs > 0  # a master fails for its subjobs, said below
    failed_itself = itself in says or itself in stats.given_up or (status == "failed" and not split)
    lines.extend(trouble_lines(stats.reasons.get(itself),
                               "failed" if failed_itself else status if status == "killed" else None,
                               says.get(itself)))
    lines.extend(_failed_subjob_lines(stats, failed))
    for work in stats.work[:WHY_LINES]:
        lines.append(f"  {work.description} [{work.priority}]: {work.reason}")
    if stats.status in ("submitted", "running") and not any(work.kind == "poll" for work in stats.work):
        lines.append(between_polls(stats.backend or "?", stats.last_poll_ago))
    if len(stats.work) > WHY_LINES:
        lines.append(f"  ... and {len(stats.work) - WHY_LINES} more operation(s) for it")
    return "\n".join(lines)


def between_polls(backend: str, last_poll_ago: float | None) -> str:
    """The line for an active job whose backend has no poll planned at this instant.

    That happens in the moment between a poll's end and the dispatcher's
    next pass, which plans the next one; a user asking then should still
    learn when the backend was last looked at.
    """
    last = "never polled yet" if last_poll_ago is None else f"the last started {last_poll_ago:.1f} s ago"
    return f"  poll {backend}: between two polls ({last}); the next is planned on the dispatcher's next pass"
