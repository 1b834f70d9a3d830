"""VStreamer.to_file: the joined writer writes byte for byte what _raw_to_file's print calls write."""

import io

import pytest

from GangaCore.testlib.GangaUnitTest import GangaUnitTest

AWKWARD = "a <b> & 'c' \"d\"\n\té ü 日本 \\ %s {0}"
"""Text that XML, repr and format strings treat specially."""


def _stock(obj, ignore):
    from GangaCore.Core.GangaRepository.VStreamer import _raw_to_file

    out = io.StringIO()
    _raw_to_file(obj, out, ignore if isinstance(ignore, list) else [ignore])
    return out.getvalue()


def _joined(obj, ignore):
    from GangaCore.Core.GangaRepository.VStreamer import to_file

    out = io.StringIO()
    to_file(obj, out, ignore)
    return out.getvalue()


class TestXMLWriter(GangaUnitTest):

    def _objects(self):
        from GangaCore.GPI import ArgSplitter, Executable, FileChecker, Job, LocalFile, TextMerger
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        plain = Job(name=AWKWARD, comment="line one\nline two")
        files = Job(application=Executable(exe="/bin/echo", args=[AWKWARD, "1", "", "x y"],
                                           env={"A": AWKWARD, "B": ""}),
                    inputfiles=[LocalFile("in.txt"), LocalFile(namePattern="*.dat", localDir="/tmp")],
                    outputfiles=[LocalFile("out.txt"), LocalFile("*.root")],
                    postprocessors=[TextMerger(files=["stdout"]),
                                    FileChecker(files=["stdout"], searchStrings=[AWKWARD])])
        split = Job(splitter=ArgSplitter(args=[[AWKWARD], ["2"], []]))
        numbers = ArgSplitter(args=[[1, 2.5, True, None], [(3, "x"), []], [[4, [5.0]]]])
        found = [(stripProxy(j), "") for j in (plain, files, split)] + [(stripProxy(split), "subjobs")]
        found += [(stripProxy(numbers), ""), (stripProxy(files).application, ""),
                  (stripProxy(files).inputfiles, ""), (stripProxy(split).splitter, "")]
        return found

    def test_every_kind_of_object_is_written_as_the_print_writer_writes_it(self):
        for obj, ignore in self._objects():
            assert _joined(obj, ignore) == _stock(obj, ignore), (type(obj).__name__, ignore)
            assert _joined(obj, [ignore]) == _stock(obj, [ignore])

    def test_an_object_that_cannot_be_written_is_an_xml_file_error_and_writes_nothing(self):
        from GangaCore.Core.GangaRepository.VStreamer import XMLFileError
        from GangaCore.GPI import Job
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        job = stripProxy(Job())

        class Unwritable:
            def __repr__(self):
                raise ValueError("no repr")

        from GangaCore.Core.GangaRepository.VStreamer import to_file

        job.application._data["exe"] = Unwritable()  # a value no repr can take
        out = io.StringIO()
        try:
            with pytest.raises(XMLFileError, match="no repr"):
                to_file(job, out)
        finally:
            job.application._data["exe"] = "echo"
        assert out.getvalue() == ""
