"""The series, as data: for each commit its message, the files of ours it places and the edits it makes.

Edits of Ganga's files are anchored on the text of Ganga 8.7.4 (the newest
release tag of ganga-devs/ganga; see ``docs/upstream-patch.md`` for why not
8.7.12) and fail loudly on a revision where their anchor moved.  Edits of our
own copied modules (``glob=True``) find the one file that holds their anchor,
wherever a restructuring put it.  A step's ``fixups`` are functions of the
tree for what is not a fixed text (the native driver table, the dependencies
read from our ``pyproject.toml``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .edits import AnchorNotFound, Edit, Where
from .ours import PACKAGE, ROOT_MODULE, TARGET, TARGET_DIR, Placement

Fixup = Callable[[Path, Path], list[str]]
"""(our repository, Ganga's tree) -> what it changed, one line each (for the commit message)."""


@dataclass(frozen=True)
class Step:
    """One commit of the series."""

    key: str
    subject: str
    body: str
    placements: tuple[Placement, ...] = ()
    edits: tuple[Edit, ...] = ()
    fixups: tuple[Fixup, ...] = ()
    imports: tuple[str, ...] = ()
    """Modules that must import on this commit's tree and every later one (besides ``GangaCore``)."""


PACKAGE_SOURCE = f"src/{PACKAGE}"
NATIVE = ("drivers/local.py", "drivers/slurm.py", "drivers/batch.py", "drivers/dirac.py", "drivers/dirac_answers.py",
          "drivers/simgrid.py", "backends/*", "simulator/*", "demo.py")
"""Our files that make up the native drivers and SimGrid's world (commit ``native-drivers``)."""

PATCHES_GLOB = f"{TARGET_DIR}/compat/**/*.py"
"""Where our load-time patches are, as a package or a module (edits find the file holding their anchor)."""

UNIT_TESTS = "ganga/GangaCore/test/Unit/Monitoring"
GPI_TESTS = "ganga/GangaCore/test/GPI/Monitoring"
TEMPLATES = "tools/upstream_patch/templates"


def _dependencies(repo: Path, tree: Path) -> list[str]:
    """Add our runtime dependencies (pyproject.toml's, less ganga itself) to Ganga's ``install_requires``."""
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    wanted = [d for d in project["dependencies"] if not re.match(r"ganga\b", d)]
    setup = tree / "setup.py"
    text = setup.read_text()
    anchor = "install_requires = [\n"
    if text.count(anchor) != 1:
        raise AnchorNotFound(f"{anchor!r} not found once in setup.py")
    lines = "".join(f"    {d!r},  # GangaCore.Core.MonitoringComponent\n" for d in wanted if repr(d) not in text)
    setup.write_text(text.replace(anchor, anchor + lines))
    return [f"setup.py install_requires: {', '.join(wanted)}"]


_DRIVER_ENTRY = re.compile(rf'^\s*"(?P<backend>\w+)": "{re.escape(TARGET)}\.(?P<module>[\w.]+):\w+",\n', re.MULTILINE)


def _drivers_present_only(repo: Path, tree: Path) -> list[str]:
    """Leave out of the native driver table the drivers whose module is not in the tree yet.

    Their modules come with the ``native-drivers`` commit (which copies the table whole again);
    until then those backends are monitored through Ganga's own update, without an error logged
    for a driver that cannot be imported.
    """
    table = tree / TARGET_DIR / "drivers" / "__init__.py"
    text = table.read_text()
    entries = list(_DRIVER_ENTRY.finditer(text))
    if not entries:
        raise AnchorNotFound(f"no native driver entry (\"Backend\": \"{TARGET}.drivers.x:Class\",) in {table}")
    dropped = []
    for entry in entries:
        module_file = tree / TARGET_DIR / (entry["module"].replace(".", "/") + ".py")
        if not module_file.is_file():
            text = text.replace(entry[0], "")
            dropped.append(entry["backend"])
    table.write_text(text)
    return [f"native drivers left out until their commit: {', '.join(dropped)}"] if dropped else []


PRELOAD_EDITS = (
    Edit(f"{TARGET_DIR}/_core/*.py", f'WORKER_PRELOAD = ["{TARGET}._core.worker_boot"',
         f'WORKER_PRELOAD = ["ganga", "{TARGET}._core.worker_boot"', glob=True,
         why="the workers' fork server imports ganga first: in an installed Ganga, GangaCore is importable only "
             "after ganga's sys.path entry, and multiprocessing ignores a preload it cannot import, so workers "
             "would have run the parent's main script (ganga itself)"),
)

CORE_IMPORTS = (f"{TARGET}.compat.component", f"{TARGET}.compat.patches", f"{TARGET}.compat.queues",
                f"{TARGET}.config", f"{TARGET}.introspect", f"{TARGET}._core.scheduler")

# --- Core/__init__.py: the switch ------------------------------------------------------------------

_CORE = "ganga/GangaCore/Core/__init__.py"
_IMPORT_STOCK = "    from GangaCore.Core.MonitoringComponent.MonitoringService import AsyncMonitoringService\n"
_BUILD_STOCK = "    monitoring_component = AsyncMonitoringService(registry_slice=reg_slice)\n"
_DEFINE_AT_BOOTSTRAP = "    monitoring_config.define_options()  # [Monitoring]: the switch below\n"
_WIRING = (
    "    # [Monitoring]use_stock_monitoring (False by default) chooses the scheduled component,\n"
    "    # with its load-time patches of Ganga (GangaCore.Core.MonitoringComponent.compat.patches),\n"
    "    # or the AsyncMonitoringService\n"
    + _DEFINE_AT_BOOTSTRAP +
    "    if monitoring_config.monitoring_option('use_stock_monitoring'):\n"
    "        monitoring_patches.remove()\n"
    "        monitoring_patches.guard_current_frames()\n"
    "        component_class = AsyncMonitoringService\n"
    "    else:\n"
    "        monitoring_patches.apply(MonitoringComponent)\n"
    "        component_class = MonitoringComponent\n"
    "    monitoring_component = component_class(registry_slice=reg_slice)\n")

WIRING_EDITS = (
    Edit(_CORE, _IMPORT_STOCK, _IMPORT_STOCK
         + "    from GangaCore.Core.MonitoringComponent import config as monitoring_config\n"
           "    from GangaCore.Core.MonitoringComponent.compat import patches as monitoring_patches\n"
           "    from GangaCore.Core.MonitoringComponent.compat.component import MonitoringComponent\n",
         why="import both components"),
    Edit(_CORE, _BUILD_STOCK, _WIRING, why="build the one [Monitoring]use_stock_monitoring selects"),
    Edit(_CORE, "exportToInterface(my_interface, 'runMonitoring', monitoring_component.enable, 'Functions')",
         "exportToInterface(my_interface, 'runMonitoring',\n"
         "                      getattr(monitoring_component, 'runMonitoring', monitoring_component.enable),\n"
         "                      'Functions')",
         why="export the component's own runMonitoring where it has one"),
    Edit(_CORE, "    monitoring_component (JobRegistry_Monitor):",
         "    monitoring_component (MonitoringComponent or AsyncMonitoringService):", why="the docstring"),
)

# --- GangaCore/__init__.py: [Monitoring] where Ganga declares its sections ----------------------------

_POLL_LAST = ("poll_config.addOption(\n"
              "    'autoCheckCredentials', True, 'Check credentials using the monitoring loop'\n)\n")
CONFIG_EDITS = (
    Edit("ganga/GangaCore/__init__.py", _POLL_LAST,
         "\n# ------------------------------------------------\n"
         "# Monitoring: the scheduled monitoring component's options (its table is\n"
         "# GangaCore.Core.MonitoringComponent.config.MONITORING_OPTIONS), the [SimGrid] backend's,\n"
         "# and the [PollThread] rates of backends that have none above\n"
         "from GangaCore.Core.MonitoringComponent.config import define_options as _define_monitoring_options  # noqa\n"
         "\n_define_monitoring_options()\n",
         Where.AFTER, why="declare [Monitoring] with Ganga's sections"),
    Edit(_CORE, _DEFINE_AT_BOOTSTRAP, "", why="declared at import of GangaCore now, no longer at bootstrap"),
)

# --- queues ---------------------------------------------------------------------------------------------

_QUEUES_IMPORT = ("        from GangaCore.Core.GangaThread.WorkerThreads.ThreadPoolQueueMonitor import "
                  "ThreadPoolQueueMonitor\n        _global_queues = ThreadPoolQueueMonitor()\n")
QUEUES_EDITS = (
    Edit("ganga/GangaCore/Core/GangaThread/WorkerThreads/__init__.py", _QUEUES_IMPORT,
         "        from GangaCore.Core.GangaThread.WorkerThreads.ThreadPoolQueueMonitor import "
         "ThreadPoolQueueMonitor\n"
         "        from GangaCore.Core.MonitoringComponent import config as monitoring_config\n"
         "        if monitoring_config.monitoring_option('use_stock_monitoring'):\n"
         "            _global_queues = ThreadPoolQueueMonitor()\n"
         "        else:  # Ganga's queues, plus what the scheduled monitoring does (why(job), snapshot(), watch())\n"
         "            from GangaCore.Core.MonitoringComponent.compat.queues import MonitoringQueues\n"
         "            _global_queues = MonitoringQueues()\n",
         why="build the queues that also show monitoring"),
    Edit(PATCHES_GLOB, '        _wrap(queues_module, "ThreadPoolQueueMonitor", lambda _stock: MonitoringQueues)\n',
         "        pass  # startUpQueues builds MonitoringQueues itself (GangaThread.WorkerThreads)\n",
         glob=True, why="the load-time swap of the queues class is a real edit now"),
)

# --- repository fixes as direct edits --------------------------------------------------------------------

_SJXML = "ganga/GangaCore/Core/GangaRepository/SubJobXMLList.py"
_SAVE = ("                safe_save(subjob_data, subjob_obj, to_file)\n\n"
         "        self.write_subJobIndex(ignore_disk)\n")
_INDEX_WRITE = ('            index_file_obj = open(index_file, "wb")\n'
                "            to_file(all_caches, index_file_obj)\n"
                "            index_file_obj.close()\n")
REPOSITORY_EDITS = (
    Edit(_SJXML, _SAVE,
         "                safe_save(subjob_data, subjob_obj, to_file)\n"
         "                # saved whole, under the master's lock: no longer dirty (a master loaded from disk\n"
         "                # kept the flag, and each flush rewrote every subjob changed since the session began)\n"
         "                subjob_obj._setFlushed()\n\n"
         "        self.write_subJobIndex(ignore_disk)\n",
         why="SubJobXMLList.flush clears the dirty flag of each subjob it saved"),
    Edit(_SJXML, _INDEX_WRITE,
         "            # written under a temp name and renamed over the old index: a flush killed, or failing,\n"
         "            # half-way through the write no longer leaves a truncated index\n"
         "            from os import getpid, remove, replace\n"
         '            temp_index_file = "%s.%d-%d.tmp" % (index_file, getpid(), threading.get_ident())\n'
         "            try:\n"
         '                with open(temp_index_file, "wb") as index_file_obj:\n'
         "                    to_file(all_caches, index_file_obj)\n"
         "                replace(temp_index_file, index_file)\n"
         "            finally:\n"
         "                if path.exists(temp_index_file):\n"
         "                    remove(temp_index_file)\n",
         why="subjobs.idx is written whole or not at all"),
    Edit(PATCHES_GLOB, '                                  (SubJobXMLList, "flush", _clearing_saved_flags),\n', "",
         glob=True, why="item 11's wrapper of SubJobXMLList.flush is a real edit now"),
    Edit(PATCHES_GLOB, '        _wrap(subjob_list_module, "open", _index_written_whole, shadowed=builtins.open)\n',
         "        # subjobs.idx written whole: a real edit of SubJobXMLList.__really_writeIndex now\n",
         glob=True, why="item 11's atomic subjobs.idx is a real edit now"),
)

# --- the Batch job wrapper ends with its program ------------------------------------------------------------

_BATCH_TEMPLATE = "ganga/GangaCore/Lib/Batch/BatchScriptTemplate.py.template"
_BATCH_WATCH = ("    while 1:\n"
                "        result = child.poll()\n"
                "        if result is not None:\n"
                "            break\n"
                "        heartbeatfile.write('.')\n"
                "        flush_file(heartbeatfile)\n"
                "        time.sleep(###HEARTBEATFREQUENCE###)\n")
BATCH_WRAPPER_EDITS = (
    Edit(_BATCH_TEMPLATE, _BATCH_WATCH,
         "    # wait on the child, a heartbeat at most each time: the job ends with its program, not up to a\n"
         "    # heartbeat later, and the heartbeat file is still touched every heartbeat while it runs\n"
         "    result = child.poll()\n"
         "    while result is None:\n"
         "        heartbeatfile.write('.')\n"
         "        flush_file(heartbeatfile)\n"
         "        try:\n"
         "            result = child.wait(timeout=###HEARTBEATFREQUENCE###)\n"
         "        except subprocess.TimeoutExpired:\n"
         "            pass\n",
         why="the wrapper waits on its program instead of sleeping a heartbeat"),
    Edit(PATCHES_GLOB, "        wrapper_ends_with_program()\n",
         "        # the Batch wrapper waits on its program: a real edit of BatchScriptTemplate.py.template now\n",
         glob=True, why="item 19's rewrite of the Batch wrapper template is a real edit now"),
)

SERIES: tuple[Step, ...] = (
    Step("core", "MonitoringComponent: the scheduled monitoring component as a package",
         "GangaMonitoring, the priority-scheduled monitoring component, added under\n"
         "GangaCore/Core/MonitoringComponent/ with its imports rewritten (GangaMonitoring -> "
         f"{TARGET}):\n"
         "the pure scheduler core (_core/), the drop-in component and its Ganga-side parts (compat/),\n"
         "the driver interface and the compatibility driver that serves every backend through Ganga's\n"
         "own updateMonitoringInformation (drivers/), introspection and the status file. The runtime\n"
         f"package's hooks (its __init__) are kept as {ROOT_MODULE}; Ganga's own __init__ stays.\n"
         "Nothing uses the package yet; its dependencies join install_requires.",
         placements=(Placement(PACKAGE_SOURCE, TARGET_DIR, rest=True, rename={"__init__.py": ROOT_MODULE}),),
         edits=PRELOAD_EDITS, fixups=(_dependencies, _drivers_present_only), imports=CORE_IMPORTS),
    Step("wiring", "Core.bootstrap: the scheduled monitoring component, behind [Monitoring]use_stock_monitoring",
         "GangaCore.Core.bootstrap builds the scheduled MonitoringComponent as monitoring_component\n"
         "(the AsyncMonitoringService when [Monitoring]use_stock_monitoring = True) and applies its\n"
         "load-time patches from there (compat/patches.py: the status watch, submission notes,\n"
         "lock-free reads, the flush's costs, ...), as the runtime package did in standardSetup().\n"
         "GPI runMonitoring is the component's own. [Monitoring] is declared at bootstrap for now.",
         edits=WIRING_EDITS, imports=("GangaCore.Core",)),
    Step("config", "Config: the [Monitoring] section declared with Ganga's own sections",
         "GangaCore/__init__.py declares [Monitoring] (and [SimGrid], and the [PollThread] rates of\n"
         "backends Ganga gives none, e.g. Slurm) next to [PollThread], from the option table in\n"
         "MonitoringComponent/config.py, so ini files and -o options set them like any other; the\n"
         "runtime package declared them when Ganga loaded it.",
         edits=CONFIG_EDITS),
    Step("queues", "queues: Ganga's queues plus what monitoring does",
         "startUpQueues builds MonitoringQueues (compat/queues.py), a ThreadPoolQueueMonitor that also\n"
         "shows monitoring's work per backend and has why(job), snapshot(), retry(job) and watch(),\n"
         "unless [Monitoring]use_stock_monitoring. Monkeypatch made a real edit: the swap of\n"
         "ThreadPoolQueueMonitor in compat/patches.py apply() is gone.",
         edits=QUEUES_EDITS, imports=("GangaCore.Core.GangaThread.WorkerThreads",)),
    Step("native-drivers", "MonitoringComponent: native drivers (Local, Slurm, Dirac, SimGrid)",
         "The native drivers: Local (a job whose process vanished ends failed), Slurm (one squeue per\n"
         "poll besides Ganga's status files), Dirac (bulk status in GangaDirac's DIRAC process, sandbox\n"
         "retrieval and finalisation as scheduled operations) and SimGrid, with the grid simulator and\n"
         "its backend; the native driver table in drivers/__init__.py whole again.\n"
         "[Monitoring]native_drivers = False monitors them through Ganga's own update.",
         placements=(Placement(PACKAGE_SOURCE, TARGET_DIR, include=NATIVE),
                     Placement(PACKAGE_SOURCE, TARGET_DIR, include=("drivers/__init__.py",), again=True)),
         imports=(f"{TARGET}.drivers.local", f"{TARGET}.drivers.slurm", f"{TARGET}.drivers.dirac")),
    Step("repository", "Repository: a split job's flush saves what changed, subjobs.idx written whole",
         "Two of the monitoring component's load-time patches of the repository are real edits now\n"
         "(compat/patches.py item 11): SubJobXMLList.flush clears the dirty flag of each subjob it\n"
         "saved (the wrapper _clearing_saved_flags is no longer installed), and subjobs.idx is\n"
         "written under a temp name and renamed over the old one (the wrapper of SubJobXMLList's open,\n"
         "_index_written_whole, is no longer installed). The rest stay load-time patches, applied\n"
         "when the component starts: the index and stat memos, bounded lock holds, the XML writer,\n"
         "display slices and the master's work once per flush touch several Ganga classes each and are\n"
         "undone when the stock component is chosen.",
         edits=REPOSITORY_EDITS, imports=("GangaCore.Core.GangaRepository.SubJobXMLList",)),
    Step("batch-wrapper", "Batch: the job wrapper ends with its program, not a heartbeat later",
         "The wrapper the Batch backends (LSF, PBS, SGE, Slurm) submit looked at its program, then slept\n"
         "[<Backend>]heartbeat_frequency (30 s by default) before looking again: the batch job ended\n"
         "0-30 s after its program, holding its slot, and its __jobstatus__ exit code (what monitoring\n"
         "waits for) came that late. It now waits on the program with the heartbeat as the timeout: the\n"
         "heartbeat file is touched as often as before while the program runs, and the job ends within\n"
         "50 ms of it (a real Slurm, 20 jobs of 'sleep 1': p50 29 s -> under 1 s). Outputs, the exit\n"
         "code and __jobstatus__ are as before. The component's load-time rewrite of the template\n"
         "(compat/patches item 19) is no longer installed.",
         edits=BATCH_WRAPPER_EDITS),
    Step("tests", "test: the monitoring component's tests (Unit/Monitoring, GPI/Monitoring)",
         "Unit/Monitoring: the Ganga-free tests of the scheduler core and its parts (scheduler, planner,\n"
         "index, retry, breakers, adaptive limits, fan-out, runner and pools, introspection), imports\n"
         "rewritten. Left out: test_purity (it checks that the core imports nothing of Ganga, which\n"
         "cannot hold for a package inside GangaCore). GPI/Monitoring/TestMonitoringComponent: the\n"
         "component is built by default and the stock one behind the switch, a Local job is\n"
         "monitored to completed, and queues shows monitoring.",
         placements=(Placement("tests/core", UNIT_TESTS, exclude=("test_purity.py",)),
                     Placement(f"{TEMPLATES}/GPI", GPI_TESTS)),
         edits=(Edit("setup.py", "            'pytest-mock'],", "            'pytest-mock',\n            'pexpect'],",
                     why="a Unit/Monitoring test drives a terminal"),)),
    Step("docs", "doc: the scheduled monitoring component",
         "doc/UserGuide/Monitoring.rst: what the monitoring component does, its switch and options,\n"
         "queues; the design notes (architecture, configuration, drivers) under doc/Monitoring/.",
         placements=(Placement("docs", "doc/Monitoring", include=("architecture.md", "configuration.md",
                                                                  "drivers.md"), rewrite=False),
                     Placement(f"{TEMPLATES}/doc", "doc/UserGuide", rewrite=False)),
         edits=(Edit("doc/UserGuide/index.rst", "    Queues\n", "    Queues\n    Monitoring\n",
                     why="the user guide's table of contents"),)),
)
"""The commits, in order."""
