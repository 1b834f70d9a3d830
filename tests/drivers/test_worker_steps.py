"""The worker-process steps (``drivers.outputs``, ``integration.postprocess_files``), run directly."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from GangaMonitoring.integration.postprocess_files import merge_text_files


def test_two_merges_of_one_output_at_once_each_write_a_whole_file(tmp_path: Path) -> None:
    """A merge that timed out goes on in its worker process while the retry merges the same output
    (issue 18, correctness 4): with one fixed ``.part`` name, the second truncated and renamed the
    first's file under it, the first then wrote into the final file and failed at its rename."""
    early = tmp_path / "early.txt"
    early.write_text("from the retry\n")
    late = tmp_path / "late.fifo"
    os.mkfifo(late)  # the first merge opens its output, then waits here for its input
    output = str(tmp_path / "merged.txt")
    outcome: list[object] = []

    def first() -> None:
        try:
            outcome.append(merge_text_files([str(late)], output, compress=False))
        except BaseException as error:  # noqa: BLE001 - the test reports it
            outcome.append(error)

    slow = threading.Thread(target=first)
    slow.start()
    retried, _pid = merge_text_files([str(early)], output, compress=False)
    assert "from the retry" in Path(retried).read_text()
    with open(late, "w") as writer:  # now the first merge reads its input and finishes
        writer.write("from the first\n")
    slow.join(timeout=10)
    assert not slow.is_alive()
    assert isinstance(outcome[0], tuple), outcome
    merged = Path(output).read_text()
    assert merged.count("# Ganga TextMergeTool") == 1 and merged.endswith("# Ganga Merge Ended Successfully #\n")
    assert "from the first" in merged and "from the retry" not in merged
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_the_second_of_two_unpacks_of_one_output_finds_it_done(tmp_path: Path) -> None:
    """The step that timed out finished after its retry had removed the tarball: both succeed."""
    import io
    import tarfile

    from GangaMonitoring.drivers.base import FinishedWork
    from GangaMonitoring.drivers.outputs import unpack_retrieved

    outputdir = tmp_path / "7" / "output"
    outputdir.mkdir(parents=True)
    tarball = outputdir / ".sandbox-42.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        data = b"hello\n"
        info = tarfile.TarInfo("stdout")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    work = FinishedWork(job_key=(7, None), fqid="7", backend="SimGrid", backend_id=42, outputdir=str(outputdir),
                        final_status="completed")
    assert work.job_key.top == 7 and work.job_key.sub is None  # a plain pair becomes a JobKey
    assert unpack_retrieved(work, str(tarball)) == ["stdout"]  # the retry, first to end
    assert not tarball.exists()
    assert unpack_retrieved(work, str(tarball)) == ["stdout"]  # the one that timed out: was FileNotFoundError
    assert (outputdir / "stdout").read_text() == "hello\n"
