"""The simulated grid as an HTTP service on 127.0.0.1 (aiohttp), with fault injection.

API (JSON unless said otherwise)::

    POST /jobs          {"count": n, "names": [...]} -> {"ids": [...]}     bulk submit (names optional)
    POST /status        {"ids": [...]}          -> {"jobs": [view, ...]}   at most max_batch ids
    GET  /changes?cursor=N                      -> {"cursor": M, "jobs": [view, ...]}
    GET  /jobs/{id}/output                      -> application/gzip        the output sandbox
    POST /kill          {"ids": [...]}          -> {"killed": [...]}
    GET  /stats                                 -> grid and request counters (no faults)
    GET  /health                                -> {"ok": true, "first_id": n}  (no faults)
    POST /control/outage {"seconds": s}         -> an outage starting now  (no faults; for tests)

A view is ``{"id", "state", "submitted_at", "started_at", "finished_at",
"name"}`` with times in seconds since the epoch, so a client can measure how
long it took to notice a finished job, and ``name`` the one the submission
gave the job (null if none), so a client can tell that an answer is about
its job.  Ids are integers that never repeat across runs of the service
(each run's start time numbers them: ``model.run_first_id``), so after a
restart an old job's id is unknown, never another job's.  Faults apply to every route but /stats and
/health: per-request latency, a cap on concurrent requests (the excess
waits, as on a loaded server), 5xx answers, hangs (a client sees a
timeout), malformed bodies, and scheduled outages (503).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any
from collections.abc import Awaitable, Callable

from aiohttp import web

from .. import _arguments as valid
from .model import GridConfig, OutputNotReady, RunFull, SimulatedGrid, UnknownJob, run_first_id

MAX_NAME_LENGTH = 200

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WallClock:
    """Seconds since the epoch: the simulator's times are compared with Ganga's timestamps."""

    def now(self) -> float:
        return time.time()

    def time_until(self, deadline: float | None) -> float | None:
        return None if deadline is None else max(0.0, deadline - time.time())


@dataclass(frozen=True)
class FaultConfig:
    latency: float = 0.0
    max_concurrent: int = 0
    """0: no cap."""
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_seconds: float = 30.0
    malformed_rate: float = 0.0
    outages: tuple[tuple[float, float], ...] = ()
    """(start, duration) pairs in seconds after the server started: answered 503."""
    max_batch: int = 1000
    seed: int = 0


class FaultInjector:
    """Decides, per request, which fault (if any) it suffers; counts what it did."""

    def __init__(self, faults: FaultConfig, started_at: float) -> None:
        self.faults = faults
        self.started_at = started_at
        self.rng = random.Random(faults.seed)
        self.counts: Counter[str] = Counter()
        self.outages: list[tuple[float, float]] = list(faults.outages)
        self.in_flight = 0
        self.max_in_flight = 0
        self._slots = asyncio.Semaphore(faults.max_concurrent) if faults.max_concurrent > 0 else None

    def in_outage(self, now: float) -> bool:
        elapsed = now - self.started_at
        return any(start <= elapsed < start + duration for start, duration in self.outages)

    def start_outage(self, seconds: float) -> None:
        """An outage from now on, for ``seconds`` (tests start one at a known moment)."""
        self.outages.append((time.time() - self.started_at, seconds))

    def draw(self) -> str | None:
        """One of "error", "hang", "malformed" or None, by the configured rates."""
        roll = self.rng.random()
        for name, rate in (("error", self.faults.error_rate), ("hang", self.faults.timeout_rate),
                           ("malformed", self.faults.malformed_rate)):
            if roll < rate:
                return name
            roll -= rate
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in ("/stats", "/health") or request.path.startswith("/control/"):
            return await handler(request)
        route = "output" if request.path.endswith("/output") else request.path.strip("/") or "/"
        self.counts[f"requests {route}"] += 1
        if self._slots is None:
            return await self._faulty(request, handler)
        async with self._slots:
            return await self._faulty(request, handler)

    async def _faulty(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.faults.latency:
                await asyncio.sleep(self.faults.latency)
            if self.in_outage(time.time()):
                self.counts["outage 503"] += 1
                return web.json_response({"error": "service unavailable (scheduled outage)"}, status=503)
            fault = self.draw()
            if fault == "error":
                self.counts["injected 500"] += 1
                return web.json_response({"error": "injected internal error"}, status=500)
            if fault == "hang":
                self.counts["injected hang"] += 1
                await asyncio.sleep(self.faults.hang_seconds)
            response = await handler(request)
            is_json = isinstance(response, web.Response) and response.content_type == "application/json"
            if fault == "malformed" and is_json:
                self.counts["injected malformed"] += 1
                body = getattr(response, "body", None)
                body = body if isinstance(body, bytes) else b"{}"
                return web.Response(body=body[: max(1, len(body) // 2)], content_type="application/json")
            return response
        finally:
            self.in_flight -= 1


def build_app(grid: SimulatedGrid, faults: FaultConfig) -> web.Application:
    injector = FaultInjector(faults, time.time())
    app = web.Application(middlewares=[injector.middleware], client_max_size=64 * 1024 * 1024)
    app["grid"] = grid
    app["injector"] = injector
    app.add_routes([
        web.post("/jobs", _submit),
        web.post("/status", _status),
        web.get("/changes", _changes),
        web.get("/jobs/{job_id}/output", _output),
        web.post("/kill", _kill),
        web.get("/stats", _stats),
        web.get("/health", _health),
        web.post("/control/outage", _outage),
        web.post("/control/hold", _hold),
    ])
    return app


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _bad(f"body is not JSON: {err}") from err
    if not isinstance(body, dict):
        raise _bad("body must be a JSON object")
    return body


def _json_error(error_class: type[web.HTTPError], message: str) -> web.HTTPError:
    return error_class(text=json.dumps({"error": message}), content_type="application/json")


def _bad(message: str) -> web.HTTPError:
    return _json_error(web.HTTPBadRequest, message)


async def _on_ids(request: web.Request, action: Callable[[list[int]], Any]) -> Any:
    """Run ``action`` on the body's ``ids``; an unknown id is a 404."""
    ids = _ids(await _json_body(request), request.app["injector"].faults.max_batch)
    try:
        return action(ids)
    except UnknownJob as err:
        raise _json_error(web.HTTPNotFound, f"unknown job {err.args[0]}") from err


def _ids(body: dict[str, Any], limit: int) -> list[int]:
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise _bad("'ids' must be a list of integers")
    if len(ids) > limit:
        raise _bad(f"at most {limit} ids per request, got {len(ids)}")
    return ids


async def _submit(request: web.Request) -> web.Response:
    body = await _json_body(request)
    count = body.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 1_000_000:
        raise _bad("'count' must be an integer from 0 to 1000000")
    names = body.get("names")
    if names is not None and not (isinstance(names, list) and len(names) == count and all(
            isinstance(n, str) and 0 < len(n) <= MAX_NAME_LENGTH for n in names)):
        raise _bad(f"'names' must be a list of {count} non-empty strings of at most {MAX_NAME_LENGTH} characters")
    try:
        ids = request.app["grid"].submit(count, names)
    except RunFull as err:
        raise _json_error(web.HTTPUnprocessableEntity, str(err)) from err
    return web.json_response({"ids": ids})


async def _status(request: web.Request) -> web.Response:
    """The known jobs' views; ids the grid does not know are listed apart, not a failed request."""
    views, unknown = await _on_ids(request, request.app["grid"].status_known)
    return web.json_response({"jobs": [v.as_dict() for v in views], "unknown": unknown})


async def _changes(request: web.Request) -> web.Response:
    try:
        cursor = int(request.query.get("cursor", "0"))
    except ValueError as err:
        raise _bad("'cursor' must be an integer") from err
    new_cursor, views = request.app["grid"].changes(cursor)
    return web.json_response({"cursor": new_cursor, "jobs": [v.as_dict() for v in views]})


async def _output(request: web.Request) -> web.Response:
    try:
        job_id = int(request.match_info["job_id"])
        data = request.app["grid"].output(job_id)
    except (ValueError, UnknownJob) as err:
        raise _json_error(web.HTTPNotFound, f"unknown job {request.match_info['job_id']}") from err
    except OutputNotReady as err:
        raise _json_error(web.HTTPConflict, str(err)) from err
    return web.Response(body=data, content_type="application/gzip")


async def _kill(request: web.Request) -> web.Response:
    killed, unknown = await _on_ids(request, request.app["grid"].kill_known)
    return web.json_response({"killed": killed, "unknown": unknown})


async def _stats(request: web.Request) -> web.Response:
    injector: FaultInjector = request.app["injector"]
    stats = request.app["grid"].statistics()
    return web.json_response({**asdict(stats), "requests": dict(injector.counts),
                              "max_concurrent_seen": injector.max_in_flight})


async def _outage(request: web.Request) -> web.Response:
    seconds = (await _json_body(request)).get("seconds")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 < seconds <= 3600:
        raise _bad("'seconds' must be a number in (0, 3600]")
    request.app["injector"].start_outage(float(seconds))
    return web.json_response({"outage_seconds": seconds})


async def _hold(request: web.Request) -> web.Response:
    """``{"held": true}``: jobs submitted from now on wait; ``false``: they start queueing now."""
    held = (await _json_body(request)).get("held")
    if not isinstance(held, bool):
        raise _bad("'held' must be true or false")
    grid: SimulatedGrid = request.app["grid"]
    if held:
        grid.hold()
        return web.json_response({"held": True})
    return web.json_response({"held": False, "released": grid.release()})


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "first_id": request.app["grid"].first_id})


async def serve(grid: SimulatedGrid, faults: FaultConfig, host: str, port: int,
                ready: Callable[[int], None], parent_pid: int | None = None) -> None:
    """Serve until cancelled (or until ``parent_pid`` is gone); ``ready(port)`` is called once listening."""
    runner = web.AppRunner(build_app(grid, faults), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    ready(bound)
    try:
        while parent_pid is None or _alive(parent_pid):
            await asyncio.sleep(1.0)
    finally:
        await runner.cleanup()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still exists (the launcher: a simulator must not outlive it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return os.getppid() == pid


DEFAULT_PORT = 8650
"""Where the SimGrid backend looks by default ([SimGrid]server = http://127.0.0.1:8650)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ganga-monitoring simgrid", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Run the simulated grid service on 127.0.0.1 until Ctrl-C. Jobs queue, run and finish on "
                    "the clock, drawn from seeded ranges; faults are injected per request.",
        epilog=f"Ganga's SimGrid backend finds it at [SimGrid]server (default http://127.0.0.1:{DEFAULT_PORT}). "
               "Times are in seconds; MIN MAX ranges are uniform.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback only: 127.0.0.1 or ::1)")
    parser.add_argument("--port", type=valid.port, default=DEFAULT_PORT,
                        help="port to listen on (0: any free port; the address is printed)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (same seed, same grid)")
    jobs = parser.add_argument_group("the jobs")
    jobs.add_argument("--queue-time", type=valid.seconds, nargs=2, default=(0.0, 2.0), metavar=("MIN", "MAX"),
                      help="seconds a job waits before it runs")
    jobs.add_argument("--run-time", type=valid.seconds, nargs=2, default=(1.0, 5.0), metavar=("MIN", "MAX"),
                      help="seconds a job runs")
    jobs.add_argument("--failure-fraction", type=valid.fraction, default=0.0,
                      help="fraction of jobs that end Failed (0 to 1)")
    jobs.add_argument("--output-files", type=valid.count(0), default=2, help="files in each job's output sandbox")
    jobs.add_argument("--output-bytes", type=valid.count(0), default=4096, help="bytes of each of those files")
    service = parser.add_argument_group("the service")
    service.add_argument("--latency", type=valid.seconds, default=0.0, help="seconds added to every request")
    service.add_argument("--max-concurrent", type=valid.count(0), default=0,
                         help="requests served at once; more wait their turn (0: no cap)")
    service.add_argument("--max-batch", type=valid.count(1), default=1000,
                         help="job ids one status or kill request may carry")
    faults = parser.add_argument_group("faults (each request draws at most one: the three fractions add up to "
                                       "at most 1)")
    faults.add_argument("--error-rate", type=valid.fraction, default=0.0,
                        help="fraction of requests answered HTTP 500")
    faults.add_argument("--timeout-rate", type=valid.fraction, default=0.0, help="fraction of requests that hang")
    faults.add_argument("--hang-seconds", type=valid.seconds, default=30.0, help="how long a hanging request hangs")
    faults.add_argument("--malformed-rate", type=valid.fraction, default=0.0,
                        help="fraction of requests answered with truncated JSON")
    faults.add_argument("--outage", type=valid.seconds, nargs=2, action="append", default=[],
                        metavar=("START", "LENGTH"),
                        help="answer 503 to everything for LENGTH seconds from START seconds after the start "
                             "(repeatable)")
    parser.add_argument("--parent-pid", type=valid.count(1), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="print nothing after the listening line")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("the simulator only listens on loopback (127.0.0.1 or ::1)")
    valid.check_ranges(parser, args, "--queue-time", "--run-time")
    valid.check_rates(parser, args, ("--error-rate", "--timeout-rate", "--malformed-rate"))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    first_id, serve_from_ns = run_first_id(time.time_ns())
    while (wait_ns := serve_from_ns - time.time_ns()) > 0:  # at most 10 ms: no later run shares this epoch
        time.sleep(wait_ns / 1e9)
    grid = SimulatedGrid(GridConfig(seed=args.seed, queue_time=tuple(args.queue_time),
                                    run_time=tuple(args.run_time), failure_fraction=args.failure_fraction,
                                    output_files=args.output_files, output_bytes=args.output_bytes),
                         WallClock(), first_id=first_id)
    faults = FaultConfig(latency=args.latency, max_concurrent=args.max_concurrent, error_rate=args.error_rate,
                         timeout_rate=args.timeout_rate, hang_seconds=args.hang_seconds,
                         malformed_rate=args.malformed_rate,
                         outages=tuple((float(s), float(d)) for s, d in args.outage),
                         max_batch=args.max_batch, seed=args.seed)

    def ready(port: int) -> None:
        print(f"simgrid listening on http://{args.host}:{port}", flush=True)
        if not args.quiet and args.parent_pid is None:
            hint = "" if port == DEFAULT_PORT else \
                f" (not the default port: set config.SimGrid.server = 'http://{args.host}:{port}' in Ganga)"
            print(f"SimGrid() jobs in Ganga use it{hint}. Ctrl-C stops it; what it did is at /stats.", flush=True)

    try:
        asyncio.run(serve(grid, faults, args.host, args.port, ready, args.parent_pid))
    except KeyboardInterrupt:
        pass
    except OSError as err:
        print(f"ganga-monitoring simgrid: cannot listen on {args.host}:{args.port}: {err.strerror}"
              + (" (another simulator may be running there; --port 0 picks a free port)"
                 if err.errno == errno.EADDRINUSE else ""), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
