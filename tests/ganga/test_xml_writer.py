"""Patches item 14: Ganga's XML job files written in fewer calls, byte for byte as Ganga writes them."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest

from .conftest import wait_for
from .test_flush_cost import flush

pytestmark = pytest.mark.ganga

AWKWARD = "a <b> & 'c' \"d\"\n\té ü 日本 \\ %s {0}"
"""Text XML, repr and format strings treat specially."""


def stock_xml(obj: Any, ignore: str | list[str] = "") -> str:
    from GangaCore.Core.GangaRepository.VStreamer import _raw_to_file

    out = io.StringIO()
    _raw_to_file(obj, out, ignore if isinstance(ignore, list) else [ignore])
    return out.getvalue()


def our_xml(obj: Any, ignore: str | list[str] = "") -> str:
    from GangaMonitoring.repository import xml_writer

    out = io.StringIO()
    xml_writer.to_file(obj, out, ignore)
    return out.getvalue()


def objects_of_every_kind(gpi: Any) -> list[tuple[Any, str]]:
    """Jobs as a session has them: new, submitted, split (the master saved without its subjobs), with files,
    lists, dictionaries, timestamps, awkward text, on several backends; and parts of them alone."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    plain = gpi.Job(name=AWKWARD, comment="line one\nline two")
    files = gpi.Job(application=gpi.Executable(exe="/bin/echo", args=[AWKWARD, "1", "", "x y"],
                                               env={"A": AWKWARD, "B": ""}),
                    inputfiles=[gpi.LocalFile("in.txt"), gpi.LocalFile(namePattern="*.dat", localDir="/tmp")],
                    outputfiles=[gpi.LocalFile("out.txt"), gpi.LocalFile("*.root")],
                    postprocessors=[gpi.TextMerger(files=["stdout"]), gpi.FileChecker(files=["stdout"],
                                                                                     searchStrings=[AWKWARD])])
    submitted = gpi.Job(backend=gpi.TestSubmitter(time=100))
    submitted.submit()
    split = gpi.Job(backend=gpi.TestSubmitter(time=100),
                    splitter=gpi.ArgSplitter(args=[[AWKWARD], ["2"], []]))
    split.submit()
    # running for 100 s from here: monitoring changes nothing of them while both writers write them
    assert wait_for(lambda: submitted.status == "running" and all(j.status == "running" for j in split.subjobs),
                    timeout=120), (submitted.status, [j.status for j in split.subjobs])
    simgrid = gpi.Job(backend=gpi.SimGrid())
    dirac = gpi.Job(backend=gpi.Dirac(settings={"Destination": AWKWARD}),
                    outputfiles=[gpi.DiracFile("x.root"), gpi.LocalFile("y")])
    raw = [stripProxy(j) for j in (plain, files, submitted, split, simgrid, dirac)]
    found: list[tuple[Any, str]] = [(j, "") for j in raw] + [(stripProxy(split), "subjobs")]
    found += [(sj, "") for sj in stripProxy(split).subjobs]
    numbers = stripProxy(gpi.ArgSplitter(args=[[1, 2.5, True, None], [(3, "x"), []], [[4, [5.0]]]]))
    found += [(numbers, "")]
    found += [(stripProxy(files).application, ""), (stripProxy(files).inputfiles, ""),
              (stripProxy(submitted).time, ""), (stripProxy(split).splitter, "")]
    return found


def test_every_kind_of_object_is_written_byte_for_byte_as_ganga_writes_it(ganga_session: Any) -> None:
    for obj, ignore in objects_of_every_kind(ganga_session):
        assert our_xml(obj, ignore) == stock_xml(obj, ignore), (type(obj).__name__, ignore)
        assert our_xml(obj, [ignore]) == stock_xml(obj, [ignore])


def test_the_repository_writes_its_files_with_it_and_they_are_stocks(ganga_session: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    from GangaMonitoring.repository import xml_writer

    streamers = []

    class Counting(xml_writer.Streamer):
        def __init__(self, selection: list[str]) -> None:
            super().__init__(selection)
            streamers.append(self)

    monkeypatch.setattr(xml_writer, "Streamer", Counting)
    gpi = ganga_session
    job = gpi.Job(name=AWKWARD, backend=gpi.TestSubmitter(time=100), splitter=gpi.ArgSplitter(args=[["a"], ["b"]]))
    job.submit()
    raw = stripProxy(job)
    raw.subjobs[1].comment = AWKWARD
    flush(job)
    assert len(streamers) >= 3  # the master and both subjobs, each saved by the session's repository
    directory = os.path.dirname(raw._getRegistry().repository.get_fn(raw.id))
    with open(os.path.join(directory, "data"), encoding="utf-8") as handle:
        assert handle.read() == stock_xml(raw, "subjobs")
    with open(os.path.join(directory, "1", "data"), encoding="utf-8") as handle:
        assert handle.read() == stock_xml(raw.subjobs[1])


def test_an_object_that_cannot_be_written_is_ganga_s_error_and_writes_nothing(ganga_session: Any) -> None:
    from GangaCore.Core.GangaRepository.VStreamer import XMLFileError
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    job = stripProxy(ganga_session.Job())

    class Unwritable:
        def __repr__(self) -> str:
            raise ValueError("no text for this")

    job.application._data["exe"] = Unwritable()  # as a value no repr can take
    out = io.StringIO()
    with pytest.raises(XMLFileError, match="no text for this"):
        from GangaMonitoring.repository import xml_writer

        xml_writer.to_file(job, out)
    assert out.getvalue() == ""
    job.application._data["exe"] = "echo"


def test_the_patch_is_undone_at_stop(gangadir: str) -> None:
    import GangaCore.Core.GangaRepository.VStreamer as vstreamer

    from GangaMonitoring import patches
    from GangaMonitoring.repository import xml_writer

    from .conftest import ganga_running

    with ganga_running(gangadir):
        assert vstreamer.to_file is xml_writer.to_file and patches.shared.FASTER_WRITERS
    assert vstreamer.to_file is not xml_writer.to_file and not patches.shared.FASTER_WRITERS
