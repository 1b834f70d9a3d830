"""tools/upstream_patch: the series it builds on a fetched Ganga snapshot, and its edits and rewrites.

The series tests need a git repository of ganga-devs/ganga holding the base revision: ``GM_GANGA_CHECKOUT``,
else the snapshot at ``/work/.mirror/ganga-devs+ganga/repo``; without one they skip, saying why.  With
``GM_GANGA_SDIST`` (PyPI's ``ganga-8.7.12.tar.gz``) the series is built on that sdist's tree, as
``docs/upstream-patch.md`` says; else on the snapshot's ``develop``.
"""

from __future__ import annotations

import ast
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tools.upstream_patch import checks
from tools.upstream_patch.build import build, rebase_report, sdist_base
from tools.upstream_patch.derived import OBJECTS, VSTREAMER, lock_free_edits, xml_writer_edits
from tools.upstream_patch.edits import AnchorNotFound, Edit, Where, apply_edit
from tools.upstream_patch.made_edits import drop_names, drop_wrappers
from tools.upstream_patch.manifest import INDEPENDENT, LEFT_OUT, SERIES
from tools.upstream_patch.ours import ROOT_MODULE, TARGET, TARGET_DIR, Placement, files_under, rewrite_python

REPO = Path(__file__).resolve().parents[2]
BASE = "develop"
SNAPSHOT = "/work/.mirror/ganga-devs+ganga/repo"


def _checkout() -> tuple[Path | None, str]:
    """The Ganga repository to build on, or None and why not."""
    named = os.environ.get("GM_GANGA_CHECKOUT")
    candidate = Path(named or SNAPSHOT)
    if not candidate.exists():
        return None, (f"GM_GANGA_CHECKOUT={named} does not exist" if named else
                      f"no Ganga checkout: set GM_GANGA_CHECKOUT or fetch ganga-devs/ganga to {SNAPSHOT}")
    found = subprocess.run(["git", "-C", str(candidate), "rev-parse", "--verify", f"{BASE}^{{commit}}"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        return None, f"{candidate} has no revision {BASE} (the series' base)"
    return candidate, ""


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    checkout, why = _checkout()
    if checkout is None:
        pytest.skip(why)
    out = tmp_path_factory.mktemp("upstream-patch")
    sdist = os.environ.get("GM_GANGA_SDIST")
    result = build(REPO, checkout, out, BASE, wanted_checks=("import",), python=sys.executable,
                   progress=lambda _line: None, sdist=Path(sdist) if sdist else None)
    return {"out": out, "tree": out / "ganga", "base": result.base_sha, "records": result.records, "result": result}


def _git(tree: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.upstream
def test_the_series_has_the_manifest_s_commits_in_order_and_its_patches(series: dict[str, Any]) -> None:
    subjects = _git(series["tree"], "log", "--reverse", "--format=%s", f"{series['base']}..HEAD").splitlines()
    assert subjects == [step.subject for step in SERIES]
    patches = sorted((series["out"] / "patches").glob("*.patch"))
    assert len(patches) == len(SERIES)
    assert all(record.added > 0 for record in series["records"])


@pytest.mark.upstream
def test_each_commit_s_tree_imports(series: dict[str, Any]) -> None:
    for record in series["records"]:
        [result] = record.checks
        assert result.name == "import" and result.ok, (record.step.key, result.output)


@pytest.mark.upstream
def test_no_file_of_ours_is_missing_from_the_tip(series: dict[str, Any]) -> None:
    at_tip = set(_git(series["tree"], "ls-tree", "-r", "--name-only", "HEAD").splitlines())
    left_out = Placement("src/GangaMonitoring", "", include=LEFT_OUT)
    ours = [f for f in files_under(REPO, "src/GangaMonitoring") if not left_out.matches(f)]
    expected = {f"{TARGET_DIR}/{ROOT_MODULE if f == '__init__.py' else f}" for f in ours}
    assert not expected - at_tip
    placed = [f for f in at_tip if f.startswith(TARGET_DIR)]
    assert not [f for f in placed if "GangaMonitoring" in f]
    sources = "".join((series["tree"] / f).read_text() for f in placed if f.endswith(".py"))
    assert "from GangaMonitoring" not in sources and "import GangaMonitoring" not in sources


@pytest.mark.upstream
def test_the_new_component_is_wired_behind_the_switch(series: dict[str, Any], tmp_path: Path) -> None:
    """Ganga started from the tip builds ours by default, and the stock one with the switch on."""
    python = checks.tree_python(series["tree"], sys.executable, series["out"] / "tree-venv")
    code = textwrap.dedent(f"""
        import GangaCore
        assert GangaCore.__file__.startswith({str(series['tree'])!r})
        from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga
        from GangaCore import Core
        from GangaCore.Core.GangaThread.WorkerThreads import getQueues
        found = []
        for stock in (False, True):
            start_ganga({str(tmp_path / 'gangadir')!r}, extra_opts=[('Monitoring', 'use_stock_monitoring', stock)])
            found.append((type(Core.monitoring_component).__name__, type(getQueues()).__name__))
            stop_ganga()
        print("FOUND", found)
    """)
    done = subprocess.run([python, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    [found] = [line for line in done.stdout.splitlines() if line.startswith("FOUND ")]  # Ganga logs to stdout too
    assert found == "FOUND " + str(
        [("MonitoringComponent", "MonitoringQueues"), ("AsyncMonitoringService", "ThreadPoolQueueMonitor")])


FROM_COMPAT = ("patches", "integration", "repository", "views")
"""The layers of the series' copies where the load-time patches and what they install could be."""


@pytest.mark.upstream
def test_monkeypatches_made_real_edits_are_no_longer_installed(series: dict[str, Any]) -> None:
    tree = series["tree"]
    sjxml = (tree / "ganga/GangaCore/Core/GangaRepository/SubJobXMLList.py").read_text()
    assert "subjob_obj._setFlushed()" in sjxml and "replace(temp_index_file, index_file)" in sjxml
    tracer = (tree / "ganga/GangaCore/Utility/stacktracer.py").read_text()
    assert "in _current_frames().items()" in tracer and "from pygments" not in tracer
    assert "_unnamed_loggers" in (tree / "ganga/GangaCore/Utility/logging/__init__.py").read_text()
    patches_dir = tree / TARGET_DIR / "patches"
    ours = [module for layer in FROM_COMPAT for module in sorted((tree / TARGET_DIR / layer).rglob("*.py"))]
    for gone in ("queue_monitor", "component_swap", "frames_guard", "logger_names", "stack_traces"):
        assert not (patches_dir / f"{gone}.py").exists()
    patches = "".join(p.read_text() for p in ours)
    assert '(SubJobXMLList, "flush", _clearing_saved_flags),' not in patches
    assert '_wrap(subjob_list_module, "open"' not in patches
    assert "self._subjob_count = subjob_count" in sjxml and "self.load_subJobIndex()\n" in sjxml
    assert "subjob_obj._index_entry_written = (disk_key, this_cache)" in sjxml
    in_code = {node.id if isinstance(node, ast.Name) else node.name
               for module in ours
               for node in ast.walk(ast.parse(module.read_text())) if isinstance(node, ast.Name | ast.FunctionDef)}
    made_edits = {"_counting_once", "_forgetting_count", "_reading_index_when_used", "_noting_unread_index",
                  "_writing_index", "_remembering_stats", "_saving_noted", "_noting_changes",
                  "_made_from_templates", "_templates_of_display", "_rendered_once", "_watching", "_is_watch",
                  "_noting_submission", "_rolled_up_after_submission", "_forcing_subjobs_too", "_counted_statuses",
                  "_bounding_holds", "_held_once", "hold_count", "_asking_again_under_the_locks"}
    assert not made_edits & in_code  # neither defined nor installed in the series' copies
    job_registry = (tree / "ganga/GangaCore/GPIDev/Lib/Registry/JobRegistry.py").read_text()
    assert "JobRegistrySlice._templates.init(JobRegistrySlice._construct, self, name)" in job_registry
    assert "text = render_job_table(self, interactive, JobRegistrySlice._counted_statuses," in job_registry
    job = (tree / "ganga/GangaCore/GPIDev/Lib/Job/Job.py").read_text()
    assert "Job.status = _status_telling(Job.__dict__['status'])" in job and "for statuses_of in" in job
    registry = (tree / "ganga/GangaCore/Core/GangaRepository/Registry.py").read_text()
    assert "with self._flush_lock, self._read_lock:  # _locked_load's locks" in registry
    assert "for context in list(Registry._around_flush_all):" in registry and "def flush_holds():" in registry
    flush = (tree / TARGET_DIR / "repository" / "flush.py").read_text()
    assert not (patches_dir / "single_loads.py").exists() and "repr(lock)" not in flush  # the flusher says its hold
    batch = (tree / "ganga/GangaCore/Lib/Batch/BatchScriptTemplate.py.template").read_text()
    assert "result = child.wait(timeout=###HEARTBEATFREQUENCE###)" in batch and "time.sleep(" not in batch
    assert "wrapper_ends_with_program" not in patches
    pools = (tree / TARGET_DIR / "runtime" / "pools.py").read_text()
    assert f'WORKER_PRELOAD = ["ganga", "{TARGET}.runtime.worker_boot"' in pools  # GangaCore importable in workers
    inside = set(_git(tree, "ls-tree", "-r", "--name-only", "HEAD", "ganga/GangaCore").splitlines())
    assert not [f for f in inside if "/simulator/" in f or "/backends/" in f or f.endswith(("/demo.py", "/cli.py"))]


@pytest.mark.upstream
def test_the_independent_fixes_are_a_branch_of_ganga_edits_and_commits_are_small(series: dict[str, Any]) -> None:
    result = series["result"]
    branch = _git(series["tree"], "rev-parse", result.independent_branch).strip()
    assert branch == result.records[len(INDEPENDENT) - 1].sha
    for record in result.records[:len(INDEPENDENT)]:
        assert not [f for f in record.files if f.startswith(TARGET_DIR)], record.step.key
    assert max(r.code_added for r in result.records) < 1500


@pytest.mark.upstream
def test_the_load_time_patches_left_are_listed_and_those_on_edited_files_flagged(series: dict[str, Any]) -> None:
    leftovers = series["result"].leftovers
    listing = leftovers.output.splitlines()
    assert any("Proxy.ProxyDataDescriptor.__set__ " in line for line in listing), leftovers.output  # still a patch
    flagged = [line for line in listing if line.startswith("ON AN EDITED FILE ")]
    edited = {f for r in series["records"] for f in r.files}
    assert all(line.rsplit("(", 1)[1].rstrip(")") in edited for line in flagged)
    assert leftovers.ok == (not flagged)
    for edited_file in ("SubJobXMLList", "GangaRepositoryXML", "VStreamer", "Objects.py", "JobRegistry.py",
                        "Job/Job.py", "GangaRepository/Registry.py"):
        assert not [line for line in listing if edited_file in line], leftovers.output


def _tiny_repository(path: Path) -> None:
    path.mkdir()
    for args in (["init", "-q", "-b", "develop"], ["config", "user.email", "t@localhost"],
                 ["config", "user.name", "t"]):
        subprocess.run(["git", "-C", str(path), *args], check=True)
    (path / "ganga").mkdir()
    (path / "ganga" / "a.py").write_text("x = 1\n")
    (path / "ganga" / "test.py").write_text("kept = True\n")
    subprocess.run(["git", "-C", str(path), "add", "."], check=True)
    subprocess.run(["git", "-C", str(path), "commit", "-qm", "develop"], check=True)


def _tarball(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"ganga-9.9/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_an_sdist_base_is_its_tree_over_the_revision_and_says_so(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    _tiny_repository(clone)
    sdist = _tarball(tmp_path / "ganga-9.9.tar.gz", {"ganga/a.py": "x = 2\n", "ganga/new.py": "y = 1\n",
                                                      "PKG-INFO": "Name: ganga\n"})
    sha = sdist_base(clone, sdist, "develop")
    assert _git(clone, "rev-parse", "HEAD").strip() == sha
    assert _git(clone, "show", f"{sha}:ganga/a.py") == "x = 2\n"
    assert _git(clone, "show", f"{sha}:ganga/new.py") == "y = 1\n"
    assert _git(clone, "show", f"{sha}:ganga/test.py") == "kept = True\n"  # not in the sdist: develop's
    assert "PKG-INFO" not in _git(clone, "ls-tree", "--name-only", sha)
    message = _git(clone, "log", "-1", "--format=%B", sha)
    assert hashlib.sha256(sdist.read_bytes()).hexdigest() in message and "ganga-9.9.tar.gz" in message


def test_the_rebase_report_names_the_commits_that_apply_and_those_that_conflict(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    _tiny_repository(clone)
    base = _git(clone, "rev-parse", "HEAD").strip()
    _git(clone, "checkout", "-q", "-b", "series")
    for name, text in (("ganga/a.py", "x = 3\n"), ("ganga/b.py", "z = 1\n")):
        (clone / name).write_text(text)
        _git(clone, "add", name)
        _git(clone, "commit", "-qm", f"edit {name}")
    _git(clone, "checkout", "-q", "-b", "elsewhere", base)
    (clone / "ganga" / "a.py").write_text("x = 4\n")
    _git(clone, "commit", "-qam", "moved on")
    _git(clone, "checkout", "-q", "series")
    report = rebase_report(clone, base, "series", "elsewhere")
    assert report == [("edit ganga/a.py", "conflicts: ganga/a.py"), ("edit ganga/b.py", "applies")]
    assert _git(clone, "rev-parse", "--abbrev-ref", "HEAD").strip() == "series"


def test_an_edit_whose_anchor_is_absent_or_ambiguous_fails_naming_it(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\nx = 1\ny = 2\n")
    apply_edit(tmp_path, Edit("a.py", "y = 2\n", "z = 3\n", Where.AFTER))
    assert (tmp_path / "a.py").read_text() == "x = 1\nx = 1\ny = 2\nz = 3\n"
    with pytest.raises(AnchorNotFound, match="occurs 0 times in a.py"):
        apply_edit(tmp_path, Edit("a.py", "w = 0\n", "", why="a moved line"))
    with pytest.raises(AnchorNotFound, match="occurs 2 times"):
        apply_edit(tmp_path, Edit("a.py", "x = 1\n", ""))
    with pytest.raises(AnchorNotFound, match="in 0 of the files matching"):
        apply_edit(tmp_path, Edit("*.py", "absent", "", glob=True))


def test_imports_are_rewritten_to_the_in_tree_package() -> None:
    names = frozenset({"quiet_bare_name_warning", "__version__"})
    hooks = f"{TARGET}.{ROOT_MODULE.removesuffix('.py')}"  # our __init__'s names, not our runtime/ package's
    source = ("from GangaMonitoring.core.work import Kind\n"
              "from . import quiet_bare_name_warning\n"
              "from . import config\n"
              'log = logging.getLogger("GangaMonitoring.patches")\n'
              'root = logging.getLogger("GangaMonitoring")\n'
              'NATIVE = {"Local": "GangaMonitoring.drivers.local:LocalDriver"}\n')
    assert rewrite_python(source, 0, names) == (
        f"from {TARGET}.core.work import Kind\n"
        f"from {hooks} import quiet_bare_name_warning\n"
        "from . import config\n"
        f'log = logging.getLogger("{TARGET}.patches")\n'
        f'root = logging.getLogger("{TARGET}")\n'
        f'NATIVE = {{"Local": "{TARGET}.drivers.local:LocalDriver"}}\n')
    assert rewrite_python("from .. import quiet_bare_name_warning\n", 1, names) == \
        f"from {hooks} import quiet_bare_name_warning\n"
    script = "import os\n\nif True:\n    from GangaMonitoring.core.clock import SystemClock\n"
    assert rewrite_python(script, None, names) == (
        "import os\n\nif True:\n    import ganga  # noqa: F401 - puts GangaCore on sys.path (Ganga's conftest does it "
        f"for tests)\n    from {TARGET}.core.clock import SystemClock\n")


def test_a_script_in_a_string_of_a_test_imports_ganga_before_ours() -> None:
    """A test's ``python -c`` script runs where an installed GangaCore needs ``import ganga`` first."""
    names: frozenset[str] = frozenset()
    source = ('import os\nfrom GangaMonitoring.core.clock import SystemClock\n'
              'SCRIPT = """\nimport sys\nfrom GangaMonitoring.core.work import Kind\nprint(1)\n"""\n'
              'ONE_LINE = "import sys\\nfrom GangaMonitoring.core.work import Kind\\n"\n'
              'TEXT = "says nothing of GangaMonitoring"\n')
    assert rewrite_python(source, None, names) == (
        "import os\n" + "import ganga  # noqa: F401 - puts GangaCore on sys.path (Ganga's conftest does it for tests)\n"
        f"from {TARGET}.core.clock import SystemClock\n"
        f'SCRIPT = """\nimport sys\nimport ganga\nfrom {TARGET}.core.work import Kind\nprint(1)\n"""\n'
        f'ONE_LINE = "import sys\\nimport ganga\\nfrom {TARGET}.core.work import Kind\\n"\n'
        'TEXT = "says nothing of GangaMonitoring"\n')
    assert rewrite_python(source, 0, names).count("import ganga") == 0  # inside the package: GangaCore's import


def test_a_wrapper_made_an_edit_is_dropped_from_its_module_with_its_install_line_and_unused_imports(
        tmp_path: Path) -> None:
    module = tmp_path / "patch.py"
    module.write_text(textwrap.dedent('''\
        """Wraps two methods (_gone's docstring mention stays)."""

        from __future__ import annotations

        import functools
        import os
        from .ledger import _lock, _wrap, kept_name


        def install() -> None:
            import thing
            with _lock:
                _wrap(thing.Thing, "a", _kept)
                _wrap(thing.Thing, "b", _gone)


        def _kept(method):
            return functools.wraps(method)(lambda *a: kept_name(method(*a)))


        def _gone(method):
            return os.path.join(method)
        '''))
    assert "_gone" in drop_wrappers(module, ("_gone",), "the-commit")
    text = module.read_text()
    compile(text, str(module), "exec")
    assert "def _gone" not in text and '"b", _gone' not in text and "import os" not in text
    assert "from .ledger import _lock, _wrap, kept_name\n" in text and "import functools\n" in text
    assert "(_gone's docstring mention stays)" in text and "'the-commit'" in text
    with pytest.raises(AnchorNotFound):
        drop_wrappers(module, ("_absent",), "the-commit")


def test_shared_state_a_commit_cannot_make_yet_is_left_out_of_its_copy_with_its_imports(tmp_path: Path) -> None:
    """``patches/shared.py`` before the modules some of its objects need are in the tree."""
    module = tmp_path / "shared.py"
    module.write_text(textwrap.dedent('''\
        """The state patches share (LATER's mention in the docstring stays)."""

        from __future__ import annotations

        from ..repository import flush, rollup
        from ..runtime.gil import SwitchInterval

        HELD = flush.HeldLock()
        """Item 13's."""
        COUNTS = rollup.SubjobStatuses()
        """Item 17's."""
        LATER: SwitchInterval = SwitchInterval(0.05)
        """Item 20's."""
        '''))
    assert "COUNTS, LATER" in drop_names(module, ("COUNTS", "LATER"), "the commits 'b' and 'c'")
    text = module.read_text()
    compile(text, str(module), "exec")
    assert "HELD = flush.HeldLock()\n\"\"\"Item 13\'s.\"\"\"\n" in text and "from ..repository import flush\n" in text
    assert "COUNTS =" not in text and "Item 17" not in text and "LATER:" not in text and "Item 20" not in text
    assert "rollup" not in text and "SwitchInterval" not in text
    assert "(LATER's mention in the docstring stays)" in text and "the commits 'b' and 'c'" in text
    with pytest.raises(AnchorNotFound):
        drop_names(module, ("ABSENT",), "the commit 'd'")


def _edited_installed_file(tmp_path: Path, path: str, edits: tuple[Edit, ...]) -> str:
    """The installed Ganga's file at ``path`` (as in the 8.7.12 base) with ``edits`` applied; it compiles."""
    ganga = pytest.importorskip("ganga")
    target = tmp_path / path
    target.parent.mkdir(parents=True)
    target.write_text((Path(ganga.__file__).parent / path.removeprefix("ganga/")).read_text())
    for edit in edits:
        apply_edit(tmp_path, edit)
    text = target.read_text()
    compile(text, str(target), "exec")
    return text


def test_the_xml_writer_edit_is_our_module_s_code_in_ganga_s_vstreamer(tmp_path: Path) -> None:
    text = _edited_installed_file(tmp_path, VSTREAMER, xml_writer_edits(REPO))
    ours = (REPO / "src/GangaMonitoring/repository/xml_writer.py").read_text()
    method = ours[ours.index("    def simpleAttribute"):ours.index("    def acceptOptional")]
    assert method in text  # the code itself, not a rewrite of it
    assert "class JoinedStreamer(VStreamer):" in text and "GangaMonitoring" not in text
    assert "        _joined_to_file(j, fobj, _ignore_subs)\n" in text and "def _raw_to_file(" in text


def test_the_lock_free_edit_is_our_module_s_read_in_ganga_s_descriptor(tmp_path: Path) -> None:
    text = _edited_installed_file(tmp_path, OBJECTS, lock_free_edits(REPO))
    decorator = text[text.index("def synchronised_get_descriptor"):text.index("def synchronised_set_descriptor")]
    fast = decorator.index("value = data.get(self._name, _MISSING)")
    assert fast < decorator.index("with obj._getRoot()._lock")
    assert "_IS_NODE[kind] = issubclass(kind, Node)" in decorator
    assert "is_node" not in decorator and "GangaMonitoring" not in text
