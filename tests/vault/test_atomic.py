"""Atomic writes give files the mode a plain open() would, and keep the mode of a file they replace."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from yt_study_buddy.vault.atomic import _UMASK, atomic_write_text

pytestmark = pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX permissions only")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_file_gets_0666_less_the_umask(tmp_path):
    target = tmp_path / "new.md"
    atomic_write_text(target, "hello\n")
    assert mode(target) == 0o666 & ~_UMASK
    plain = tmp_path / "plain.md"
    plain.write_text("x")
    assert mode(target) == mode(plain)  # the same as an ordinary open() in this process


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_umask_of_the_process_is_honoured(tmp_path, umask, expected):
    target = tmp_path / "note.md"
    code = ("import os, sys; os.umask(int(sys.argv[1], 8)); from yt_study_buddy.vault.atomic import atomic_write_text; "
            "atomic_write_text(sys.argv[2], 'x')")
    subprocess.run([sys.executable, "-c", code, oct(umask)[2:], str(target)], check=True)
    assert mode(target) == expected


@pytest.mark.parametrize("existing", [0o644, 0o600, 0o664, 0o640])
def test_rewrite_keeps_the_mode_of_the_file_it_replaces(tmp_path, existing):
    target = tmp_path / "note.md"
    target.write_text("old\n")
    os.chmod(target, existing)
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert mode(target) == existing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note.md"]


def test_umask_read_does_not_change_it():
    before = os.umask(0o022)
    try:
        from yt_study_buddy.vault import atomic
        assert atomic._read_umask() == 0o022
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(before)
