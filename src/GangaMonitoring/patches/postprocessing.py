"""Item 5: Ganga's CPU-heavy postprocessors do their file work in the component's worker processes.

What: ``TextMerger.mergefiles`` and ``FileChecker.check`` hand their file
work to the component's worker processes (``integration.postprocess_files``: plain paths in,
plain results out) through the runner given to
:func:`offload_postprocessing` (the component's ``pools.run_in_process``).

Why: stock merges and searches the files in Ganga's process, so a merge of
many outputs held the GIL against the prompt and every monitoring thread.

Contract: the decision (which files, fail or not, Ganga's own error texts)
stays in Ganga's process; paths are made absolute before they leave (the
worker's working directory is not the prompt's, after an IPython ``cd``).
When the worker processes are gone (no runner, or the pools closed: the
component is stopping) the stock method does the work here instead.

Undone by: remove() restores the methods (the ledger) and forgets the runner
(:func:`forget_runner`).
"""

from __future__ import annotations

import functools
import os
from typing import Any
from collections.abc import Callable

from ..runtime.pools import PoolsClosed
from .ledger import _lock, _wrap, log

ProcessRunner = Callable[..., Any]
_process_runner: list[ProcessRunner] = []


def offload_postprocessing(run_in_process: ProcessRunner) -> None:
    """Make TextMerger and FileChecker do their file work through ``run_in_process`` (idempotent)."""
    from GangaCore.Lib.Checkers.FileChecker import FileChecker
    from GangaCore.Lib.Mergers.Merger import TextMerger

    with _lock:
        _process_runner[:] = [run_in_process]
        for cls, name, replacement in ((TextMerger, "mergefiles", _merge_in_process),
                                       (FileChecker, "check", _check_in_process)):
            _wrap(cls, name, replacement)


def forget_runner() -> None:
    """No runner any more: the postprocessors work in this process (remove())."""
    with _lock:
        _process_runner.clear()


def _runner() -> ProcessRunner | None:
    with _lock:
        return _process_runner[0] if _process_runner else None


class _NoWorkers(Exception):
    """The worker processes are gone (the component is stopping): do the work here."""


def _in_worker(fn: Callable[..., Any], *args: Any) -> Any:
    run = _runner()
    if run is None:
        raise _NoWorkers
    try:
        return run(fn, *args)
    except PoolsClosed as err:
        raise _NoWorkers from err


def _merge_in_process(original: Any) -> Any:
    @functools.wraps(original)
    def mergefiles(self: Any, file_list: Any, output_file: Any) -> None:
        from ..integration import postprocess_files

        # absolute: the worker's working directory is not the prompt's (an IPython `cd`)
        inputs = [os.path.abspath(os.path.expanduser(str(path))) for path in file_list]
        output = os.path.abspath(os.path.expanduser(str(output_file)))
        try:
            merged, pid = _in_worker(postprocess_files.merge_text_files, inputs, output, bool(self.compress))
        except _NoWorkers:
            return original(self, file_list, output_file)
        log.debug("merged %d file(s) into %s in worker process %d", len(inputs), merged, pid)
        return None

    mergefiles.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return mergefiles


def _check_in_process(original: Any) -> Any:
    @functools.wraps(original)
    def check(self: Any, job: Any) -> Any:
        from GangaCore.GPIDev.Adapters.IPostProcessor import PostProcessException

        from ..integration import postprocess_files

        patterns = [str(p) for p in self.searchStrings]
        if not patterns:  # Ganga's own words: users and logs know them
            raise PostProcessException("No searchStrings specified, FileChecker will do nothing!")
        paths = [os.path.abspath(str(p)) for p in self.findFiles(job)]
        if not paths:
            raise PostProcessException("None of the files to check exist, FileChecker will do nothing!")
        try:
            found, pid = _in_worker(postprocess_files.search_files, paths, patterns)
        except _NoWorkers:
            return original(self, job)
        log.debug("searched %d file(s) of job %s in worker process %d", len(paths), job.fqid, pid)
        for path, hits in zip(paths, found, strict=True):
            for pattern, hit in zip(patterns, hits, strict=True):
                if hit == bool(self.failIfFound):
                    log.info("FileChecker fails job %s: %r %s in %s", job.fqid, pattern,
                             "found" if hit else "not found", path)
                    return self.failure
        return self.result

    check.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return check
