"""ganlib.files: a file is replaced whole or not at all."""

import os

import pytest

from ganlib.files import atomic_write


def test_atomic_write_writes_beside_the_target_and_renames_it_into_place(tmp_path):
    target = tmp_path / "new" / "folder" / "notes.txt"
    seen = []

    def write(tmp):
        seen.append(tmp)
        with open(tmp, "w") as f:
            f.write("hello")

    assert atomic_write(target, write) == target
    assert target.read_text() == "hello"
    # same folder, so the rename is atomic; a hidden name, so no reader mistakes it for the file
    assert os.path.dirname(seen[0]) == str(target.parent)
    assert os.path.basename(seen[0]).startswith(".notes.txt.")
    assert os.listdir(target.parent) == ["notes.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("old")

    def crash(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, crash)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["notes.txt"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_the_file_gets_the_umasks_permissions_not_mkstemps(umask, mode, tmp_path):
    old = os.umask(umask)
    try:
        path = atomic_write(tmp_path / "f", lambda tmp: open(tmp, "w").close())
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode
    assert os.umask(old) == old  # the process's umask is left as it was
