"""The one place where Ganga classes are patched; every patch is undone by :func:`remove`.

Each patch is a module of this package, whose docstring says what it
patches, why (the stock behaviour), the contract it keeps and how it is
undone:

1. ``component_swap``: Ganga's monitoring component class is ours.
2. ``status_watch``: ``Job.status`` tells our listeners of every status change (and their registry).
3. ``queue_monitor``: Ganga's ``queues`` object is of our class (``views.queues``).
4. ``user_actions``: ``Job.peek`` and backends' ``getOutput*`` move that job's monitoring work first.
5. ``postprocessing``: ``TextMerger`` and ``FileChecker`` do their file work in worker processes.
6. ``frames_guard``: ``sys._current_frames`` runs with the garbage collector off (CPython < 3.12).
7. ``submissions``: a job is left alone while its ``submit()``/``resubmit()`` runs.
8. ``lock_free``: reads of loaded values never wait for the lock Ganga's flusher holds.
9. ``force_status``: forcing a master's status forces its active subjobs too.
10. ``logger_names``: an unnamed Ganga logger is found once per calling file.
11. ``flush_costs``: a flush of a split job costs what changed; ``subjobs.idx`` is written whole.
12. ``stack_traces``: Ganga's stack tracer writes plain escaped text, not pygments' colours.
13. ``bounded_holds``: the registry flusher lets a master's lock go between subjob saves.
14. ``xml_saves``: Ganga's XML writer writes the same bytes from strings joined once.
15. ``slices``: job slices are made from templates of the ``[Display]`` options.
16. ``master_work``: a flush of a split master does the master's own O(N) work once.
17. ``subjob_statuses``: a master's subjob statuses are answered from counts.
18. ``exit_order``: the patches come off after Ganga's last flush, not before.
19. ``batch_wrapper``: the job wrapper the Batch backends submit ends with its program, not a heartbeat later.
20. ``job_tables``: job tables are read once per row, from what is in memory, never waiting for a job's lock.
21. ``printing``: printing a job takes no lock of the job.
22. ``prompt_writes``: a write typed at the prompt is handed its job's lock at the flusher's next subjob save.
23. ``condor_answers``: Ganga's Condor update can be answered from the jobs' event logs, not the schedd.
24. ``single_loads``: a job is loaded from disk once, however many threads ask for it at once.
25. ``master_stamps``: a split master's time stamps are taken from its subjobs once per submission.

``ledger`` is the one ledger of them all, and ``shared`` the one seam for
the state several of them share (``HELD_LOCK``, ``INDEX_WRITING``,
``ROOT_ENTRIES``, ...): no patch module imports another's state.

The rule: every patch is installed through the ledger (``ledger._wrap``, under
its lock), idempotently.  Items 1-3, 6, 18 and 19 are installed at load, by
:func:`apply` (the runtime package's ``standardSetup()``, on every Ganga start:
``GangaCore.Core.bootstrap`` imports the component class inside the function,
so the swap must happen before bootstrap); item 6 alone also under
``use_stock_monitoring``.  The others are installed when the component starts
(item 4 needs every runtime package's backends loaded; the rest serve the
component only).  :func:`remove` undoes every entry of the
ledger, newest first, and forgets the listeners and the worker runner.  It runs
right after Ganga's exit functions flushed and shut down the repositories (item
18: Ganga never calls a runtime package's ``shutdown()``, and stops monitoring
*before* that last flush, which the persistence patches must serve), when a
Ganga start does not name the package, and at interpreter exit when Ganga's own
exit functions will not run after this package's hook.
"""

from __future__ import annotations

import atexit

from . import ledger
from .batch_wrapper import wrapper_ends_with_program
from .bounded_holds import bounded_lock_holds
from .condor_answers import answer_condor_from_logs
from .component_swap import is_swapped, swap_component
from .exit_order import left_to_ganga, unpatch_after_last_flush
from .flush_costs import INDEX_MEMO, STAT_MEMO, flush_costs_what_changed
from .force_status import force_subjobs_too
from .frames_guard import guard_current_frames, unguard_current_frames
from .job_tables import tables_read_once
from .lock_free import lock_free_reads
from .logger_names import cached_logger_names
from .master_stamps import forget_noted, master_stamps_once
from .master_work import SUBJOB_COUNTS, master_work_once
from .postprocessing import ProcessRunner, forget_runner, offload_postprocessing
from .printing import prints_without_lock
from .prompt_writes import writes_handed_the_lock
from .queue_monitor import swap_queues
from .slices import slices_from_templates
from .stack_traces import plain_stack_traces
from .status_watch import (StatusListener, add_status_listener, clear_status_listeners, remove_status_listener,
                           watch_statuses)
from .shared import HELD_LOCK, PROMPT_TURN, ROOT_ENTRIES, SUBJOB_STATUSES
from .single_loads import loads_once
from .subjob_statuses import subjob_statuses_counted
from .submissions import (SubmissionListener, add_submission_listener, clear_submission_listeners, in_submission,
                          note_submissions, remove_submission_listener, rollup_deferred)
from .user_actions import (UserActionListener, add_user_action_listener, clear_user_action_listeners,
                           hook_user_actions, remove_user_action_listener)
from .xml_saves import fast_xml_saves, forget_writers

__all__ = [
    "HELD_LOCK", "INDEX_MEMO", "PROMPT_TURN", "ROOT_ENTRIES", "STAT_MEMO", "SUBJOB_COUNTS", "SUBJOB_STATUSES",
    "ProcessRunner", "StatusListener", "SubmissionListener", "UserActionListener", "add_submission_listener",
    "remove_submission_listener",
    "add_status_listener", "add_user_action_listener", "answer_condor_from_logs", "apply", "bounded_lock_holds",
    "cached_logger_names",
    "fast_xml_saves", "flush_costs_what_changed", "guard_current_frames", "hook_submissions", "hook_user_actions",
    "in_submission", "is_applied", "loads_once", "lock_free_reads", "master_stamps_once", "master_work_once",
    "offload_postprocessing",
    "plain_stack_traces", "prints_without_lock", "remove", "remove_status_listener", "remove_user_action_listener",
    "rollup_deferred", "slices_from_templates", "subjob_statuses_counted", "tables_read_once",
    "unguard_current_frames", "wrapper_ends_with_program", "writes_handed_the_lock",
]


def apply(component_class: type) -> None:
    """Install the patches of load time: items 3, 1, 2 (in that order), then 18, 19 and 6 (idempotent)."""
    with ledger._lock:
        swap_queues()
        swap_component(component_class)
        watch_statuses()
        unpatch_after_last_flush(remove)
        wrapper_ends_with_program()
    guard_current_frames()


def hook_submissions() -> None:
    """Wrap ``Job.submit``, ``Job.resubmit`` (item 7), ``Job.force_status`` (item 9); idempotent, undone by remove."""
    with ledger._lock:
        note_submissions()
        force_subjobs_too()


def remove() -> None:
    """Undo the patches (idempotent): every entry of the ledger, newest first."""
    unguard_current_frames()
    with ledger._lock:
        clear_status_listeners()
        ledger.undo_all()
        clear_user_action_listeners()
        clear_submission_listeners()
        forget_runner()
        forget_writers()
        forget_noted()
        SUBJOB_STATUSES.clear()


def is_applied() -> bool:
    """Is our component installed as Ganga's (``apply`` ran, ``remove`` did not since)?"""
    return is_swapped()


def _remove_at_exit() -> None:
    """The ``atexit`` hook: remove, unless Ganga's exit functions are still to run (they run after
    this hook, ``atexit`` being newest first, and remove after their last flush: item 18)."""
    if not left_to_ganga():
        remove()


atexit.register(_remove_at_exit)
