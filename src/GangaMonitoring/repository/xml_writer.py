"""Ganga's XML job format, written in fewer calls: the same bytes as Ganga's ``VStreamer.to_file``.

Ganga saves every job and subjob it flushes as XML through a visitor
(``VStreamer``) that writes each line with one or more ``print`` calls
into a ``StringIO``: a few hundred calls per subjob, a third of the time a
save takes, all of it holding the GIL in the flusher's thread while
monitoring workers wait for it.  :class:`Streamer` is that visitor with the
same output built as a list of strings and joined once.

Contract: for every object ``obj`` and ``ignore_subs``, :func:`to_file`
writes exactly what Ganga's ``VStreamer.to_file`` writes (the tests compare
both on every kind of object Ganga and the test backends save), and fails
as it does: any error is logged and raised as Ganga's ``XMLFileError``, and
nothing is written to ``fobj`` then.  The walk of the object tree is
Ganga's own (``obj.accept(visitor)``, which reads each attribute as Ganga
does); only the writing changes.  The format, as ``print`` lays it out::

    <root>
     <class name="Job" version="1.0" category="jobs">          indent, space, text
      <attribute name="id"> \\n  <value>3</value>\\n  </attribute>   a simple value
      <attribute name="backend">                               a component
       ...
    </root>\\n                                                  one more newline at the end
"""

from __future__ import annotations

import sys
from typing import Any

from GangaCore.Core.GangaRepository.VStreamer import VStreamer, XMLFileError, escape
from GangaCore.GPIDev.Base.Objects import GangaObject
from GangaCore.GPIDev.Base.Proxy import isType
from GangaCore.GPIDev.Lib.GangaList.GangaList import GangaList
from GangaCore.Utility.logging import getLogger

log = getLogger("GangaMonitoring.xml_writer")

_SEQUENCES = (list, tuple, GangaList)
_PLAIN_VALUES = frozenset({int, float, bool, complex, bytes})
"""Exact builtin types that are neither ``None``, text, a Ganga object (no ``accept``) nor a sequence:
Ganga writes their ``repr`` as a value."""


class Streamer(VStreamer):
    """A ``VStreamer`` whose output is kept as a list of strings (``parts``), in Ganga's layout."""

    def __init__(self, selection: list[str]) -> None:
        super().__init__(out=None, selection=selection)
        self.parts: list[str] = []

    def _line(self, text: str) -> None:
        """One line as ``print(indent, text)`` writes it: the indent, a space, the text, a newline."""
        self.parts.append(f"{' ' * ((self.level - 1) * 3)} {text}\n")

    def begin_root(self) -> None:
        self.parts.append("<root>\n")

    def end_root(self) -> None:
        self.parts.append("</root>\n")

    def nodeBegin(self, node: Any) -> None:  # noqa: N802 - the visitor's names are Ganga's
        self.level += 1
        schema = node._schema
        version = schema.version
        self._line(f'<class name="{schema.name}" version="{int(version.major)}.{int(version.minor)}" '
                   f'category="{schema.category}">')

    def nodeEnd(self, node: Any) -> None:  # noqa: N802
        self._line("</class>")
        self.level -= 1

    def print_value(self, x: Any) -> None:
        self.parts.append(f"\n {' ' * ((self.level - 1) * 3)} <value>{escape(repr(x))}</value>\n")

    def simpleAttribute(self, node: Any, name: str, value: Any, sequence: bool) -> None:  # noqa: N802
        if not self.showAttribute(node, name):
            return
        self.level += 1
        self.parts.append(f"{' ' * ((self.level - 1) * 3)} <attribute name=\"{name}\"> ")
        self.level += 1
        if sequence:
            self.parts.append("\n")
            self._sequence(value)
            self.level -= 1
            self._line("</attribute>")
        else:
            if isinstance(value, GangaObject):
                self.parts.append("\n")
                self.acceptOptional(value)
            else:
                self.print_value(value)
            self.level -= 1
            self.parts.append(f"{' ' * ((self.level - 1) * 3)} </attribute>\n")
        self.level -= 1

    def acceptOptional(self, s: Any) -> None:  # noqa: N802
        self.level += 1
        kind = type(s)
        if kind in _PLAIN_VALUES:  # Ganga's checks below, answered for builtin types without its isType
            self.print_value(s)
        elif kind is list or kind is tuple:
            self._sequence(s)
        elif s is None:
            self._line("<value>None</value>")
        elif kind is str or isType(s, str):
            self._line(f"<value>{escape(repr(s))}</value>")
        elif hasattr(s, "accept"):
            s.accept(self)
        elif isType(s, _SEQUENCES):
            self._sequence(s)
        else:
            self.print_value(s)
        self.level -= 1

    def _sequence(self, items: Any) -> None:
        self._line("<sequence>")
        for item in items:
            self.acceptOptional(item)
        self._line("</sequence>")

    def componentAttribute(self, node: Any, name: str, subnode: Any, sequence: bool) -> None:  # noqa: N802
        if not self.showAttribute(node, name):
            return
        self.level += 1
        self._line(f'<attribute name="{name}">')
        if sequence:
            self.level += 1
            self._sequence(subnode)
            self.level -= 1
        else:
            self.acceptOptional(subnode)
        self._line("</attribute>")
        self.level -= 1


def to_file(obj: Any, fobj: Any = None, ignore_subs: Any = "") -> None:
    """Write ``obj`` as Ganga's XML to ``fobj``, leaving out the attributes named in ``ignore_subs``
    (a name or a list of names) at the top level; errors as Ganga's ``to_file`` raises them."""
    selection = ignore_subs if isinstance(ignore_subs, list) else [ignore_subs]
    try:
        streamer = Streamer(selection)
        streamer.begin_root()
        obj.accept(streamer)
        streamer.end_root()
        streamer.parts.append("\n")  # Ganga prints the whole text, so one newline more
        (sys.stdout if fobj is None else fobj).write("".join(streamer.parts))
    except Exception as err:
        log.error("XML to-file error for file:\n%s", err)
        raise XMLFileError(err, "to-file error") from err


to_file.__gm_wrapped__ = True  # type: ignore[attr-defined]  # patches: it stands in Ganga's place (item 14)
