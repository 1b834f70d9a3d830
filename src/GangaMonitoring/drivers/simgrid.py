"""The native driver of the ``SimGrid`` backend: changed-since polls, then per-job retrieval.

A poll asks the grid only for what changed since the last poll (one
request, whatever the number of jobs), plus a bulk status of jobs it has not
seen before (newly submitted, or recovered after a crash).  As a safety net,
every job's status is read again once every ``FULL_STATUS_EVERY`` polls, a
slice per poll where the jobs are too many for one request.
"""

from __future__ import annotations

import functools
import threading
from typing import Any
from collections.abc import Sequence

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger

from ..backends.simgrid import client_for, download_output, sandbox_path, transition_for
from ..simulator.client import SimGridClient
from ..core.retry import JobsFailed
from .base import DriverContext, FinishedWork, NativeDriver, apply_each, job_key
from . import outputs
from .outputs import unpack_retrieved

log = getLogger("GangaMonitoring.drivers.simgrid")


class SimGridDriver(NativeDriver):
    backend = "SimGrid"
    unpack = staticmethod(unpack_retrieved)
    FULL_STATUS_EVERY = 50
    NEW_READS_PER_POLL = 5

    def __init__(self) -> None:
        # per (server, scope): polls of two scopes run concurrently and each
        # needs every change of its own jobs
        self._cursor: dict[tuple[str, str], int] = {}
        self._seen: dict[tuple[str, str], set[int]] = {}
        self._polls: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._forgotten: dict[tuple[str, str], set[int]] = {}
        """(server, scope) -> grid ids released since that scope's last poll: read in full again."""

    def poll(self, jobs: Sequence[Any], ctx: DriverContext, scope: str = "") -> None:
        by_server: dict[str, list[Any]] = {}
        for job in jobs:
            raw = stripProxy(job)
            by_server.setdefault(raw.backend.server, []).append(raw)
        failures: list[str] = []
        for server, group in by_server.items():
            client = client_for(server)
            by_grid_id = {job.backend.id: job for job in group}
            views, unknown = self._views(client, (server, scope), set(by_grid_id))
            # a job both read and reported changed in one poll comes twice: only its newest view counts
            newest = {view.get("id"): view for view in views}
            answered = ((by_grid_id[grid_id], view) for grid_id, view in newest.items() if grid_id in by_grid_id)
            failures += apply_each(ctx, answered, functools.partial(self._apply, ctx=ctx, server=client.url))
            for grid_id in unknown:
                job = by_grid_id.get(grid_id)
                if job is not None:
                    reason = f"the grid at {client.url} does not know its job {grid_id}"
                    failures.append(f"job {job.getFQID('.')}: {reason}")
                    ctx.job_failed(job, reason)
        if failures:
            # one job's trouble, not the service's: no breaker counts it (each job has its grace)
            raise JobsFailed(f"{len(failures)} SimGrid job(s) could not be updated: " + "; ".join(failures[:5]))

    def _views(self, client: SimGridClient, state: tuple[str, str],
               ids: set[int]) -> tuple[list[dict[str, Any]], list[int]]:
        """What changed since the last poll, plus the full status of jobs not seen before, plus a re-read.

        The re-read is the safety net: every job's status is read again once
        every ``FULL_STATUS_EVERY`` polls.  Where that takes more than one
        request, it is spread over the polls, a rotating slice each time,
        so that no poll takes a full sweep's time (at 100k jobs a sweep is
        100 requests, ~10 s, during which no change would be noticed).
        Jobs never read before (all of them at the first poll) are read
        ``NEW_READS_PER_POLL`` requests at a time, for the same reason.

        The changes query comes last, after those reads, so that a job which
        finishes while they run is reported by this poll, and a change
        waits for the next changes query, not for a whole poll of several
        requests; views come in the order read, so the newest view of a job
        is the last one.  Only the first poll takes its cursor before
        reading (it has none to ask from).  The cursor and the seen set move
        only once every request succeeded, so a failed poll (retried later)
        loses no change.  Returns the views, and the ids the grid said it
        does not know (read again next poll: each has its grace).
        """
        known_cursor = self._cursor.get(state)
        polls = self._polls.get(state, 0) + 1
        with self._lock:
            forgotten = self._forgotten.pop(state, set())
        seen = (self._seen.get(state, set()) - forgotten) & ids
        first_poll = known_cursor is None
        # at the first poll, a change from now on shows up in the next poll's changes query
        cursor = client.changes(-1)[0] if known_cursor is None else known_cursor
        if not first_poll and polls % self.FULL_STATUS_EVERY == 0 and len(ids) <= client.max_batch:
            unread = set(ids)
        else:
            # jobs never read, at most NEW_READS_PER_POLL requests' worth a poll: the cursor covers
            # whatever they do from now on, so only what they did before waits for its turn
            unread = set(sorted(ids - seen)[:self.NEW_READS_PER_POLL * client.max_batch])
            unread |= self._reread_slice(ids, polls, client.max_batch)
        views, unknown = client.status_report(sorted(unread)) if unread else ([], [])
        new_cursor = cursor
        if not first_poll:
            new_cursor, changed = client.changes(cursor)
            views += changed
        self._cursor[state], self._seen[state], self._polls[state] = new_cursor, (seen | unread) - set(unknown), polls
        return views, unknown

    def _reread_slice(self, ids: set[int], polls: int, one_request: int) -> set[int]:
        """This poll's share of the re-read, when the whole would take more than one request."""
        if len(ids) <= one_request:
            return set()
        ordered = sorted(ids)
        size = -(-len(ordered) // self.FULL_STATUS_EVERY)
        start = (polls * size) % len(ordered)
        return set(ordered[start:start + size]) | set(ordered[:max(0, start + size - len(ordered))])

    @staticmethod
    def _apply(job: Any, view: dict[str, Any], ctx: DriverContext, server: str) -> None:
        target = transition_for(job, view, server)  # an answer about another job raises: this job's trouble
        if target is None or job.status == "completing":
            return  # nothing new, or already handed over: retrieval and finalisation own the job
        if target in ("completed", "failed"):
            ctx.hand_over(job, FinishedWork(
                job_key=job_key(job), fqid=job.getFQID("."), backend="SimGrid", backend_id=job.backend.id,
                outputdir=job.outputdir, final_status=target, finished_at=view.get("finished_at"),
                server=server))
        else:
            job.updateStatus(target, update_master=False)

    def retrieve(self, work: FinishedWork) -> str:
        """Download the output, unless a session killed before finalising it had it already."""
        kept = outputs.already_retrieved(work, sandbox_path(work.outputdir, work.backend_id))
        if kept is not None:
            log.info("output of job %s was retrieved before Ganga stopped; not fetched again", work.fqid)
            return kept
        return download_output(client_for(work.server), work.backend_id, work.outputdir)

    def release(self, work: FinishedWork) -> None:
        """Every scope reads the job's full status again at its next poll.

        The grid reported the job's end once, to cursors that have moved on:
        put back to ``running`` by ``queues.retry(j)``, it would otherwise wait
        for the re-read of every ``FULL_STATUS_EVERY`` polls.  (Grid ids are
        per server; forgetting an id of every server's costs at most one read.)
        """
        with self._lock:
            for state in list(self._seen):
                self._forgotten.setdefault(state, set()).add(work.backend_id)

    def finish(self, job: Any, work: FinishedWork, files: list[str]) -> None:
        if work.finished_at:
            job.backend.finished_at = float(work.finished_at)
        job.updateStatus(work.final_status, update_master=False)
