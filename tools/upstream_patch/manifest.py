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
from .derived import joined_xml_writer, lock_free_reads
from .made_edits import dropping, not_yet
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
PATCHES_GLOB = f"{TARGET_DIR}/**/*.py"
"""Where our load-time patches (``patches/``) and the modules they patch with are (``views/queues.py``): edits
find the one file holding their anchor, wherever a restructuring put it."""

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
    Edit(f"{TARGET_DIR}/runtime/*.py", f'WORKER_PRELOAD = ["{TARGET}.runtime.worker_boot"',
         f'WORKER_PRELOAD = ["ganga", "{TARGET}.runtime.worker_boot"', glob=True,
         why="the workers' fork server imports ganga first: in an installed Ganga, GangaCore is importable only "
             "after ganga's sys.path entry, and multiprocessing ignores a preload it cannot import, so workers "
             "would have run the parent's main script (ganga itself)"),
)

CORE_IMPORTS = (f"{TARGET}.integration.component", f"{TARGET}.patches",
                f"{TARGET}.config", f"{TARGET}.views.snapshot", f"{TARGET}.core.scheduler")

# --- Core/__init__.py: the switch ------------------------------------------------------------------

_CORE = "ganga/GangaCore/Core/__init__.py"
_IMPORT_STOCK = "    from GangaCore.Core.MonitoringComponent.MonitoringService import AsyncMonitoringService\n"
_BUILD_STOCK = "    monitoring_component = AsyncMonitoringService(registry_slice=reg_slice)\n"
_DEFINE_AT_BOOTSTRAP = "    monitoring_config.define_options()  # [Monitoring]: the switch below\n"
_WIRING = (
    "    # [Monitoring]use_stock_monitoring (False by default) chooses the scheduled component,\n"
    "    # with its load-time patches of Ganga (GangaCore.Core.MonitoringComponent.patches),\n"
    "    # or the AsyncMonitoringService\n"
    + _DEFINE_AT_BOOTSTRAP +
    "    if monitoring_config.monitoring_option('use_stock_monitoring'):\n"
    "        monitoring_patches.remove()\n"
    "        component_class = AsyncMonitoringService\n"
    "    else:\n"
    "        monitoring_patches.apply(MonitoringComponent)\n"
    "        component_class = MonitoringComponent\n"
    "    monitoring_component = component_class(registry_slice=reg_slice)\n")

WIRING_EDITS = (
    Edit(_CORE, _IMPORT_STOCK, _IMPORT_STOCK
         + "    from GangaCore.Core.MonitoringComponent import config as monitoring_config\n"
           "    from GangaCore.Core.MonitoringComponent import patches as monitoring_patches\n"
           "    from GangaCore.Core.MonitoringComponent.integration.component import MonitoringComponent\n",
         why="import both components"),
    Edit(_CORE, _BUILD_STOCK, _WIRING, why="build the one [Monitoring]use_stock_monitoring selects"),
    Edit(_CORE, "exportToInterface(my_interface, 'runMonitoring', monitoring_component.enable, 'Functions')",
         "exportToInterface(my_interface, 'runMonitoring',\n"
         "                      getattr(monitoring_component, 'runMonitoring', monitoring_component.enable),\n"
         "                      'Functions')",
         optional=True, why="export the component's own runMonitoring where it has one (8.7.4 exports enable)"),
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
         "            from GangaCore.Core.MonitoringComponent.views.queues import MonitoringQueues\n"
         "            _global_queues = MonitoringQueues()\n",
         why="build the queues that also show monitoring"),
    Edit(PATCHES_GLOB, "    from ..backends.simgrid import SimGrid\n\n    backend = stripProxy(job.backend)\n"
         "    if isinstance(backend, SimGrid):\n",
         "    backend = stripProxy(job.backend)\n"
         "    if type(backend).__name__ == \"SimGrid\":  # GangaMonitoring's test backend, not part of Ganga\n",
         glob=True, why="the SimGrid backend stays out of GangaCore"),
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
)

# --- a flush of a split job costs what changed: the SubJobXMLList parts of patches items 11 and 13 --------

_ENTRY_WRITTEN = ("            if sj_id in self._cachedJobs:\n"
                  "                this_cache = self._registry.getIndexCache(self.__getitem__(sj_id))\n"
                  "                all_caches[sj_id] = this_cache\n"
                  "                disk_location = self.__get_dataFile(sj_id)\n"
                  "                all_caches[sj_id]['modified'] = stat(disk_location).st_ctime\n")
FLUSH_COST_EDITS = (
    Edit(_SJXML, "                safe_save(subjob_data, subjob_obj, to_file)\n",
         "                subjob_obj._index_entry_written = None  # saved: its entry is computed again\n",
         Where.BEFORE, why="a subjob saved has its entry computed again"),
    Edit(_SJXML, "        self.write_subJobIndex(ignore_disk)\n",
         "        # subjobs changed since their save (a flush that lets the master's lock go between saves,\n"
         "        # e.g. the monitoring component's) are saved again until none is dirty: the index is then\n"
         "        # computed from saved values only, and no change is left for the registry's _setFlushed\n"
         "        changed = [(i, sj) for i, sj in list(self._cachedJobs.items()) if sj._dirty]\n"
         "        while changed:\n"
         "            for index, subjob_obj in changed:\n"
         "                subjob_obj._index_entry_written = None\n"
         "                safe_save(self.__get_dataFile(str(index)), subjob_obj, to_file)\n"
         "                subjob_obj._setFlushed()\n"
         "            changed = [(i, sj) for i, sj in list(self._cachedJobs.items()) if sj._dirty]\n\n",
         Where.BEFORE, why="SubJobXMLList.flush saves again the subjobs changed meanwhile, before the index"),
    Edit(_SJXML, _ENTRY_WRITTEN,
         "            if sj_id in self._cachedJobs:\n"
         "                this_cache, reused = self._entry_kept(sj_id)\n"
         "                reused_all = reused_all and reused\n"
         "                all_caches[sj_id] = this_cache\n",
         why="subjobs.idx: a subjob's entry is the one written last while its data file is unchanged"),
    Edit(_SJXML, "    def getAllCachedData(self):\n",
         "    def _entry_kept(self, sj_id):\n"
         "        \"\"\"(entry, reused): the subjobs.idx entry of the subjob in memory sj_id, the one written last\n"
         "        for it while its data file is the file it was then and it is not dirty; else computed, and kept\n"
         "        \"\"\"\n"
         "        # a changed subjob is dirty and saved before the index is written, and a save writes a new\n"
         "        # file renamed over the old (another inode, or at least another ctime), also when\n"
         "        # GangaRepositoryLocal saves the subjobs of a master made in this session. Computing every\n"
         "        # entry anew (~0.3 ms each) made a flush, and a master's own entry, cost every subjob in memory\n"
         "        subjob_obj = self.__getitem__(sj_id)\n"
         "        on_disk = stat(self.__get_dataFile(sj_id))\n"
         "        disk_key = (on_disk.st_dev, on_disk.st_ino, on_disk.st_ctime_ns, on_disk.st_size)\n"
         "        written = getattr(subjob_obj, '_index_entry_written', None)\n"
         "        if written is not None and written[0] == disk_key and not subjob_obj._dirty:\n"
         "            return written[1], True\n"
         "        this_cache = self._registry.getIndexCache(subjob_obj)\n"
         "        this_cache['modified'] = on_disk.st_ctime\n"
         "        if not subjob_obj._dirty:\n"
         "            subjob_obj._index_entry_written = (disk_key, this_cache)\n"
         "        return this_cache, False\n\n",
         Where.BEFORE, why="SubJobXMLList._entry_kept: a subjob's entry kept while its data file is unchanged"),
    Edit(_SJXML, "                if self.isLoaded(i):\n"
                 "                    cached_data.append(self._registry.getIndexCache(self.__getitem__(i)))\n",
         "                if self.isLoaded(i):\n"
         "                    # its entry kept, not computed anew at each flush for the master's own entry\n"
         "                    cached_data.append(dict(self._entry_kept(i)[0]))\n",
         why="getAllCachedData: a loaded subjob's entry as kept"),
    Edit(_SJXML, "        all_caches = {}\n",
         "        all_caches = {}\n"
         "        reused_all = True  # every entry the one written last time: nothing saved since\n",
         Where.REPLACE, why="subjobs.idx: whether any entry changed"),
    Edit(_SJXML, "                else:\n"
                 "                    this_cache = self._registry.getIndexCache(self.__getitem__(sj_id))\n",
         "                else:\n"
         "                    reused_all = False\n"
         "                    this_cache = self._registry.getIndexCache(self.__getitem__(sj_id))\n",
         why="subjobs.idx: an entry computed from a subjob loaded for it"),
    Edit(_SJXML, "            index_file = path.join(self._jobDirectory, self._subjob_master_index_name)\n",
         "            index_file = path.join(self._jobDirectory, self._subjob_master_index_name)\n"
         "            # the index is a function of the subjobs' saved values: if every entry is the one written\n"
         "            # last time and the file on disk is that write's, there is nothing to write (a flush of a\n"
         "            # master whose own values alone changed rewrote it whole: 1,000 subjobs, 15 of 21 ms)\n"
         "            master = self._getParent()\n"
         "            on_disk = _file_key(index_file)\n"
         "            if master is not None:\n"
         "                if reused_all and on_disk is not None and \\\n"
         "                        getattr(master, '_subjob_index_written', None) == (on_disk, len(all_caches)):\n"
         "                    return\n"
         "                master._subjob_index_written = None  # until this write is known to be on disk\n",
         why="subjobs.idx: not written again when nothing changed"),
    Edit(_SJXML, "                replace(temp_index_file, index_file)\n",
         "                replace(temp_index_file, index_file)\n"
         "                if master is not None:\n"
         "                    master._subjob_index_written = (_file_key(index_file), len(all_caches))\n",
         why="subjobs.idx: the file written, kept on its master"),
    Edit(_SJXML, "class SubJobXMLList(GangaObject):\n",
         "def _file_key(file_name):\n"
         "    \"\"\"A file as found on disk (device, inode, size, mtime and ctime in ns), None if missing\"\"\"\n"
         "    try:\n"
         "        found = stat(file_name)\n"
         "    except OSError:\n"
         "        return None\n"
         "    return found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns\n\n\n",
         Where.BEFORE, why="SubJobXMLList: a file's key"),
    Edit(PATCHES_GLOB, "    subjob_list_module = sys.modules[SubJobXMLList.__module__]\n", "", glob=True,
         why="flush_costs no longer patches SubJobXMLList's module"),
)

# --- a split master's own work once per flush: the SubJobXMLList parts of patches item 16 -----------------

MASTER_WORK_EDITS = (
    Edit(_SJXML, "            self._setParent(parent)\n        self.load_subJobIndex()\n",
         "            self._setParent(parent)\n"
         "        # a master made in this session (its subjobs still a list in memory) is flushed through a\n"
         "        # temporary list that writes every entry of subjobs.idx from those subjobs: the old index\n"
         "        # on disk is never used then, so it is not read and unpickled at each such flush\n"
         "        in_memory = getattr(parent, '_data', {}).get('subjobs') if parent else None\n"
         "        if not (in_memory and not hasattr(in_memory, 'flush')):\n"
         "            self.load_subJobIndex()\n",
         why="the temporary list of a master made in this session does not read the index it never uses"),
    Edit(_SJXML, "            this_time = stat(self._jobDirectory).st_ctime\n"
                 "        except OSError:\n            return 0\n",
         "        kept = getattr(self, '_subjob_count', None)\n"
         "        if kept:  # the subjobs' directories, counted once (below)\n"
         "            return kept\n",
         Where.AFTER, why="__len__ answers the count kept"),
    Edit(_SJXML, "        return subjob_count\n\n    def keys(self):\n",
         "        # kept: counted again whenever the directory's ctime had moved, which every flush of the\n"
         "        # master makes it do, a stat per subjob, and a flush asks for the count once per entry of\n"
         "        # the directory. Subjobs are added only by appendJobs, which forgets the count; a master\n"
         "        # loaded again gets a new list. A count of 0 is not kept\n"
         "        if subjob_count:\n"
         "            self._subjob_count = subjob_count\n",
         Where.BEFORE,
         why="__len__ of a master loaded from disk: its subjobs counted once, not at every flush"),
    Edit(_SJXML, "        self._cachedJobs.update(job_dict)\n        self.flush(True)\n",
         "        self._subjob_count = None  # __len__ counts again, once the new subjobs' directories are made\n"
         "        self._cachedJobs.update(job_dict)\n"
         "        try:\n"
         "            self.flush(True)\n"
         "        finally:\n"
         "            self._subjob_count = None\n",
         why="appendJobs forgets the subjob count"),
)

def _docstring_note(undone: str, note: str, why: str) -> Edit:
    """An edit of one of our copied patch modules: ``note`` after its docstring's "Undone by" line ``undone``."""
    return Edit(PATCHES_GLOB, undone, undone + "\n" + note, glob=True, why=why)


def _importing_join(rest: str, why: str) -> Edit:
    """An edit of one of our copied patch modules: its import of the ledger (``from .ledger import _lock, _wrap``
    followed by ``rest``, which tells the module apart) also takes ``_join``, to join a hook Ganga declares."""
    ledger = "from .ledger import _lock, _wrap"
    return Edit(PATCHES_GLOB, ledger + rest, ledger.replace("import _lock", "import _join, _lock") + rest,
                glob=True, why=why)


# --- GangaRepositoryXML: its parts of patches items 13 (safe_save) and 16 (GangaRepositoryLocal.flush) ------

_REPOSITORY_XML = "ganga/GangaCore/Core/GangaRepository/GangaRepositoryXML.py"
SAFE_SAVE_HOOK_EDITS = (
    Edit(_REPOSITORY_XML,
         "    # Add a global lock to make absolutely sure we don't have multiple threads writing files\n",
         "    obj = stripProxy(_obj)\n"
         "    if safe_save.before_subjob_save and obj._getParent() is not None:\n"
         "        # a subjob: its hooks may let the master's lock go for a moment (the monitoring component's\n"
         "        # flusher holds a master's lock in bounded stretches), before the lock below is taken\n"
         "        for hook in list(safe_save.before_subjob_save):\n"
         "            hook(obj)\n\n",
         Where.BEFORE, why="safe_save calls its before_subjob_save hooks before a subjob's save"),
    Edit(_REPOSITORY_XML, "safe_save.lock = threading.Lock()\n",
         "\n# Callables of a subjob (its proxy stripped) about to be saved, called before the lock above is\n"
         "# taken, one after the other: a flusher may let the subjob's master's lock go there for a moment\n"
         "safe_save.before_subjob_save = []\n",
         Where.AFTER, why="safe_save.before_subjob_save, empty in Ganga"),
    _importing_join("\nfrom .shared import HELD_LOCK\n", why="bounded holds join Ganga's hook"),
    Edit(PATCHES_GLOB, "        _wrap(Registry, \"flush_all\", _bounding_holds)\n",
         "        # Ganga's safe_save calls before_subjob_save before each subjob save: a hook, not a patch\n"
         "        _join(repository_xml.safe_save.before_subjob_save, before_subjob_save)\n",
         Where.AFTER, glob=True, why="bounded holds yield from Ganga's safe_save hook"),
    Edit(PATCHES_GLOB, "    from GangaCore.Core.GangaRepository.Registry import Registry\n",
         "    import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml\n",
         Where.BEFORE, glob=True, why="bounded holds: Ganga's safe_save"),
    _docstring_note("Undone by: remove() restores ``flush_all`` and ``_setDirty`` (the ledger).\n",
                    "In this series Ganga's ``safe_save`` calls :func:`before_subjob_save` itself, a hook of its\n"
                    "``before_subjob_save`` list, and Ganga's ``Registry.flush_all`` runs within :func:`bounded`, a\n"
                    "hook of ``Registry._around_flush_all`` (joined by :func:`bounded_lock_holds`, taken off by\n"
                    "remove()); the flush's own hold of a job's lock is the one ``Registry.flush_holds`` names.\n",
                    "bounded holds' docstring: the hook"),
)

PARSE_XML_EDITS = (
    Edit(_REPOSITORY_XML, "        need_to_copy = True\n        if this_id not in self.objects:\n",
         "        if has_children:\n"
         "            # the file keeps a split job's subjobs apart, so the value read for them is the class default\n"
         "            # (an empty list): not set, as a reader in the moment before the list of the subjobs on disk\n"
         "            # is set below saw a split job with no subjobs (a reader of a value not set waits for the load)\n"
         "            tmpobj._data.pop(self.sub_split, None)\n\n",
         Where.BEFORE, why="_parse_xml: a split job's subjobs not set to the default first"),
    Edit(_REPOSITORY_XML, "                if attr_name not in tmpobj._data:\n",
         "                if attr_name not in tmpobj._data and not (has_children and attr_name == self.sub_split):\n",
         why="_parse_xml: nor to the schema's default"),
)

_FLUSHED = "                self._safe_flush_xml(this_id)\n"
_ENTRY_AGAIN = ("                self._cached_obj[this_id] = self.objects[this_id]._index_cache\n\n"
                "                try:\n"
                "                    self.index_write(this_id)\n"
                "                except:\n"
                "                    logger.debug(\"Index write failed\")\n"
                "                    pass\n")
ROOT_ENTRY_EDITS = (
    Edit(_REPOSITORY_XML, _FLUSHED,
         "                # _safe_flush_xml ends with index_write, which stores the entry it computes\n"
         "                entry_before = self._cached_obj.get(this_id)\n",
         Where.BEFORE, why="GangaRepositoryLocal.flush notes the job's index entry before"),
    Edit(_REPOSITORY_XML, _ENTRY_AGAIN,
         "                if self._cached_obj.get(this_id) is entry_before:\n"
         "                    # that index_write failed before it stored the entry: computed here, as before\n"
         "                    self._cached_obj[this_id] = self.objects[this_id]._index_cache\n\n"
         "                    try:\n"
         "                        self.index_write(this_id)\n"
         "                    except:\n"
         "                        logger.debug(\"Index write failed\")\n"
         "                        pass\n"
         "                # else the entry is the one index_write computed, under this job's lock (held by the\n"
         "                # flusher) after the last save of its subjobs: computing it twice more (each a walk\n"
         "                # of every subjob's status; the index file is written by then) gave the same values\n",
         why="GangaRepositoryLocal.flush computes a job's index entry once, not three times"),
)


# --- Registry.py: patches items 13 (Registry.flush_all, bounded holds) and 24 (Registry._load, one load) -----

_GANGA_REGISTRY = "ganga/GangaCore/Core/GangaRepository/Registry.py"
SINGLE_LOAD_EDITS = (
    Edit(_GANGA_REGISTRY, "        if not self.repository.isObjectLoaded(obj):\n            self._locked_load(obj)\n",
         "        if not self.repository.isObjectLoaded(obj):\n"
         "            with self._flush_lock, self._read_lock:  # _locked_load's locks, in its order\n"
         "                # asked again under them: two readers of a job not loaded (the prompt, a monitoring\n"
         "                # thread) both found it so, and the second loaded it again once the first was done,\n"
         "                # every value set anew over the object the first had handed out (its subjobs an\n"
         "                # empty list for a moment, then a new list: what the first list held was dropped)\n"
         "                if not self.repository.isObjectLoaded(obj):\n"
         "                    self._locked_load(obj)\n",
         why="Registry._load asks again under the registry's locks: a job is loaded once"),
)
_FLUSH_HOLDS = (
    "class _FlushHolds(threading.local):\n"
    "    \"\"\"What this thread's Registry.flush_all holds: all, whether it runs; lock, the lock of the job\n"
    "    its _flush took and holds\"\"\"\n"
    "    all = False\n"
    "    lock = None\n\n\n"
    "_flush_holds = _FlushHolds()\n\n\n"
    "@contextmanager\n"
    "def _held_by_flush(lock):\n"
    "    \"\"\"Within: Registry.flush_holds() is lock, taken by a _flush of flush_all holding no other job's\"\"\"\n"
    "    if not _flush_holds.all or _flush_holds.lock is not None:\n"
    "        yield\n"
    "        return\n"
    "    _flush_holds.lock = lock\n"
    "    try:\n"
    "        yield\n"
    "    finally:\n"
    "        _flush_holds.lock = None\n\n\n")
BOUNDED_HOLD_EDITS = (
    Edit(_GANGA_REGISTRY, "import threading\n", "from contextlib import ExitStack, contextmanager\n", Where.AFTER,
         why="flush_all's contexts"),
    Edit(_GANGA_REGISTRY, "def synchronised_flush_lock(f):\n", _FLUSH_HOLDS, Where.BEFORE,
         why="what this thread's flush_all holds"),
    Edit(_GANGA_REGISTRY, "            with obj.const_lock:\n                # flush the object\n",
         "            with obj.const_lock, _held_by_flush(obj._getRoot()._lock):\n                # flush the object\n",
         why="_flush, within flush_all, says which job's lock it holds"),
    Edit(_GANGA_REGISTRY, "    def flush_all(self):\n",
         "    _around_flush_all = []\n"
         "    # Factories of the context managers flush_all runs within (called with the registry); e.g. the\n"
         "    # monitoring component's flusher lets a job's lock go for a moment between its subjobs' saves\n\n"
         "    @staticmethod\n"
         "    def flush_holds():\n"
         "        \"\"\"The lock of the job this thread's flush_all is flushing, taken by its _flush (None outside\n"
         "        flush_all): a hook called meanwhile (safe_save.before_subjob_save) may release it once, to let\n"
         "        a writer of the job in between two saves, and must take it back. flush_all's callers (the\n"
         "        RegistryFlusher, shutdown) hold no job's lock; one that did would keep it held through that\n"
         "        release\"\"\"\n"
         "        return _flush_holds.lock\n\n",
         Where.BEFORE, why="Registry._around_flush_all and flush_holds, empty and None in Ganga"),
    Edit(_GANGA_REGISTRY, "        if self.hasStarted():\n            for _obj in self.values():\n"
                          "                self._flush(_obj)\n",
         "        if self.hasStarted():\n"
         "            with ExitStack() as around:\n"
         "                for context in list(Registry._around_flush_all):\n"
         "                    around.enter_context(context(self))\n"
         "                outer, _flush_holds.all = _flush_holds.all, True\n"
         "                try:\n"
         "                    for _obj in self.values():\n"
         "                        self._flush(_obj)\n"
         "                finally:\n"
         "                    _flush_holds.all = outer\n",
         why="flush_all flushes within Registry._around_flush_all, saying what it holds"),
    # our copies: bounded holds join Ganga's flush_all, the flush's own hold as Ganga's flush says it
    Edit(PATCHES_GLOB, "        _wrap(Registry, \"flush_all\", _bounding_holds)\n",
         "        _join(Registry._around_flush_all, bounded)  # Ganga's flush_all runs within it: a hook\n",
         glob=True, why="bounded holds join Ganga's flush_all"),
    Edit(PATCHES_GLOB, "        HELD_LOCK.yield_to_writers(root, root._lock, _held_once)\n",
         "        HELD_LOCK.yield_to_writers(root, root._lock, _held_by_flush)\n", glob=True,
         why="bounded holds: the flush's own hold as Ganga's flush says it"),
    Edit(PATCHES_GLOB, "def bounded(_registry: Any) -> Any:\n",
         "def _held_by_flush(lock: Any) -> bool:\n"
         "    \"\"\"``lock`` is the one Ganga's flush_all took for the job it flushes (Registry.flush_holds).\"\"\"\n"
         "    import GangaCore.Core.GangaRepository.Registry as registry_module\n\n"
         "    return registry_module.Registry.flush_holds() is lock\n\n\n",
         Where.BEFORE, glob=True, why="bounded holds: Ganga's Registry.flush_holds"),
)

# --- Objects.py: patches items 8 (Descriptor.__get__, derived.lock_free_edits) and 21 (GangaObject.accept) ----

_OBJECTS = "ganga/GangaCore/GPIDev/Base/Objects.py"
LOCK_FREE_COPY_EDITS = (
    Edit(PATCHES_GLOB, "        _wrap(Descriptor, \"__get__\", _reading_without_lock)\n",
         "        pass  # Ganga's Descriptor.__get__ reads loaded values without the lock itself\n", glob=True,
         why="lock_free installs nothing"),
    _docstring_note("Undone by: remove() restores Ganga's ``__get__`` (the ledger).\n",
                    "In this series Ganga's ``Descriptor.__get__`` reads a loaded value without the lock itself\n"
                    "(``synchronised_get_descriptor``, this module's ``get`` made an edit).\n",
                    "lock_free's docstring"),
)
_ACCEPT = ("    @synchronised\n"
           "    def accept(self, visitor):\n")
_ACCEPT_BODY = ("            visitor (VPrinter, VStreamer): An instance which will produce a display of this "
                "contents of this object\n        \"\"\"\n\n")
PRINTING_EDITS = (
    Edit(_OBJECTS, _ACCEPT,
         "    _around_print = []\n"
         "    # Factories of the context managers a print of any GangaObject runs within (accept with a\n"
         "    # VPrinter); e.g. the monitoring component keeps the GIL longer there\n\n"
         "    def accept(self, visitor):\n",
         why="GangaObject.accept takes its lock itself, and _around_print"),
    Edit(_OBJECTS, _ACCEPT_BODY,
         _ACCEPT_BODY.rstrip("\n") + "\n"
         "        from GangaCore.GPIDev.Base.VPrinter import VPrinter\n"
         "        if isinstance(visitor, VPrinter):\n"
         "            # a print reads each value as any read does (a loaded value without the lock, see\n"
         "            # Descriptor.__get__): holding the root's lock for the whole print made the registry\n"
         "            # flusher and every writer of the job wait for it, and the print wait for them\n"
         "            from contextlib import ExitStack\n"
         "            with ExitStack() as around:\n"
         "                for context in list(GangaObject._around_print):\n"
         "                    around.enter_context(context())\n"
         "                return self._accept(visitor)\n"
         "        with self.const_lock:\n"
         "            return self._accept(visitor)\n\n"
         "    def _accept(self, visitor):\n"
         "        \"\"\"accept, under the lock of its caller's choosing\"\"\"\n\n",
         why="a print without the root's lock; any other visitor (the XML writer) with it"),
    _importing_join("\nfrom .shared import PROMPT_FIRST, PROMPT_TURN\n", why="printing joins Ganga's hook"),
    Edit(PATCHES_GLOB, "        _wrap(GangaObject, \"accept\", _printing_unlocked)\n",
         "        # Ganga's accept prints without the lock itself, within GangaObject._around_print: a hook\n"
         "        _join(GangaObject._around_print, PROMPT_FIRST.longer)\n"
         "        _join(GangaObject._around_print, PROMPT_TURN.typed)\n", glob=True,
         why="a print keeps the GIL up to 50 ms at a time, and monitoring starts nothing new, from Ganga's hook"),
    _docstring_note("Undone by: remove() restores Ganga's ``accept`` (the ledger).\n",
                    "In this series Ganga's ``GangaObject.accept`` prints without the lock itself, within the\n"
                    "contexts of ``GangaObject._around_print`` (``PROMPT_FIRST.longer`` and ``PROMPT_TURN.typed``\n"
                    "joined there, taken off by remove()).\n",
                    "printing's docstring"),
)


# --- JobTime.py: patches item 25 (a split master's stamps once per submission): Ganga declares a hook --------

_JOB_TIME = "ganga/GangaCore/GPIDev/Lib/Job/JobTime.py"
JOB_TIME_EDITS = (
    Edit(_JOB_TIME, "    sj_statlist = []\n\n    _schema = Schema(\n",
         "    sj_statlist = []\n"
         "    # Hooks (empty in Ganga): callables of a JobTime and a status; one answering True makes\n"
         "    # timenow(status) return at once (e.g. a split master's stamps taken from its subjobs once its\n"
         "    # submission has ended, not after each subjob submitted)\n"
         "    _stamps_wait = []\n\n"
         "    _schema = Schema(\n", why="JobTime._stamps_wait"),
    Edit(_JOB_TIME, "        \"\"\"Updates timestamps as job status changes.\"\"\"\n",
         "        for waits in list(JobTime._stamps_wait):\n"
         "            if waits(self, status):\n"
         "                return\n", Where.AFTER, why="timenow asks JobTime._stamps_wait"),
    _importing_join(", log\nfrom .submissions import", why="master_stamps: _join"),
    Edit(PATCHES_GLOB, "        _wrap(JobTime, \"timenow\", _deferred_in_submission)\n",
         "        _join(JobTime._stamps_wait, stamps_wait)  # Ganga's JobTime.timenow asks it: a hook\n", glob=True,
         why="master_stamps joins Ganga's JobTime._stamps_wait"),
)


# --- Job.py: patches items 2 (Job.status), 4 (peek), 7 (submit, resubmit, updateMasterJobStatus), 9 (force_status)
#     and 17 (getSubJobStatuses): Ganga declares hooks, the component's copies join them -------------------------

_JOB = "ganga/GangaCore/GPIDev/Lib/Job/Job.py"
JOB_HOOK_EDITS = (
    Edit(_JOB, "import copy\nimport glob\n", "import contextlib\nimport copy\nimport functools\nimport glob\n",
         why="contextlib, functools"),
    Edit(_JOB, "class Job(GangaObject):\n",
         "def _within(hooks):\n"
         "    \"\"\"A method of Job run within the context managers made by the factories of the list Job.<hooks>,\n"
         "    each called with the job and the method's arguments (none in Ganga: the method alone)\"\"\"\n"
         "    def decorate(method):\n"
         "        @functools.wraps(method)\n"
         "        def within(self, *args, **kwargs):\n"
         "            factories = getattr(Job, hooks)\n"
         "            if not factories:\n"
         "                return method(self, *args, **kwargs)\n"
         "            with contextlib.ExitStack() as around:\n"
         "                for factory in list(factories):\n"
         "                    around.enter_context(factory(self, *args, **kwargs))\n"
         "                return method(self, *args, **kwargs)\n\n"
         "        return within\n\n"
         "    return decorate\n\n\n",
         Where.BEFORE, why="_within: a method run within the contexts of a list of Job's"),
    Edit(_JOB, "    def getMonitoringService(self):\n",
         "    # Hooks (empty in Ganga) where a monitoring component follows jobs without a scan of the registry:\n"
         "    _status_set = []\n"
         "    # callables of a job whose status was just set, after the setter let the job's lock go\n"
         "    _around_submission = []\n"
         "    # factories of the context managers submit() and resubmit() run within (called with the job\n"
         "    # and the call's arguments): e.g. the job noted as being submitted, left alone meanwhile\n"
         "    _around_force_status = []\n"
         "    # the same for force_status(): e.g. a master forced, then its active subjobs\n"
         "    _around_user_action = []\n"
         "    # the same for peek(), a user's action that wants the job's output now\n"
         "    _master_update_waits = []\n"
         "    # callables of a master: one answering True leaves it as it is in updateMasterJobStatus()\n"
         "    # (e.g. while it is being submitted in another thread)\n\n",
         Where.BEFORE, why="Job's hooks"),
    Edit(_JOB, "        stats = self.getSubJobStatuses()\n\n        # ignore non-split jobs\n",
         "        for waits in list(Job._master_update_waits):\n"
         "            if waits(self):\n"
         "                return\n",
         Where.BEFORE, why="updateMasterJobStatus: Job._master_update_waits"),
    Edit(_JOB, "    def submit(self, keep_going=None, keep_on_fail=None, prepare=False):\n",
         "    @_within('_around_submission')\n", Where.BEFORE, why="submit within Job._around_submission"),
    Edit(_JOB, "    def resubmit(self, backend=None):\n",
         "    @_within('_around_submission')\n", Where.BEFORE, why="resubmit within Job._around_submission"),
    Edit(_JOB, "    def force_status(self, status, force=False):\n",
         "    @_within('_around_force_status')\n", Where.BEFORE, why="force_status within Job._around_force_status"),
    Edit(_JOB, "    def peek(self, filename=\"\", command=\"\"):\n",
         "    @_within('_around_user_action')\n", Where.BEFORE, why="peek within Job._around_user_action"),
    Edit(_JOB, "class JobTemplate(Job):\n",
         "def _status_telling(descriptor):\n"
         "    \"\"\"Job.status: Ganga's descriptor, whose __set__ then calls each of Job._status_set with\n"
         "    the job\"\"\"\n"
         "    class StatusDescriptor(type(descriptor)):\n"
         "        __slots__ = ()\n\n"
         "        def __set__(self, obj, value, *args):\n"
         "            super().__set__(obj, value, *args)\n"
         "            for told in list(Job._status_set):\n"
         "                told(obj)\n\n"
         "    telling = copy.copy(descriptor)\n"
         "    telling.__class__ = StatusDescriptor\n"
         "    return telling\n\n\n"
         "Job.status = _status_telling(Job.__dict__['status'])\n\n\n",
         Where.BEFORE, why="Job.status tells Job._status_set of each change"),
    # our copies: hooks joined, not patches
    _importing_join(", log\n\nStatusListener", why="status_watch: _join"),
    Edit(PATCHES_GLOB, "        if not _is_watch(Job.__dict__[\"status\"]):\n"
                       "            _wrap(Job, \"status\", _watching)\n",
         "        _join(Job._status_set, _tell_listeners)  # Ganga's Job.status calls it: a hook\n", glob=True,
         why="the status watch joins Ganga's Job._status_set"),
    Edit(PATCHES_GLOB, "    return _is_watch(Job.__dict__.get(\"status\"))\n",
         "    return _tell_listeners in Job._status_set\n", glob=True, why="is_watched: joined"),
    _importing_join(", log\n\n_in_submission", why="submissions: _join"),
    Edit(PATCHES_GLOB, "        for name in (\"submit\", \"resubmit\"):\n"
                       "            _wrap(Job, name, _noting_submission)\n"
                       "        _wrap(Job, \"updateMasterJobStatus\", _rolled_up_after_submission)\n",
         "        # Ganga's submit and resubmit run within Job._around_submission, and updateMasterJobStatus asks\n"
         "        # Job._master_update_waits: hooks\n"
         "        _join(Job._around_submission, _noted_in_submission)\n"
         "        _join(Job._master_update_waits, _roll_up_waits)\n", glob=True,
         why="submissions join Ganga's hooks"),
    _importing_join(", log\n\n\ndef force_subjobs_too", why="force_status: _join"),
    Edit(PATCHES_GLOB, "        _wrap(Job, \"force_status\", _forcing_subjobs_too)\n",
         "        _join(Job._around_force_status, _subjobs_forced_after)  # Ganga's force_status enters it: a hook\n",
         glob=True, why="force_status joins Ganga's hook"),
    _importing_join(", log\n\nUserActionListener", why="user_actions: _join"),
    Edit(PATCHES_GLOB, "    from GangaCore.GPIDev.Lib.Job.Job import Job\n"
                       "    from GangaCore.Utility.Plugin import allPlugins\n\n"
                       "    methods: list[tuple[type, str]] = [(Job, \"peek\")]\n",
         "    from GangaCore.Utility.Plugin import allPlugins\n\n"
         "    methods: list[tuple[type, str]] = []  # Job.peek: Ganga's Job._around_user_action (hook_user_actions)\n",
         glob=True, why="user actions: peek is Ganga's hook"),
    Edit(PATCHES_GLOB, "        for cls, name in _user_action_methods():\n",
         "        from GangaCore.GPIDev.Lib.Job.Job import Job\n\n"
         "        _join(Job._around_user_action, _peek_announced)  # Ganga's Job.peek enters it: a hook\n",
         Where.BEFORE, glob=True, why="user actions join Ganga's peek hook"),
)
SUBJOB_STATUS_EDITS = (
    Edit(_JOB, "    def getSubJobStatuses(self):\n",
         "    _subjob_statuses = []\n"
         "    # callables of a master -> the set of its subjobs' statuses, or None where they do not know\n"
         "    # (e.g. the monitoring component's counts, kept as subjobs change status)\n\n",
         Where.BEFORE, why="Job._subjob_statuses"),
    Edit(_JOB, "        This returns a set of all of the different subjob statuses whilst respecting lazy loading\n"
               "        \"\"\"\n\n",
         "        for statuses_of in list(Job._subjob_statuses):\n"
         "            # the first that knows: counts kept as subjobs change status, instead of reading every subjob\n"
         "            # after every change of one of them (updateMasterJobStatus), O(N^2) in a split job's life\n"
         "            stats = statuses_of(self)\n"
         "            if stats is not None:\n"
         "                return stats\n\n",
         Where.AFTER, why="getSubJobStatuses: the first answer of Job._subjob_statuses"),
    _importing_join(", log\nfrom .shared import SUBJOB_STATUSES\n", why="subjob_statuses: _join"),
    Edit(PATCHES_GLOB, "        if not getattr(vars(Job)[\"getSubJobStatuses\"], \"__gm_wrapped__\", False):\n",
         "        if _counted not in Job._subjob_statuses:\n", glob=True, why="subjob_statuses: joined"),
    Edit(PATCHES_GLOB, "        _wrap(Job, \"getSubJobStatuses\", _counted_statuses)\n",
         "        _join(Job._subjob_statuses, _counted)  # Ganga's getSubJobStatuses asks it first: a hook\n",
         glob=True, why="subjob_statuses joins Ganga's hook"),
)


# --- JobRegistry.py: patches items 15 (JobRegistrySlice.__init__) and 20 (JobRegistrySlice._display, __str__) ---

_JOB_REGISTRY = "ganga/GangaCore/GPIDev/Lib/Registry/JobRegistry.py"
_SLICE_PROXY_IMPORT = "from .RegistrySliceProxy import RegistrySliceProxy, _unwrap, _wrap\n"
SLICE_EDITS = (
    Edit(_JOB_REGISTRY, _SLICE_PROXY_IMPORT, f"from {TARGET}.views.display import SliceTemplates\n", Where.AFTER,
         why="the templates of job slices (views/display.py)"),
    Edit(_JOB_REGISTRY,
         "    def __init__(self, name):\n"
         "        super(JobRegistrySlice, self).__init__(name, display_prefix=\"jobs\")\n",
         "    # a slice's display settings, per value of the [Display] options they come from (two of them\n"
         "    # eval'ed): the registry makes a slice for every index entry it computes (getIndexCache), so\n"
         "    # for every subjob of every flushed master, and the evals were half of an entry's cost\n"
         "    _templates = SliceTemplates(lambda option: config[option])\n\n"
         "    def __init__(self, name):\n"
         "        \"\"\"A slice named name, its display settings copied from the template of the [Display]\n"
         "        options' current values (made by _construct when there is none yet)\"\"\"\n"
         "        JobRegistrySlice._templates.init(JobRegistrySlice._construct, self, name)\n\n"
         "    def _construct(self, name):\n"
         "        \"\"\"__init__ reading and evaluating the [Display] options\"\"\"\n"
         "        super(JobRegistrySlice, self).__init__(name, display_prefix=\"jobs\")\n",
         why="JobRegistrySlice.__init__ copies a template of the [Display] options' values"),
    Edit(PATCHES_GLOB,
         "        if getattr(vars(JobRegistrySlice)[\"__init__\"], \"__gm_wrapped__\", False):\n"
         "            return\n"
         "        SLICE_TEMPLATES = _templates_of_display()\n",
         "        SLICE_TEMPLATES = JobRegistrySlice._templates  # Ganga's own: their counters\n", glob=True,
         why="slices installs nothing: SLICE_TEMPLATES are Ganga's"),
    _docstring_note("Undone by: remove() restores Ganga's ``__init__`` (the ledger);\n"
                    ":data:`SLICE_TEMPLATES` stays as the last install left it (its counters).\n",
                    "In this series Ganga's ``JobRegistrySlice.__init__`` copies the templates itself\n"
                    "(``JobRegistrySlice._templates``, this package's ``views/display.py``): nothing is installed.\n",
                    "slices' docstring"),
)
_TABLES_SHARED = "from .shared import PROMPT_FIRST, PROMPT_TURN, SUBJOB_STATUSES\n"
TABLE_EDITS = (
    Edit(_JOB_REGISTRY, _SLICE_PROXY_IMPORT, f"from {TARGET}.views.job_tables import render as render_job_table\n",
         Where.AFTER, why="the job table read once per row (views/job_tables.py)"),
    Edit(_JOB_REGISTRY, "    def _getColour(self, obj):\n",
         "    _around_display = []\n"
         "    # Factories of the context managers a job table (_display, str) is made within; e.g. the\n"
         "    # monitoring component keeps the GIL longer there and starts no new work meanwhile\n"
         "    _subjob_counts = []\n"
         "    # Callables of a split job -> how many of its subjobs have each status (a Counter), or None\n"
         "    # where they do not know: the first answer is the table's 'subjob status' (the monitoring\n"
         "    # component counts them as statuses change); without one, the column function runs\n"
         "    _render_failed = False\n\n"
         "    def _display(self, interactive=0):\n"
         "        \"\"\"RegistrySlice's table of these jobs, each row read once from what is in memory: no\n"
         "        job's lock taken, no index entry computed per cell (views/job_tables.py); RegistrySlice's\n"
         "        own where that cannot be made\"\"\"\n"
         "        from contextlib import ExitStack\n"
         "        try:\n"
         "            with ExitStack() as around:\n"
         "                for context in list(JobRegistrySlice._around_display):\n"
         "                    around.enter_context(context())\n"
         "                text = render_job_table(self, interactive, JobRegistrySlice._counted_statuses,\n"
         "                                        config['jobs_columns_functions'])\n"
         "        except Exception as err:\n"
         "            if not JobRegistrySlice._render_failed:\n"
         "                JobRegistrySlice._render_failed = True  # said once a session\n"
         "                logger.exception(\"a job table could not be read once per row: %s\", err)\n"
         "            text = None\n"
         "        return super(JobRegistrySlice, self)._display(interactive) if text is None else text\n\n"
         "    __str__ = _display\n\n"
         "    @staticmethod\n"
         "    def _counted_statuses(job):\n"
         "        for counts_of in list(JobRegistrySlice._subjob_counts):\n"
         "            counts = counts_of(job)\n"
         "            if counts is not None:\n"
         "                return counts\n"
         "        return None\n\n",
         Where.BEFORE, why="JobRegistrySlice's tables read once per row, within _around_display"),
    _importing_join(", log\n" + _TABLES_SHARED, why="job_tables joins Ganga's hooks"),
    Edit(PATCHES_GLOB,
         "        _wrap(JobRegistrySlice, \"_display\", _rendered_once, shadowed=RegistrySlice._display)\n",
         "        # Ganga's JobRegistrySlice renders its tables itself, within _around_display and with the\n"
         "        # counts of _subjob_counts: hooks, not patches\n"
         "        _join(JobRegistrySlice._around_display, PROMPT_FIRST.longer)\n"
         "        _join(JobRegistrySlice._around_display, PROMPT_TURN.typed)\n"
         "        _join(JobRegistrySlice._subjob_counts, counts_of)\n",
         Where.BEFORE, glob=True, why="the tables keep the GIL and the prompt's turn, and count, from Ganga's hooks"),
    Edit(PATCHES_GLOB, "    if not getattr(vars(Job).get(\"getSubJobStatuses\"), \"__gm_wrapped__\", False):\n",
         "    if not Job._subjob_statuses:  # item 17 answers there (subjob_statuses_counted)\n", glob=True,
         why="counts_of: item 17 is Ganga's hook"),
    Edit(PATCHES_GLOB,
         "_failed_once: list[bool] = []\n"
         "\"\"\"Non-empty once a render failed (logged once; Ganga's own table is shown).\"\"\"\n\n\n",
         "\n", glob=True, why="Ganga's table says a failed render itself"),
    _docstring_note("Undone by: remove() deletes the two names from ``JobRegistrySlice`` again\n"
                    "(they are ``RegistrySlice``'s, inherited; the ledger).\n",
                    "In this series Ganga's ``JobRegistrySlice._display`` renders through ``views/job_tables.py``\n"
                    "itself, within the contexts of ``JobRegistrySlice._around_display`` (``PROMPT_FIRST.longer``,\n"
                    "``PROMPT_TURN.typed``) and with the answers of ``_subjob_counts`` (:func:`counts_of`), all\n"
                    "joined there and taken off by remove().\n",
                    "job_tables' docstring"),
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
)

# --- the independent fixes: real edits of Ganga's files, a short series of their own -------------------

_TRACER = "ganga/GangaCore/Utility/stacktracer.py"
_PYGMENTS = ("try:\n"
             "    from pygments import highlight\n"
             "    from pygments.formatters.html import HtmlFormatter\n"
             "    from pygments.lexers.python import Python3TracebackLexer\n\n"
             "    def highlight_trace(string):\n"
             "        return highlight(string, Python3TracebackLexer(), HtmlFormatter(noclasses=True))\n"
             "except ImportError:\n"
             "    def highlight_trace(string):\n"
             "        return '<pre>' + string + '</pre>'\n")
FRAMES_EDITS = (
    Edit(_TRACER, "import os\nimport sys\nimport threading\n", "import gc\n", Where.BEFORE, why="gc"),
    Edit(_TRACER, "def stacktraces():\n",
         "_frames_lock = threading.Lock()\n\n\n"
         "def _current_frames():\n"
         "    # type: () -> dict\n"
         '    """sys._current_frames(), with the garbage collector off and one caller at a time.\n\n'
         "    Before CPython 3.12 a collection that starts inside sys._current_frames() can deadlock\n"
         "    the whole process (CPython gh-106883: the call holds the thread-list lock a finalizer\n"
         "    may need); this tracer calls it every few seconds in every session. The collector is\n"
         "    switched back on only if it was on, and callers are serialised so that one switching it\n"
         '    back on cannot fall inside another\'s call. 3.12 fixed it the same way.\n    """\n'
         "    if sys.version_info >= (3, 12):\n"
         "        return sys._current_frames()\n"
         "    with _frames_lock:\n"
         "        was_enabled = gc.isenabled()\n"
         "        gc.disable()\n"
         "        try:\n"
         "            return sys._current_frames()\n"
         "        finally:\n"
         "            if was_enabled:\n"
         "                gc.enable()\n\n\n",
         Where.BEFORE, why="_current_frames(): sys._current_frames with the collector off (CPython < 3.12)"),
    Edit(_TRACER, "    for thread_id, stack in sys._current_frames().items():\n",
         "    for thread_id, stack in _current_frames().items():\n", why="the tracer's one call"),
)
STACK_TRACE_EDITS = (
    Edit(_TRACER, _PYGMENTS,
         "from html import escape as _escape_html\n\n\n"
         "def highlight_trace(string):\n"
         "    # plain escaped text: pygments' traceback lexer took ~2.5 ms of the GIL per thread, every\n"
         "    # 5 s, in a session of ~25 threads ~60 ms (2-3 % of the GIL in a 3,000-subjob burst)\n"
         "    return '<pre>' + _escape_html(string) + '</pre>'\n",
         why="highlight_trace writes the stack as plain escaped text"),
)
_LOGGING = "ganga/GangaCore/Utility/logging/__init__.py"
LOGGER_EDITS = (
    Edit(_LOGGING,
         "def getLogger(name=None, modulename=None):\n"
         '    """ get a logger depending on if the modulename is 1/0 and if the name of the logger is provided.\n'
         '    See _getLogger for more details"""\n'
         "    return _getLogger(name, modulename)\n",
         "_unnamed_loggers = {}\n"
         "# (caller's file, modulename) -> the logger getLogger() found for it without a name\n\n\n"
         "def getLogger(name=None, modulename=None):\n"
         '    """ get a logger depending on if the modulename is 1/0 and if the name of the logger is provided.\n'
         "    See _getLogger for more details. A logger asked for without a name is found once per calling\n"
         "    file and modulename (guessing the name costs a realpath of the file and of every sys.path\n"
         "    entry: ~7 ms a call under monitoring load, and CompositeMonitoringService makes this call\n"
         '    for every status change of every job)"""\n'
         "    if name is None:\n"
         "        caller_file = sys._getframe(1).f_globals.get('__file__')\n"
         "        if isinstance(caller_file, str):\n"
         "            key = (caller_file, modulename)\n"
         "            logger = _unnamed_loggers.get(key)\n"
         "            if logger is None:\n"
         "                # called from here, _getLogger's name guesser finds the caller three frames up\n"
         "                logger = _unnamed_loggers[key] = _getLogger(name, modulename)\n"
         "            return logger\n"
         "    return _getLogger(name, modulename)\n",
         why="getLogger() without a name: found once per calling file"),
)

INDEPENDENT_TESTS = f"{TEMPLATES}/Unit"
REPOSITORY_TESTS = f"{TEMPLATES}/Unit/Repository"

# --- what the main series leaves out of its copy of the package's patches -------------------------------

_REGISTRY = f"{TARGET_DIR}/patches/__init__.py"
_INDEPENDENT_PATCH_MODULES = ("patches/frames_guard.py", "patches/logger_names.py",
                              "patches/stack_traces.py")
_NOT_PATCHES = ("items 6, 10, 12 are edits of Ganga (the independent series), item 14 of VStreamer, item 3 of "
                "startUpQueues, item 1 of bootstrap, item 24 of Registry and GangaRepositoryXML")
REGISTRY_EDITS = tuple(
    Edit(_REGISTRY, anchor, text, why=_NOT_PATCHES if number == 0 else "") for number, (anchor, text) in enumerate((
        ("from .frames_guard import guard_current_frames, unguard_current_frames\n", ""),
        ("from .logger_names import cached_logger_names\n", ""),
        ("from .stack_traces import plain_stack_traces\n", ""),
        ("from .queue_monitor import swap_queues\n", ""),
        (' "cached_logger_names",', ""), (' "guard_current_frames",', ""), (' "plain_stack_traces",', ""),
        (' "unguard_current_frames",', ""),
        ("        swap_queues()\n", ""),
        ("from .component_swap import is_swapped, swap_component\n", "from ..integration import current\n"),
        ("        swap_component(component_class)\n",
         "        current.set_component_class(component_class)  # bootstrap builds it: no class of Ganga's swapped\n"),
        ("    return is_swapped()\n",
         "    with ledger._lock:\n        return ledger.has_entry(\"status\")  # the status watch\n"),
        ("    guard_current_frames()\n", ""), ("    unguard_current_frames()\n", ""),
        ("from .batch_wrapper import wrapper_ends_with_program\n", ""), (' "wrapper_ends_with_program",', ""),
        ("        wrapper_ends_with_program()\n", ""),
        ("from .xml_saves import fast_xml_saves, forget_writers\n", ""), (' "fast_xml_saves",', ""),
        ("        forget_writers()\n", ""),
        ("from .single_loads import loads_once\n", ""), (' "loads_once",', ""),
        ("24. ``single_loads``: a job is loaded from disk once, however many threads ask for it at once.\n", ""),
    ))) + (
    Edit(f"{TARGET_DIR}/integration/component.py", "        patches.cached_logger_names()\n", "",
         why="component start: no logger-name or stack-trace patch to install"),
    Edit(f"{TARGET_DIR}/integration/component.py", "        patches.plain_stack_traces()\n", ""),
    Edit(f"{TARGET_DIR}/integration/component.py", "        patches.loads_once()\n", "",
         why="component start: Ganga's Registry._load and _parse_xml load a job once themselves"),
    Edit(f"{TARGET_DIR}/integration/component.py", "        patches.fast_xml_saves()\n", "",
         why="component start: Ganga's VStreamer writes joined strings itself"),
    Edit(f"{TARGET_DIR}/{ROOT_MODULE}",
         "            patches.guard_current_frames()  # stock monitoring, but no CPython deadlock (patches, item 6)\n",
         "            pass  # Ganga's stack tracer guards sys._current_frames itself\n"),
)

LEFT_OUT = ("simulator/*", "testing/*", "backends/*", "drivers/simgrid.py", "demo.py", "cli.py", "gangarc.py",
            "_arguments.py", "embedded.py", "BOOT.py", "py.typed", "patches/queue_monitor.py",
            "patches/component_swap.py", "patches/batch_wrapper.py", "patches/xml_saves.py",
            "repository/xml_writer.py", "patches/single_loads.py",
            *_INDEPENDENT_PATCH_MODULES)
"""Files of our package no commit places: the grid simulator, fake DIRAC, SimGrid backend and driver,
demo and command line (test and demo tooling: they stay in GangaMonitoring, or go to GangaTest in a
later series), the runtime package's GPI exports, and the load-time patches the series makes edits (the queues, the
component class: bootstrap builds it, so Ganga's own AsyncMonitoringService is not swapped)."""

LEFT_OUT_TESTS = ("test_purity.py", "test_frames_guard.py", "frames_stress_child.py")
"""Of tests/core: test_purity (a package inside GangaCore cannot import nothing of Ganga), the frames
guard's (it tests the patch module; the independent series' test tests the edit)."""


def _ours(*include: str, tests: tuple[str, ...] = ()) -> tuple[Placement, ...]:
    placements: tuple[Placement, ...] = (Placement(PACKAGE_SOURCE, TARGET_DIR, include=include),)
    if tests:
        placements += (Placement("tests/core", UNIT_TESTS, include=tests),)
    return placements


def _patch(*names: str) -> tuple[str, ...]:
    return tuple(f"patches/{n}.py" for n in names)


SHARED_AGAIN = Placement(PACKAGE_SOURCE, TARGET_DIR, include=("patches/shared.py",), again=True)
"""``patches/shared.py`` whole again, once the commit brings what more of it needs (``not_yet`` left it out)."""

INDEPENDENT: tuple[Step, ...] = (
    Step("frames-guard", "stacktracer: sys._current_frames with the garbage collector off before CPython 3.12",
         "Ganga's stack tracer (a thread of every session) calls sys._current_frames() every 5 s. On\n"
         "CPython before 3.12 a collection starting inside that call can deadlock the process\n"
         "(gh-106883); seen twice in a 5,000-job benchmark: every thread waiting for the GIL, the\n"
         "tracer inside gc_collect_main under _PyThread_CurrentFrames.",
         edits=FRAMES_EDITS, placements=(Placement(INDEPENDENT_TESTS, "ganga/GangaCore/test/Unit/Utility",
                                                   include=("TestStackTracer.py",), rewrite=False),),
         imports=("GangaCore.Utility.stacktracer",)),
    Step("stack-traces", "stacktracer: the stacks as plain escaped text, not pygments' colours",
         "thread_trace.html is rewritten every 5 s with every thread's stack; colouring each with\n"
         "pygments' traceback lexer cost ~2.5 ms of the GIL per thread (~0.2 ms plain), ~60 ms every\n"
         "5 s in a session of 25 threads. The file shows the same text, escaped (the fallback without\n"
         "pygments did not escape it).",
         edits=STACK_TRACE_EDITS, placements=(Placement(INDEPENDENT_TESTS, "ganga/GangaCore/test/Unit/Utility",
                                                        include=("TestStackTracerPlain.py",), rewrite=False),)),
    Step("logger-names", "logging: getLogger() without a name found once per calling file",
         "getLogger() with no name guesses one from the caller's file: a realpath of it and of every\n"
         "sys.path entry, a dozen lstat calls, each releasing the GIL, and _getLogger's own cache is\n"
         "skipped for exactly this call. CompositeMonitoringService.__init__ makes it for every status\n"
         "change of every job: ~7 ms each in a 3,000-subjob burst.",
         edits=LOGGER_EDITS, placements=(Placement(INDEPENDENT_TESTS, "ganga/GangaCore/test/Unit/Utility",
                                                   include=("TestUnnamedLoggers.py",), rewrite=False),),
         imports=("GangaCore.Utility.logging",)),
)
"""The independent fixes: their own short series (branch ``<branch>-independent``), first on the base."""

MAIN: tuple[Step, ...] = (
    Step("hooks", "Job, JobTime: hooks for a monitoring component (status set, submission, force_status, peek, "
                  "roll-up, stamps)",
         "The hooks the scheduled monitoring component needs in Ganga's classes, as real edits of Job.py\n"
         "(empty lists in Ganga, which the component joins): Job.status calls Job._status_set after each\n"
         "change; submit and resubmit run within Job._around_submission (the component notes a job under\n"
         "submission and leaves it alone), force_status within Job._around_force_status (a forced master\n"
         "forces its active subjobs too), peek within Job._around_user_action (its job's monitoring goes\n"
         "first); updateMasterJobStatus leaves a master as it is when one of Job._master_update_waits says\n"
         "so (a roll-up by another thread during its submission). JobTime.timenow returns at once when one\n"
         "of JobTime._stamps_wait says so: a split master's stamps are taken from its subjobs once its\n"
         "submission has ended, not after each subjob GangaDirac submitted (O(N^2 x statuses): 80 % of the\n"
         "GIL of a 1,000-subjob Dirac submit()). Unit/TestJobHooks, TestJobTimeHooks. The ledger records\n"
         "every patch and hook so that it is undone when the component stops; the backends' getOutput*\n"
         "methods are still load-time patches (patches/user_actions.py).",
         placements=_ours(*_patch("ledger", "status_watch", "submissions", "force_status", "user_actions",
                                  "master_stamps")) + (
             Placement(f"{TEMPLATES}/Unit/Base", "ganga/GangaCore/test/Unit", rewrite=False,
                       include=("TestJobHooks.py", "TestJobTimeHooks.py")),),
         edits=JOB_HOOK_EDITS + JOB_TIME_EDITS,
         fixups=(dropping("patches/status_watch.py", ("_watching", "_is_watch"), "hooks"),
                 dropping("patches/submissions.py", ("_noting_submission", "_rolled_up_after_submission"), "hooks"),
                 dropping("patches/force_status.py", ("_forcing_subjobs_too",), "hooks"),
                 dropping("patches/master_stamps.py", ("_deferred_in_submission",), "hooks")),
         imports=tuple(f"{TARGET}.patches.{n}" for n in ("status_watch", "submissions", "force_status",
                                                         "user_actions", "master_stamps"))
         + ("GangaCore.GPIDev.Lib.Job.Job", "GangaCore.GPIDev.Lib.Job.JobTime")),
    Step("lock-free", "Descriptor: reads of loaded values without the flusher's lock",
         "A read of a loaded attribute of a job no longer waits for the lock the registry flusher holds\n"
         "while it writes that job (seen: `jobs` and monitoring waiting seconds behind a flush of a\n"
         "3,000-subjob master). A real edit of synchronised_get_descriptor: its fast path is\n"
         "GangaMonitoring's patches/lock_free.py's, read by ast (Unit/TestLockFreeReads). A value only a\n"
         "load gives (j.backend of a job not loaded) is loaded before the job's lock is taken: Ganga loaded\n"
         "it under that lock, and a load in another thread needs the lock to attach each component: a\n"
         "deadlock. GangaRepositoryLocal._parse_xml no longer sets a split job's subjobs to the empty default\n"
         "before the list of its subjobs on disk (a reader saw a split job with no subjobs). Registry._load\n"
         "asks again whether the job is loaded once it holds the registry's locks: two readers of a job not\n"
         "loaded (the prompt, a monitoring thread) loaded it twice, the second load over the object the first\n"
         "had handed out. Real edits; Unit/TestJobLoads forces each (a second load, a reader holding the\n"
         "job's lock while it waits for the loader's, a job without subjobs), with events.",
         placements=_ours(*_patch("lock_free")) + (
             Placement(f"{TEMPLATES}/Unit/Base", "ganga/GangaCore/test/Unit", rewrite=False,
                       include=("TestLockFreeReads.py", "TestJobLoads.py")),),
         edits=LOCK_FREE_COPY_EDITS + PARSE_XML_EDITS + SINGLE_LOAD_EDITS,
         fixups=(lock_free_reads, dropping("patches/lock_free.py", ("_reading_without_lock",), "lock-free")),
         imports=(f"{TARGET}.patches.lock_free", "GangaCore.GPIDev.Base.Objects",
                  "GangaCore.Core.GangaRepository.Registry")),
    Step("bounded-holds", "Registry.flush_all: a master's lock let go between subjob saves",
         "The registry flusher holds a master's lock only while it saves one subjob, not for the whole\n"
         "split job, so monitoring and the prompt get the job between saves.\n\n"
         "Registry, a real edit: flush_all runs within the contexts of Registry._around_flush_all (empty in\n"
         "Ganga), and Registry.flush_holds() is the lock of the job its _flush holds (None elsewhere), which a\n"
         "hook may release once and take back: the flusher says what it holds, no hold count read from the\n"
         "lock. GangaRepositoryXML, a real edit: safe_save calls the callables of\n"
         "safe_save.before_subjob_save (empty in Ganga) with a subjob about to be saved, before its file\n"
         "lock. The component joins both (at start, taken off at stop: no function of Ganga's replaced):\n"
         "within its bounded flush, a master's lock held 5 ms is let go for a moment before the next save\n"
         "(Unit/Repository/TestFlushHolds: a writer of a subjob gets in between two saves; a lock the caller\n"
         "of flush_all holds too stays held).",
         placements=_ours("core/__init__.py", "core/weak.py", "repository/__init__.py", "repository/flush.py",
                          *_patch("shared", "bounded_holds"),
                          tests=("__init__.py", "test_held_lock.py")) + (
             Placement(REPOSITORY_TESTS, "ganga/GangaCore/test/Unit/Repository", rewrite=False,
                       include=("__init__.py", "TestSafeSaveHooks.py", "TestFlushHolds.py")),),
         edits=SAFE_SAVE_HOOK_EDITS + BOUNDED_HOLD_EDITS,
         fixups=(not_yet("patches/shared.py", ("SUBJOB_STATUSES", "PROMPT_FIRST", "PROMPT_TURN"),
                         "the commits 'subjob-statuses' and 'job-tables'"),
                 dropping("patches/bounded_holds.py", ("_bounding_holds", "_held_once"), "bounded-holds"),
                 dropping("repository/flush.py", ("hold_count",), "bounded-holds")),
         imports=(f"{TARGET}.patches.bounded_holds", "GangaCore.Core.GangaRepository.GangaRepositoryXML",
                  "GangaCore.Core.GangaRepository.Registry")),
    Step("xml-writer", "VStreamer: the XML writer writes the same bytes from strings joined once",
         "to_file builds a job's XML as a list of strings joined once (JoinedStreamer, a VStreamer)\n"
         "instead of VStreamer's print calls into a StringIO, a few hundred per subjob and about a third\n"
         "of a save's time, all of it holding the GIL in the flusher's thread: about 30 % less time per\n"
         "save (docs/architecture.md). The bytes written are the same (Unit/Repository/TestXMLWriter\n"
         "compares them with _raw_to_file's, kept). A real edit.",
         placements=(Placement(REPOSITORY_TESTS, "ganga/GangaCore/test/Unit/Repository", rewrite=False,
                               include=("__init__.py", "TestXMLWriter.py")),),
         fixups=(joined_xml_writer,), imports=("GangaCore.Core.GangaRepository.VStreamer",)),
    Step("slices", "JobRegistrySlice: slices made from templates of the [Display] options",
         "A job slice (jobs, jobs.select(...)) copies the display settings it reads from [Display] from\n"
         "a template made once per value of those options instead of reading them, and eval'ing two, per\n"
         "slice: the registry makes a slice for every index entry it computes (getIndexCache), so for every\n"
         "subjob of every flushed master, and the evals were half of an entry's cost (6 % of the GIL in a\n"
         "compatibility-path burst). A real edit of JobRegistrySlice.__init__ (the templates: views/display.py);\n"
         "a changed option makes a new template (Unit/TestSliceTemplates).",
         placements=_ours("views/__init__.py", "views/display.py", *_patch("slices")) + (
             Placement(f"{TEMPLATES}/Unit/Base", "ganga/GangaCore/test/Unit", rewrite=False,
                       include=("TestSliceTemplates.py",)),),
         edits=SLICE_EDITS,
         fixups=(dropping("patches/slices.py", ("_templates_of_display", "_made_from_templates"), "slices"),),
         imports=(f"{TARGET}.patches.slices", "GangaCore.GPIDev.Lib.Registry.JobRegistry")),
    Step("master-work", "GangaRepositoryXML, SubJobXMLList: a split master's own work once per flush",
         "A flush of a split master computes the master's index entries, reads its subjob index and\n"
         "counts its subjobs once, not once per subjob saved. SubJobXMLList, as real edits: a master\n"
         "loaded from disk counts its subjob directories once (appendJobs forgets the count), not at\n"
         "every flush (each moves the directory's ctime, and the flush's clean-up loop asks for the count\n"
         "once per directory entry); the temporary list through which a master made in this session is\n"
         "flushed no longer reads and unpickles the subjobs.idx it never uses. One flush with one change\n"
         "at 10,000 subjobs, the whole change: 284 -> 147 ms (docs/repository.md, stock 2.4 s).\n"
         "GangaRepositoryLocal.flush, a real edit: a job's index entry is computed once per flush (by the\n"
         "index_write that ends _safe_flush_xml, under the job's lock), not three times, each a walk of\n"
         "every subjob's status (Unit/Repository/TestRepositoryFlush: 3 -> 1 getIndexCache per flush).",
         placements=_ours(*_patch("master_work")) + (
             Placement(REPOSITORY_TESTS, "ganga/GangaCore/test/Unit/Repository", rewrite=False,
                       include=("__init__.py", "TestSubJobXMLList.py", "TestRepositoryFlush.py")),),
         edits=MASTER_WORK_EDITS + ROOT_ENTRY_EDITS,
         fixups=(dropping("patches/master_work.py", ("_noting_unread_index", "_reading_index_when_used",
                                                            "_counting_once", "_forgetting_count", "_entries_once"),
                          "master-work"),),
         imports=(f"{TARGET}.patches.master_work", "GangaCore.Core.GangaRepository.SubJobXMLList")),
    Step("subjob-statuses", "Job: a master's subjob statuses answered from counts",
         "getSubJobStatuses of a master is answered from counts kept as subjobs change status, not by\n"
         "loading and reading every subjob: a real edit of Job.py, getSubJobStatuses returns the first\n"
         "answer of Job._subjob_statuses (empty in Ganga; the component joins its counts,\n"
         "repository/rollup.py, kept by a Job._status_set hook). Unit/TestSubJobStatusHooks.",
         placements=_ours("repository/rollup.py", *_patch("subjob_statuses")) + (SHARED_AGAIN,) + (
             Placement(f"{TEMPLATES}/Unit/Base", "ganga/GangaCore/test/Unit", rewrite=False,
                       include=("TestSubJobStatusHooks.py",)),),
         edits=SUBJOB_STATUS_EDITS,
         fixups=(not_yet("patches/shared.py", ("PROMPT_FIRST", "PROMPT_TURN"), "the commit 'job-tables'"),
                 dropping("patches/subjob_statuses.py", ("_counted_statuses",), "subjob-statuses")),
         imports=(f"{TARGET}.patches.subjob_statuses",)),
    Step("subjobs-index", "SubJobXMLList: subjobs.idx written whole or not at all",
         "The index of a split job's subjobs is written under a temp name and renamed over the old one:\n"
         "a flush killed or failing half-way through the write no longer leaves a truncated index\n"
         "(which Ganga then cannot read back). A real edit.",
         edits=(REPOSITORY_EDITS[1],), imports=("GangaCore.Core.GangaRepository.SubJobXMLList",)),
    Step("saved-flags", "SubJobXMLList.flush: a subjob it saved is no longer dirty",
         "flush saves each dirty subjob but left its flag set: a master loaded from disk kept it, and\n"
         "each flush rewrote every subjob changed since the session began. A real edit.",
         edits=(REPOSITORY_EDITS[0],)),
    Step("flush-costs", "SubJobXMLList: a flush of a split job costs what changed",
         "SubJobXMLList keeps on each subjob in memory the subjobs.idx entry it wrote for it, and writes\n"
         "it again while the subjob's data file is the file it was written for (device, inode, ctime in ns,\n"
         "size: a save renames a new file over the old), instead of computing every entry at each flush\n"
         "(~0.3 ms each: 3 s of GIL at 10,000 subjobs for a few dozen changed); also for a master made in\n"
         "this session, flushed through a new temporary list each time. flush saves again, until none is,\n"
         "the subjobs dirty again when it is about to write the index (changed while a flush let the\n"
         "master's lock go between saves, which the monitoring component's flusher does), so the index is\n"
         "computed from saved values only. Ganga alone, a master of 2,000 subjobs made in the session, one\n"
         "subjob changed: a flush computes 4 index entries instead of 2,003 (median of 5 flushes 330 vs\n"
         "2,819 ms, on 2 cores shared at load 17-35; docs/upstream-patch.md). The index is not written\n"
         "again when every entry is the one written last time and the file on disk is that write's (a\n"
         "flush of a master whose own values alone changed rewrote it whole), and a master's own entry\n"
         "reads its loaded subjobs' kept entries instead of computing each (getAllCachedData). At the\n"
         "series' tip, Ganga alone, 1,000 subjobs, a flush after the master's comment changed: 13 ms of\n"
         "CPU (stock 188) for a master made in the session, 25 ms (stock 663) for one loaded from disk\n"
         "with its subjobs in memory (benchmarks/flush_cost.py --tree, docs/repository.md). Real edits.\n\n"
         "The copy of our load-time patch module (patches/flush_costs.py) installs nothing: its\n"
         "wrappers of SubJobXMLList, safe_save (the bounded holds' yield is Ganga's safe_save hook since\n"
         "that commit) and JobRegistry.getIndexCache (its memo and the master's entry once per flush\n"
         "served only the wrappers gone), and bounded holds' Node._setDirty note, are gone.",
         placements=_ours(*_patch("flush_costs"), tests=("test_index_memo.py",)) + (
             Placement(REPOSITORY_TESTS, "ganga/GangaCore/test/Unit/Repository", rewrite=False,
                       include=("TestSubJobXMLListFlush.py",)),),
         edits=FLUSH_COST_EDITS,
         fixups=(dropping("patches/flush_costs.py", ("_writing_index", "_remembering_stats",
                                                            "_index_written_whole", "_clearing_saved_flags"),
                          "flush-costs"),
                 dropping("patches/flush_costs.py", ("_forgetting_saved",), "bounded-holds', 'xml-writer"),
                 dropping("patches/flush_costs.py", ("_remembering_entries",), "master-work"),
                 dropping("patches/bounded_holds.py", ("_saving_noted", "_noting_changes"), "flush-costs")),
         imports=(f"{TARGET}.patches.flush_costs", f"{TARGET}.patches.bounded_holds")),
    Step("batch-wrapper", "Batch: the job wrapper ends with its program, not a heartbeat later",
         "The wrapper LSF, PBS, SGE and Slurm run polled its program, then slept heartbeat_frequency\n"
         "(30 s by default): a batch job ended, and held its slot, up to 30 s after its program. It now\n"
         "waits on the program with the heartbeat as the timeout, still touching the heartbeat file each\n"
         "time. On a one-node Slurm, 40 jobs of `sleep 1`: program end -> Slurm job end p50 29.1 s -> 0.2 s,\n"
         "28.8 slot-seconds saved per job. A real edit.",
         edits=BATCH_WRAPPER_EDITS),
    Step("work-model", "MonitoringComponent: work items, the index of jobs, retries and breakers",
         "The pure core of the scheduled monitoring component, part one (no threads, no Ganga): work\n"
         "items and their priorities, the clock, the index of active jobs, recent counts and poll\n"
         "records, what went wrong (bugs, trouble), retry with backoff and circuit breakers; with their\n"
         "tests in Unit/Monitoring.",
         placements=_ours("core/work.py", "core/clock.py", "core/recent.py", "core/poll_record.py",
                          "core/bugs.py", "core/trouble.py", "core/index.py", "core/retry.py",
                          "core/breaker.py",
                          tests=("test_index.py", "test_operation.py", "test_poll_record.py")),
         imports=(f"{TARGET}.core.breaker", f"{TARGET}.core.index")),
    Step("scheduler", "MonitoringComponent: the planner and the scheduler",
         "The pure core, part two: the poll planner, adaptive concurrency limits, draining at stop, and\n"
         "the scheduler that orders work by priority within the limits and breakers; with their tests.",
         placements=_ours("core/adaptive.py", "core/planner.py", "core/draining.py", "core/scheduler.py",
                          tests=("test_adaptive.py", "test_breaker.py", "test_draining.py", "test_planner.py",
                                 "test_recent.py", "test_retry.py", "test_scheduler.py")),
         imports=(f"{TARGET}.core.scheduler",)),
    Step("runner", "MonitoringComponent: the runner, worker pools and fan-out",
         "The threaded part: the runner that executes the scheduler's plan, worker thread and process\n"
         "pools (the fork server imports ganga first), isolation of a backend's calls, the fan-out of\n"
         "updates; with their tests.",
         placements=_ours("runtime/__init__.py", "runtime/runner.py", "runtime/pools.py", "runtime/fanout.py",
                          "runtime/daemon_pool.py", "runtime/isolate.py", "runtime/worker_boot.py", "runtime/gil.py",
                          tests=("test_daemon_pool.py", "test_isolate.py", "test_fanout.py",
                                 "clean_worker_child.py", "test_gil.py")),
         edits=PRELOAD_EDITS, imports=(f"{TARGET}.runtime.runner", f"{TARGET}.runtime.fanout")),
    Step("options", "MonitoringComponent: its options ([Monitoring], [SimGrid], [PollThread] rates)",
         "config.py: the one table of the component's options, their types and how they are read, and\n"
         "the prompt's notices it uses to say an option was refused. Nothing declares them yet.",
         placements=_ours("config.py", "views/prompt.py"), imports=(f"{TARGET}.config",)),
    Step("drivers", "MonitoringComponent: drivers (Ganga's own update, Local, Slurm, Batch, Dirac)",
         "The driver interface, the compatibility driver that serves every backend through Ganga's own\n"
         "updateMonitoringInformation, and the native drivers of Local, Slurm and the Batch backends, and\n"
         "Dirac ([Monitoring]native_drivers = False monitors them through Ganga's update).",
         placements=_ours("drivers/base.py", "drivers/stock.py", "drivers/outputs.py", "drivers/local.py",
                          "drivers/slurm.py", "drivers/batch.py", "drivers/dirac.py", "drivers/dirac_answers.py",
                          "drivers/__init__.py", "_files.py", "_tarballs.py", tests=("test_runner_pools.py",)),
         fixups=(_drivers_present_only,), imports=(f"{TARGET}.drivers.local", f"{TARGET}.drivers.dirac")),
    Step("views", "MonitoringComponent: introspection, the job table and the status file",
         "What the component shows: introspection of its state (queues, why(job)), the job table, the\n"
         "status file and the service events.",
         placements=_ours("views/snapshot.py", "views/layout.py", "views/watch_app.py", "views/job_table.py",
                          "views/status_file.py", "service_events.py", tests=("test_job_table.py",)),
         imports=(f"{TARGET}.views.snapshot", f"{TARGET}.views.layout", f"{TARGET}.views.watch_app")),
    Step("polling", "MonitoringComponent: the registry view, polling and the output pipeline",
         "The parts that read Ganga's registry and poll backends: the registry view, polling through\n"
         "the drivers (each call of a backend's own update counted by its cause), the pipeline of\n"
         "finished jobs' outputs, completing and recovery of jobs left completing, the checks after a kill\n"
         "or resubmit.",
         placements=(_ours("integration/__init__.py", "integration/registry.py", "integration/polling.py",
                           "integration/pipeline.py", "integration/current.py", "integration/loop.py",
                           "integration/completing.py", "integration/recovery.py",
                           "integration/kill_resubmit.py", "core/update_calls.py")),
         imports=(f"{TARGET}.integration.polling", f"{TARGET}.integration.pipeline")),
    Step("requests", "MonitoringComponent: users' requests, credentials, progress, statistics",
         "What users ask of monitoring (runMonitoring, a job's work first), credential checks, the\n"
         "periodic checks, progress, statistics, the rows of the job table and post-processing file work\n"
         "in worker processes; with the checks' tests.",
         placements=_ours("integration/requests.py", "integration/credentials.py", "integration/checks.py",
                          "views/progress.py", "integration/statistics.py", "integration/postprocess_files.py",
                          "views/job_rows.py", tests=("test_checks.py",)),
         imports=(f"{TARGET}.integration.requests", f"{TARGET}.views.job_rows")),
    Step("job-tables", "JobRegistrySlice, Job: tables and prints that never wait for a job's lock",
         "Job tables (jobs, a slice, j.subjobs) as Ganga's own text, each row read once from what is in\n"
         "memory: a master's subjob status from the counted statuses, no registry walk per cell, no\n"
         "master's lock per row; print(j) without the job's lock; a table or a print keeps the GIL up to\n"
         "50 ms at a time while it computes. 3,000-subjob burst: the jobs table p50 152 -> 0.3 ms, a\n"
         "1,000-row subjob table p50/max 499/1,513 -> 17/305 ms.\n\n"
         "GangaObject.accept, a real edit: a print (a VPrinter visitor) runs without the root's lock,\n"
         "within the contexts of GangaObject._around_print (the component joins its GIL interval there;\n"
         "Unit/TestPrintWithoutLock); any other visitor keeps the lock.\n\n"
         "A write typed at the prompt is handed its job's lock at the flusher's next subjob save\n"
         "(10,000-subjob burst: it waited up to 34 ms).\n\n"
         "JobRegistrySlice._display and __str__, a real edit: the table is made by views/job_tables.py's\n"
         "render within the contexts of JobRegistrySlice._around_display (the component joins its GIL\n"
         "interval and the prompt's turn there), a split job's subjob status from the first answer of\n"
         "JobRegistrySlice._subjob_counts (the component's counts; none without it: the column function\n"
         "runs), RegistrySlice's own table if render fails (Unit/TestJobTables: the same text as\n"
         "RegistrySlice's).\n\n"
         "Not yet an edit of Ganga: the GPI's write (ProxyDataDescriptor.__set__), a load-time patch\n"
         "carried as a module of the component (patches/prompt_writes.py, installed when the component\n"
         "starts, undone when it stops).",
         placements=_ours("views/job_tables.py", *_patch("job_tables", "printing", "prompt_writes")) + (
             SHARED_AGAIN,) + (
             Placement(f"{TEMPLATES}/Unit/Base", "ganga/GangaCore/test/Unit", rewrite=False,
                       include=("TestPrintWithoutLock.py", "TestJobTables.py")),),
         edits=PRINTING_EDITS + TABLE_EDITS,
         fixups=(dropping("patches/printing.py", ("_printing_unlocked",), "job-tables"),
                 dropping("patches/job_tables.py", ("_rendered_once",), "job-tables")),
         imports=(f"{TARGET}.runtime.gil", f"{TARGET}.patches.printing")),
    Step("condor-logs", "MonitoringComponent: HTCondor's job event logs read as they grow",
         "A pure reader of HTCondor's job event log (condorLog): bytes in, whole events out, an\n"
         "unfinished last event kept for the next read, a replaced or truncated log read again from its\n"
         "start; which events move a Condor job (it runs, ends, is aborted or held), and the rows Ganga's\n"
         "own Condor update gets from the logs instead of a schedd query, in that update's thread only\n"
         "(a load-time patch of Ganga's htcondor name). Nothing uses it yet: file events do, next.",
         placements=_ours("core/condor_log.py", "integration/condor_events.py", *_patch("condor_answers"),
                          tests=("test_condor_log.py",)),
         imports=(f"{TARGET}.core.condor_log", f"{TARGET}.integration.condor_events",
                  f"{TARGET}.patches.condor_answers")),
    Step("file-events", "MonitoringComponent: a job's end seen from its status file, where the file system tells",
         "Local and Batch wrappers close the job's __jobstatus__ file when the job ends; an inotify watch\n"
         "(inotify_simple, one thread for every watch) turns that close into a poll of that job through\n"
         "its backend, gathered per backend in a short window. Jobs on network or FUSE file systems (read\n"
         "from /proc/self/mountinfo), beyond max_file_watches or refused by the kernel are polled as\n"
         "before. Local program end -> completed p95 0.38 s (9.6 s before).\n\n"
         "Condor jobs: each job's condorLog is watched (writes too: HTCondor keeps it open) and read from\n"
         "its last offset; an event that moves the job polls it through Ganga's own Condor update, whose\n"
         "schedd query the log answers: program end -> completed p95 29.0 -> 0.2 s on a fake HTCondor,\n"
         "no schedd query added.",
         placements=_ours("file_watch.py", "fs_types.py", "core/changed.py", "integration/file_events.py",
                          tests=("test_file_watch.py", "test_changed.py")),
         imports=(f"{TARGET}.file_watch", f"{TARGET}.fs_types", f"{TARGET}.core.changed")),
    Step("poll-cadence", "MonitoringComponent: an adaptive poll cadence where file events do not arrive",
         "Where no job of a Local or Batch backend is watched (a network file system, file_events off),\n"
         "its periodic poll is timed by its split jobs' siblings: sooner at a running subjob's predicted\n"
         "end (its start + the finished siblings' median runtime), 2x then 4x the interval when nothing\n"
         "ends, within a budget of one poll per interval from the first ([Monitoring]poll_cadence).\n"
         "Real Slurm, events off: as good as fixed polling (p95 28.3 vs 28.8 s, 40 subjobs of 5-40 s).",
         placements=_ours("core/cadence.py", "integration/cadence_polls.py", tests=("test_cadence.py",)),
         imports=(f"{TARGET}.core.cadence", f"{TARGET}.integration.cadence_polls")),
    Step("component", "MonitoringComponent: the component, and its patches applied and undone in one place",
         "integration/component.py, the drop-in MonitoringComponent, and patches/__init__.py, which\n"
         "installs and undoes the load-time patches of the commits before; the runtime package's hooks\n"
         f"(its __init__) as {ROOT_MODULE}. Nothing uses it yet; its dependencies join install_requires.",
         placements=(Placement(PACKAGE_SOURCE, TARGET_DIR, rest=True, exclude=LEFT_OUT,
                               rename={"__init__.py": ROOT_MODULE}),
                     Placement("tests/core", UNIT_TESTS, include=("test_bugs.py", "test_views.py",
                                                                  "test_tarballs.py", "watch_live_child.py"))),
         edits=REGISTRY_EDITS + (Edit("setup.py", "            'pytest-mock'],",
                                      "            'pytest-mock',\n            'pexpect'],",
                                      why="a Unit/Monitoring test drives a terminal"),),
         fixups=(_dependencies,), imports=CORE_IMPORTS),
    Step("wiring", "Core.bootstrap: the scheduled monitoring component, behind [Monitoring]use_stock_monitoring",
         "GangaCore.Core.bootstrap builds the scheduled MonitoringComponent as monitoring_component\n"
         "(the AsyncMonitoringService when [Monitoring]use_stock_monitoring = True) and applies its\n"
         "load-time patches from there (patches), as the runtime package did in standardSetup().\n"
         "[Monitoring] is declared at bootstrap for now.",
         edits=WIRING_EDITS, imports=("GangaCore.Core",)),
    Step("config", "Config: the [Monitoring] section declared with Ganga's own sections",
         "GangaCore/__init__.py declares [Monitoring] (and [SimGrid], and the [PollThread] rates of\n"
         "backends Ganga gives none, e.g. Slurm) next to [PollThread], from the option table in\n"
         "MonitoringComponent/config.py, so ini files and -o options set them like any other.",
         edits=CONFIG_EDITS),
    Step("queues", "queues: Ganga's queues plus what monitoring does",
         "startUpQueues builds MonitoringQueues (views/queues.py), a ThreadPoolQueueMonitor that also\n"
         "shows monitoring's work per backend and has why(job), snapshot(), retry(job), watch(), and\n"
         "wait(jobs, until) and notify(jobs) (views/waiting.py, integration/notify.py), unless\n"
         "[Monitoring]use_stock_monitoring. A real edit: the runtime package's load-time swap of\n"
         "ThreadPoolQueueMonitor is not part of the series.",
         placements=(Placement(PACKAGE_SOURCE, TARGET_DIR, include=("views/queues.py", "views/waiting.py",
                                                                 "integration/notify.py")),
                     Placement(f"{TEMPLATES}/GPI", GPI_TESTS)),
         edits=QUEUES_EDITS, imports=("GangaCore.Core.GangaThread.WorkerThreads", f"{TARGET}.views.queues",
                                      f"{TARGET}.views.waiting")),
    Step("docs", "doc: the scheduled monitoring component",
         "doc/UserGuide/Monitoring.rst: what the monitoring component does, its switch and options,\n"
         "queues; the design notes (architecture, configuration, drivers) under doc/Monitoring/.",
         placements=(Placement("docs", "doc/Monitoring", include=("architecture.md", "configuration.md",
                                                                  "drivers.md"), rewrite=False),
                     Placement(f"{TEMPLATES}/doc", "doc/UserGuide", rewrite=False)),
         edits=(Edit("doc/UserGuide/index.rst", "    Queues\n", "    Queues\n    Monitoring\n",
                     why="the user guide's table of contents"),)),
)

SERIES: tuple[Step, ...] = INDEPENDENT + MAIN
"""The commits, in order: the independent fixes (a branch of their own), then the component's series."""
