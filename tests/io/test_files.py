"""Atomic writes: whole files, normal permissions, nothing left behind on failure."""

import os
import stat

import pytest

from orchmilp.io.files import write_json_atomic, write_text_atomic


def test_new_files_get_the_umask_mode_and_old_files_keep_theirs(tmp_path):
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "plan.json"
        write_json_atomic(fresh, {"a": 1})
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        script = tmp_path / "run.sh"
        script.write_text("old")
        script.chmod(0o750)
        write_text_atomic(script, "new")
        assert script.read_text() == "new"
        assert stat.S_IMODE(script.stat().st_mode) == 0o750
    finally:
        os.umask(old)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_json_atomic(target, {"x": object()})
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]
