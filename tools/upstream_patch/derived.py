"""Edits of Ganga whose text is our runtime module's code: one source, two forms.

:func:`joined_xml_writer` makes ``repository/xml_writer.py`` (the XML writer the
runtime package swaps in for ``VStreamer.to_file`` at load) an edit of
Ganga's ``VStreamer.py``: its visitor class and the body of its ``to_file``
are read from our module (by ``ast``, so a change there is a change of the
edit), the class renamed ``JoinedStreamer``, and Ganga's ``to_file`` calls it
where it called ``_raw_to_file``.  ``to_file``'s own contract (a name or a
list of names to leave out, errors logged and raised as ``XMLFileError``)
stays Ganga's code; ``_raw_to_file``, the ``print`` writer, stays too.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

from .edits import AnchorNotFound, Edit, Where, apply_edit

XML_WRITER = "src/GangaMonitoring/repository/xml_writer.py"
VSTREAMER = "ganga/GangaCore/Core/GangaRepository/VStreamer.py"
CLASS = "JoinedStreamer"


def _visitor_and_body(source: str) -> tuple[str, str]:
    """(the module's code from its first constant to the end of its visitor class, to_file's try body)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "to_file"]
    if len(classes) != 1 or len(functions) != 1:
        raise AnchorNotFound(f"{XML_WRITER}: expected one class and one to_file, found {len(classes)} and "
                             f"{len(functions)}")
    visitor = classes[0]
    constants = [node for node in tree.body if isinstance(node, ast.Assign) and node.lineno < visitor.lineno
                 and all(isinstance(t, ast.Name) and t.id.startswith("_") for t in node.targets)]
    start = (constants[0] if constants else visitor).lineno  # private constants: not the module's logger
    code = "".join(lines[start - 1:visitor.end_lineno])
    tries = [node for node in functions[0].body if isinstance(node, ast.Try)]
    if len(tries) != 1:
        raise AnchorNotFound(f"{XML_WRITER}: to_file has no single try")
    body = textwrap.dedent("".join(lines[tries[0].body[0].lineno - 1:tries[0].body[-1].end_lineno]))
    name = re.compile(rf"\b{re.escape(visitor.name)}\b")
    return name.sub(CLASS, code), name.sub(CLASS, body)


def xml_writer_edits(repo: Path) -> tuple[Edit, ...]:
    """The edits of ``VStreamer.py``, their text from our ``repository/xml_writer.py`` in ``repo``."""
    code, body = _visitor_and_body((repo / XML_WRITER).read_text())
    if not all(re.search(rf"\b{name}\b", body) for name in ("obj", "fobj", "selection")):
        raise AnchorNotFound(f"{XML_WRITER}: to_file's body no longer reads obj, fobj and selection")
    function = ("def _joined_to_file(obj, fobj, selection):\n"
                '    """What _raw_to_file writes, built as a list of strings and written at once."""\n'
                + textwrap.indent(body, "    "))
    comment = ("# The XML writer of to_file: VStreamer's output kept as a list of strings and joined once,\n"
               "# the same text as VStreamer's print calls (a few hundred per subjob, about a third of a\n"
               "# save's time, all of it holding the GIL in the flusher's thread). The walk of the object\n"
               "# tree is still each object's accept()\n\n")
    return (
        Edit(VSTREAMER, "import re\n", "from __future__ import annotations\n\n", Where.BEFORE, count=1,
             why="annotations of the joined writer"),
        Edit(VSTREAMER, "import copy\n", "import sys\nfrom typing import Any\n", Where.AFTER,
             why="sys.stdout, where print wrote; Any, of the annotations"),
        Edit(VSTREAMER, "        _raw_to_file(j, fobj, _ignore_subs)\n",
             "        _joined_to_file(j, fobj, _ignore_subs)\n", why="to_file writes through the joined writer"),
        Edit(VSTREAMER, "##########################################################################\n# XML Parser.\n",
             comment + code.rstrip("\n") + "\n\n\n" + function + "\n\n", Where.BEFORE,
             why="JoinedStreamer, from GangaMonitoring's repository/xml_writer.py"),
    )


def joined_xml_writer(repo: Path, tree: Path) -> list[str]:
    """A step's fixup: apply :func:`xml_writer_edits` to the tree; one line per edit."""
    return [edit.why for edit in xml_writer_edits(repo) if apply_edit(tree, edit) is not None]


LOCK_FREE = "src/GangaMonitoring/patches/lock_free.py"
OBJECTS = "ganga/GangaCore/GPIDev/Base/Objects.py"


def _lock_free_path(source: str) -> str:
    """The body of ``lock_free``'s ``get`` less its last line (the locked read), dedented."""
    tree = ast.parse(source)
    gets = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "get"]
    if len(gets) != 1 or not isinstance(gets[0].body[-1], ast.Return):
        raise AnchorNotFound(f"{LOCK_FREE}: expected one get ending with the locked read")
    lines = source.splitlines(keepends=True)
    body = gets[0].body
    return textwrap.dedent("".join(lines[body[0].lineno - 1:body[-2].end_lineno]))


def lock_free_edits(repo: Path) -> tuple[Edit, ...]:
    """The edits of ``Objects.py`` that read loaded values without the root's lock, from our ``lock_free``."""
    path = _lock_free_path((repo / LOCK_FREE).read_text())
    if not all(re.search(rf"\b{name}\b", path) for name in ("is_node", "_MISSING", "obj", "self")):
        raise AnchorNotFound(f"{LOCK_FREE}: get no longer reads is_node, _MISSING, obj and self")
    path = re.sub(r"\bis_node\b", "_IS_NODE", path)
    constants = (
        "_MISSING = object()\n"
        "_IS_NODE = {}\n"
        "# type -> is it a Node: isinstance against the abstract Node runs ABCMeta's Python-level check on\n"
        "# every read; no virtual subclass of Node is registered, so a type's answer never changes\n\n\n")
    comment = ("        # A value already loaded is read without the root's lock, which the registry flusher holds\n"
               "        # while it saves a whole split job: a dict read is atomic, so the value is one a writer\n"
               "        # stored whole; a Node only once its parent is set (a writer attaches it after storing it);\n"
               "        # a getter computes from such reads. A lazy load, the index cache, a default: locked\n")
    return (
        Edit(OBJECTS, "def synchronised_get_descriptor(get_function):\n", constants, Where.BEFORE,
             why="the lock-free read's constants"),
        Edit(OBJECTS, "        if obj is None:\n            return get_function(self, obj, type_or_value)\n\n"
                      "        with obj._getRoot()._lock:\n",
             "        if obj is None:\n            return get_function(self, obj, type_or_value)\n\n"
             + comment + textwrap.indent(path, "        ") + "\n"
             "        with obj._getRoot()._lock:\n",
             why="Descriptor.__get__ reads a loaded value without the root's lock (lock_free's get)"),
        Edit(OBJECTS, "        get_function (function): Function we intend to wrap with the soft/read lock\n",
             "        get_function (function): Function we intend to wrap with the soft/read lock, taken unless\n"
             "            the value is already loaded\n", why="the decorator's docstring"),
    )


def lock_free_reads(repo: Path, tree: Path) -> list[str]:
    """A step's fixup: apply :func:`lock_free_edits` to the tree; one line per edit."""
    return [edit.why for edit in lock_free_edits(repo) if apply_edit(tree, edit) is not None]
