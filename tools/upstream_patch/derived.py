"""Edits of Ganga whose text is our runtime module's code: one source, two forms.

:func:`joined_xml_writer` makes ``compat/xml_writer.py`` (the XML writer the
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

XML_WRITER = "src/GangaMonitoring/compat/xml_writer.py"
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
    """The edits of ``VStreamer.py``, their text from our ``compat/xml_writer.py`` in ``repo``."""
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
             why="JoinedStreamer, from GangaMonitoring's compat/xml_writer.py"),
    )


def joined_xml_writer(repo: Path, tree: Path) -> list[str]:
    """A step's fixup: apply :func:`xml_writer_edits` to the tree; one line per edit."""
    return [edit.why for edit in xml_writer_edits(repo) if apply_edit(tree, edit) is not None]
