"""Unpacking outputs: nothing escapes the directory, with tarfile's data filter and without it (Python < 3.11.4)."""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from GangaMonitoring import _tarballs


def tarball(path: Path, *members: tuple[str, bytes | None, str | None]) -> Path:
    """(name, content, link target): a file when content is given, else a symlink to the target."""
    with tarfile.open(path, "w:gz") as tar:
        for name, content, target in members:
            info = tarfile.TarInfo(name)
            if content is not None:
                info.size, info.mode = len(content), 0o4777
                tar.addfile(info, io.BytesIO(content))
            else:
                info.type, info.linkname = tarfile.SYMTYPE, target or ""
                tar.addfile(info)
    return path


@pytest.fixture(params=["data filter", "without it"])
def python(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "without it":  # as on Python 3.11.2 (Debian 12's python3.11)
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    return str(request.param)


def test_plain_files_and_directories_are_unpacked(tmp_path: Path, python: str) -> None:
    path = tarball(tmp_path / "out.tgz", ("stdout", b"hello\n", None), ("sub/out_0.dat", b"x", None))
    with tarfile.open(path) as tar:
        _tarballs.extract_all(tar, str(tmp_path / "dest"))
    assert (tmp_path / "dest" / "stdout").read_text() == "hello\n"
    assert (tmp_path / "dest" / "sub" / "out_0.dat").read_bytes() == b"x"
    assert not os.stat(tmp_path / "dest" / "stdout").st_mode & 0o4002  # no set-uid, not writable by others


@pytest.mark.parametrize("member", [("../escaped", b"x", None), ("link", None, "/etc/passwd")],
                         ids=["dot-dot", "link-out"])
def test_a_member_leading_out_refuses_the_tarball(tmp_path: Path, python: str,
                                                  member: tuple[str, bytes | None, str | None]) -> None:
    path = tarball(tmp_path / "bad.tgz", ("stdout", b"ok", None), member)
    with tarfile.open(path) as tar, pytest.raises(tarfile.TarError):
        _tarballs.extract_all(tar, str(tmp_path / "dest"))
    assert not (tmp_path / "escaped").exists()


def test_an_absolute_name_never_lands_outside(tmp_path: Path, python: str) -> None:
    """The data filter writes it inside (its leading / dropped); without it the tarball is refused."""
    outside = tmp_path / "outside"
    path = tarball(tmp_path / "abs.tgz", (str(outside), b"x", None))
    with tarfile.open(path) as tar, contextlib.suppress(tarfile.TarError):
        _tarballs.extract_all(tar, str(tmp_path / "dest"))
    assert not outside.exists()
