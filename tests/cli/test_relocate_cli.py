"""``omero-tui relocate`` as a real process: one-line refusals, dry runs that change
nothing, JSON lines, and the demo repository moved across filesystems."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from omero_tui.cli import main
from omero_tui.core.demo.sandbox import DemoSandbox
from omero_tui.core.demo.session import DemoSession
from omero_tui.core.demo.standin_server import running_pid
from omero_tui.core.discovery import discover
from tests.core.relocation.helpers import cli, mount_tmpfs, snapshot, unmount


def env_for(box: DemoSandbox, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OMERO_CONFIG"}
    env.update(
        OMERODIR=str(box.server_dir),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        OMERO_TUI_TESTONLY_START_SETTLE_S="0.2",
    )
    return env


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("omero-tui: ")
    return lines[0]


def test_bad_input_is_one_line_and_changes_nothing(
    demo_sandbox: DemoSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = env_for(demo_sandbox, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (demo_sandbox.second_volume / "notes.txt").write_text("an admin's file\n")
    before = snapshot(demo_sandbox.root)
    done = cli("relocate", "--to", "relative/OMERO", "--yes", env=env)  # one real process
    assert done.returncode == 1
    assert "relative path" in one_line_error(done.stderr)
    for args, words in [
        ((), "give --to DEST"),
        (("--to", "/x", "--remove-source"), "give one of"),
        (("--to", "/x", "--resume"), "no interrupted relocation"),
        (("--to", "relative/OMERO", "--yes"), "relative path"),
        (("--to", str(demo_sandbox.data_dir / "Pixels" / "x"), "--yes"), "inside"),
        (("--to", str(demo_sandbox.second_volume)), "not empty"),
        (("--resume",), "no interrupted relocation"),
        (("--rollback",), "nothing to roll back"),
        (("--remove-source",), "there is no relocation"),
        (("--to", "~/OMERO", "--yes"), "not expanded here"),
        (("--to", "'/data/OMERO'", "--yes"), "quote characters"),
        (("--to", '"/data/OMERO"', "--yes"), "quote characters"),
        (("--to", "/data/../OMERO", "--yes"), ". or .. components"),
        (("--to", "/data/$(touch /tmp/pwned)", "--yes"), "shell characters"),
        (("--to", "/data/OMERO;reboot", "--yes"), "shell characters"),
        (("--to", "/data/OMERO\nreboot", "--yes"), "control characters"),
        (("--to", "/data/OM\x00ERO", "--yes"), "control characters"),
    ]:
        assert main(["relocate", *args]) == 1, args  # the rest in-process: quicker
        assert words in one_line_error(capsys.readouterr().err), args
    assert snapshot(demo_sandbox.root) == before
    assert not (tmp_path / "state" / "omero-tui" / "relocations").exists()


def test_dry_run_prints_the_plan_and_changes_nothing(
    demo_sandbox: DemoSandbox, tmp_path: Path
) -> None:
    env = env_for(demo_sandbox, tmp_path)
    target = demo_sandbox.second_volume / "OMERO"
    # Access times aside (reading config.xml and repo_uuid updates theirs, as any reader
    # does), nothing may change: not a byte, a mode, an owner or a modification time.
    before = snapshot(demo_sandbox.root)
    done = cli("relocate", "--to", str(target), "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())  # wrapped at 80 columns
    assert "Relocation plan" in out and f"omero.data.dir = {target}" in out
    assert "rename: source and target are on the same filesystem" in out
    assert "Dry run: nothing was changed." in out
    assert snapshot(demo_sandbox.root) == before
    assert not (tmp_path / "state" / "omero-tui" / "relocations").exists()
    as_json = cli("relocate", "--to", str(target), "--dry-run", "--json", env=env)
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert events[0]["event"] in ("progress", "plan")
    plan = next(e for e in events if e["event"] == "plan")
    assert plan["method"] == "rename" and plan["target"] == str(target)
    assert {e["status"] for e in events if e["event"] == "check"} == {"pass"}


def test_without_yes_and_no_terminal_it_asks_instead_of_acting(
    demo_sandbox: DemoSandbox, tmp_path: Path
) -> None:
    env = env_for(demo_sandbox, tmp_path)
    done = cli("relocate", "--to", str(demo_sandbox.second_volume / "OMERO"), env=env)
    assert done.returncode == 1
    assert "confirmation needed" in one_line_error(done.stderr)
    assert demo_sandbox.data_dir.is_dir()


def test_moves_the_demo_repository_across_filesystems(tmp_path: Path) -> None:
    with DemoSession(tmp_path / "demo") as session:
        box = session.sandbox
        disk = box.second_volume / "disk"
        mount_tmpfs(disk)
        try:
            env = env_for(box, tmp_path)
            target = disk / "OMERO"
            refused = cli("relocate", "--to", str(target), "--yes", "--json", env=env)
            assert refused.returncode == 1  # in RAM: --yes alone does not accept it
            assert "lost at the next reboot" in refused.stderr
            assert "--lost-at-reboot" in refused.stderr
            assert not target.exists()
            args = ("relocate", "--to", str(target), "--yes", "--lost-at-reboot", "--json")
            done = cli(*args, env=env)
            assert done.returncode == 0, done.stderr
            events = [json.loads(line) for line in done.stdout.splitlines()]
            result = events[-1]
            assert result["event"] == "result" and result["outcome"] == "complete"
            assert any("Data directory moved" in n["message"] for n in result["notes"])
            steps = [e["step"] for e in events if e["event"] == "step" and e["state"] == "done"]
            assert steps == ["stop", "prepare", "copy", "verify", "config", "start", "finish"]
            progress = [e for e in events if e["event"] == "progress" and e["step"] == "copy"]
            assert progress and progress[-1]["files_done"] == progress[-1]["files_total"]
            location = discover(server_dir_arg=str(box.server_dir), env=session.env, candidates=[])
            assert location.data_dir.value == str(target)
            assert running_pid(box.server_dir) is not None
        finally:
            unmount(disk)  # lazily: the session then stops its server
