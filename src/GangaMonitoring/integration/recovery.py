"""What a session does at its first enable for the jobs a previous session left unfinished.

A session that ended (or was killed) while jobs were ``completing`` left them
there: nothing polls a ``completing`` job.  :func:`recover_interrupted_jobs`
puts each such job (and each such subjob) back to ``running``, so its backend
reports it finished again and it is finalised again.  Unlike stock, no
output directory is deleted: a finalisation that completes rewrites what it
needs, and a good output survives.

Unfinished jobs are read from disk first: after a killed session their index
cache may be stale (``registry.load_if_unfinished``).  Finished jobs are not
loaded (Ganga's lazy loading stays lazy).  One broken job is logged and
skipped; recovery goes on with the others.
"""

from __future__ import annotations

from typing import Any

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger

from ..core.index import FINALISING_STATES
from . import registry
from .completing import completing_subjobs

log = getLogger("GangaMonitoring.component")


def recover_interrupted_jobs(registry_slice: Any) -> None:
    """Jobs (and subjobs) left finalising by a previous session go back to ``running``."""
    for job_id, job in registry.iter_top_level_jobs(registry_slice):
        try:
            registry.load_if_unfinished(job)
            status = registry.job_status(job)
            if status not in FINALISING_STATES and status not in ("running", "submitted"):
                continue
            for sub in completing_subjobs(job):
                log.info("job %s was completing when Ganga stopped; monitoring it again", sub.getFQID("."))
                sub.status = "running"
            if status in FINALISING_STATES:
                log.info("job %s was completing when Ganga stopped; monitoring it again", job_id)
                stripProxy(job).status = "running"
        except Exception as err:  # noqa: BLE001 - one broken job must not stop recovery
            log.warning("could not check job %s for interrupted finalisation: %s", job_id, err)
