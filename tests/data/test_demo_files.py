"""`demo-data` / `demo` never delete a user's files (issue 24, item 1).

Every test puts a user's file where the old code deleted it (inside a class folder) and checks it
is still there, byte for byte, after the command.
"""

from __future__ import annotations

import json
from pathlib import Path

from eventsnn.cli import main
from eventsnn.data.demo import MANIFEST, MARKER

ARGS = ["--limit", "12", "--size", "32", "--workers", "1"]


def _demo_data(root: Path, *extra: str) -> int:
    return main(["demo-data", "--root", str(root), *ARGS, *extra])


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _users_files(root: Path) -> dict[Path, bytes]:
    (root / "3").mkdir(parents=True, exist_ok=True)
    files = {
        root / "3" / "my_recording.aedat4": b"a user's recording",
        root / "3" / "notes.txt": b"do not lose",
        root / "notes.md": b"mine",
    }
    for path, data in files.items():
        path.write_bytes(data)
    return files


def _assert_kept(files: dict[Path, bytes]) -> None:
    for path, data in files.items():
        assert path.read_bytes() == data, path


def test_a_folder_demo_data_did_not_write_is_refused_and_untouched(tmp_path, capsys):
    root = tmp_path / "mine"
    files = _users_files(root)
    for extra in ((), ("--force",)):
        assert _demo_data(root, *extra) == 2
        line = _one_line(capsys)
        assert line == (
            f"eventsnn demo-data: error: {root} is not empty and was not written by demo-data (it holds "
            "3/, notes.md); nothing was changed: give a new or empty folder for the demo data"
        )
        _assert_kept(files)
        assert sorted(p.name for p in root.rglob("*")) == [
            "3",
            "my_recording.aedat4",
            "notes.md",
            "notes.txt",
        ]


def test_force_replaces_only_the_files_demo_data_wrote(tmp_path, capsys):
    root = tmp_path / "dd"
    assert _demo_data(root) == 0
    ours = sorted(p.relative_to(root).as_posix() for p in root.glob("*/*.aedat4"))
    assert len(ours) == 12
    listed = [ln for ln in (root / MARKER).read_text().splitlines() if not ln.startswith("#")]
    assert listed == ours  # the marker lists exactly the recordings written
    files = _users_files(root)  # the user adds files into the demo folder, one in a class folder
    capsys.readouterr()
    assert _demo_data(root) == 0  # complete: nothing to do, the user's recording does not count
    assert "nothing to do" in capsys.readouterr().out
    first = root / ours[0]
    first.write_bytes(b"damaged")  # one of ours, damaged: --force rewrites it
    assert _demo_data(root, "--force") == 0
    out = capsys.readouterr().out
    assert "keeping 3 files demo-data did not write" in out
    _assert_kept(files)
    assert first.read_bytes()[:8] != b"damaged"
    assert json.loads((root / MANIFEST).read_text())["recordings"] == 12
    # fewer recordings: the ones no longer planned are removed, the user's files stay
    assert main(["demo-data", "--root", str(root), "--limit", "5", "--size", "32", "--workers", "1"]) == 0
    assert len([p for p in root.glob("*/*.aedat4") if p.name != "my_recording.aedat4"]) == 5
    _assert_kept(files)


def test_a_users_file_where_a_recording_goes_is_refused(tmp_path, capsys):
    root = tmp_path / "dd"
    assert _demo_data(root) == 0
    (root / MARKER).write_text((root / MARKER).read_text().replace("0/0_0000.aedat4\n", ""))
    (root / "0" / "0_0000.aedat4").write_bytes(b"the user's own 0_0000")  # not listed: the user's
    capsys.readouterr()
    assert _demo_data(root, "--force") == 2
    assert _one_line(capsys) == (
        f"eventsnn demo-data: error: {root / '0' / '0_0000.aedat4'} was not written by demo-data and is "
        "where a demo recording goes; nothing was changed: move it or give another folder"
    )
    assert (root / "0" / "0_0000.aedat4").read_bytes() == b"the user's own 0_0000"
    assert (root / MANIFEST).is_file()  # nothing deleted


def test_a_folder_from_before_the_marker_is_recognised_by_its_manifest(tmp_path, capsys):
    root = tmp_path / "dd"
    assert _demo_data(root) == 0
    (root / MARKER).unlink()  # as eventsnn 0.1 wrote it: recordings and MANIFEST.json only
    files = _users_files(root)
    assert _demo_data(root, "--force") == 0
    _assert_kept(files)
    assert (root / MARKER).is_file()


def test_demo_on_a_users_folder_stops_before_anything(tmp_path, capsys):
    root = tmp_path / "mine"
    files = _users_files(root)
    out = tmp_path / "runs"
    rc = main(["demo", "--out", str(out), "--limit", "12", "--set", f"data.root={root}"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith(f"eventsnn demo: error: {root} is not empty and was not")
    assert "Traceback" not in err
    _assert_kept(files)
    assert not out.exists()
