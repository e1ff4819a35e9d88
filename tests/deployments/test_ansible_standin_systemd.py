"""The Ansible role's install, built for real in a temp root and driven through a
stand-in ``systemctl`` that honours ExecStartPre and User= (systemd cannot run here):
every start reloads ``/opt/omero/server/config/*.omero`` into config.xml, so a
relocation that rewrites config.xml alone would be undone by its own restart.

The real CLI runs against it: a template refuses before anything is touched, naming the
file and the inventory variable; a hand-kept file is rewritten with the explicit option
and the server ends up on the new location, surviving the next start too. It never ends
with the server down and the repository renamed."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from omero_tui.core.config.xml_file import read_config
from omero_tui.core.discovery import discover
from omero_tui.core.relocation.engine import EngineOptions, prepare_relocation, run_relocation
from tests.core.relocation.helpers import cli, snapshot
from tests.deployments.ansible_model import (
    AnsibleModel,
    build_ansible_model,
    stop_model,
)


@pytest.fixture
def model_root() -> Iterator[Path]:
    # Under /tmp with mode 0755 (pytest's tmp_path is 0700): a server user must reach it.
    base = Path(tempfile.mkdtemp(prefix="otui-ansible-", dir="/tmp"))
    base.chmod(0o755)
    yield base / "root"
    shutil.rmtree(base, ignore_errors=True)


# One worker for every test that runs a server or makes scratch users (useradd locks
# /etc/passwd), so no test sees another one's server.
pytestmark = pytest.mark.xdist_group("running-servers")


def running_model(root: Path, user: str, *, managed: bool) -> Iterator[AnsibleModel]:
    model = build_ansible_model(root, managed=managed, user=user)
    try:
        started = model.systemctl("start", "omero-server")
        assert started.returncode == 0, started.stderr + journal(model)
        main = int((model.server_dir / "var" / "master" / "master.pid").read_text().split()[0])
        assert psutil.Process(main).username() == user  # User= honoured: the scratch account
        yield model
    finally:
        stop_model(model)


@pytest.fixture
def ansible(model_root: Path, server_user: str) -> Iterator[AnsibleModel]:
    yield from running_model(model_root, server_user, managed=True)


@pytest.fixture
def hand_kept(model_root: Path, server_user: str) -> Iterator[AnsibleModel]:
    yield from running_model(model_root, server_user, managed=False)


def journal(model: AnsibleModel) -> str:
    path = model.root / "var" / "log" / "standin-journal.log"
    return path.read_text() if path.exists() else ""


def data_dir_in(config_xml: Path) -> str | None:
    doc = read_config(config_xml)
    return doc.properties(doc.stored_profile).get("omero.data.dir")


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_the_standin_start_reloads_the_omero_files(ansible: AnsibleModel) -> None:
    """What the console is up against: `omero config set` does not survive a restart."""
    omero = str(ansible.server_dir / "bin" / "omero")
    done = ansible.systemctl("stop", "omero-server")
    assert done.returncode == 0 and not ansible.is_active()
    subprocess.run([omero, "config", "set", "omero.data.dir", "/elsewhere"], check=True)
    assert data_dir_in(ansible.config_xml) == "/elsewhere"
    assert ansible.systemctl("start", "omero-server").returncode == 0, journal(ansible)
    assert data_dir_in(ansible.config_xml) == str(ansible.data_dir)
    assert f"--- omero-server.service: {ansible.basedir}/config/" in journal(ansible)


def test_a_template_refuses_before_anything_is_touched(
    ansible: AnsibleModel, tmp_path: Path
) -> None:
    target = ansible.root / "srv" / "OMERO"
    before = snapshot(ansible.root, skip=("var",))
    done = cli("relocate", "--to", str(target), "--yes", env=ansible.env(tmp_path))
    assert done.returncode == 1, done.stdout
    error = one_line(done.stderr)
    assert f"{ansible.omero_file}:10 (`config set omero.data.dir {ansible.data_dir}`)" in error
    assert f"omero_server_datadir: {target}" in error
    # The option does not make a template writable.
    again = cli(
        "relocate", "--to", str(target), "--yes", "--rewrite-config-sources",
        env=ansible.env(tmp_path),
    )  # fmt: skip
    assert again.returncode == 1 and "omero_server_datadir" in one_line(again.stderr)
    assert snapshot(ansible.root, skip=("var",)) == before
    assert ansible.is_active() and not target.exists()
    assert not (tmp_path / "state" / "omero-tui" / "relocations").exists()


def test_a_hand_kept_file_without_the_option_is_named_with_its_line(
    hand_kept: AnsibleModel, tmp_path: Path
) -> None:
    target = hand_kept.root / "srv" / "OMERO"
    done = cli("relocate", "--to", str(target), "--yes", env=hand_kept.env(tmp_path))
    assert done.returncode == 1
    error = one_line(done.stderr)
    assert f"change line 10 of {hand_kept.omero_file} to `config set omero.data.dir {target}`" in (
        error
    )
    assert "--rewrite-config-sources" in error
    assert hand_kept.is_active() and hand_kept.data_dir.is_dir() and not target.exists()


def test_with_the_option_the_server_ends_up_on_the_target_and_stays(
    hand_kept: AnsibleModel, tmp_path: Path
) -> None:
    target = hand_kept.root / "srv" / "OMERO"
    original = hand_kept.omero_file.read_bytes()
    done = cli(
        "relocate", "--to", str(target), "--yes", "--rewrite-config-sources", "--json",
        env=hand_kept.env(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr + journal(hand_kept)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[-1]["outcome"] == "complete"
    plan = next(e for e in events if e["event"] == "plan")
    assert plan["method"] == "rename"
    assert plan["source_changes"][0]["path"] == str(hand_kept.omero_file)
    assert hand_kept.is_active()
    assert f"config set omero.data.dir {target}\n" in hand_kept.omero_file.read_text()
    assert data_dir_in(hand_kept.config_xml) == str(target)
    backups = list(hand_kept.omero_file.parent.glob("00-omero-server.omero.bak-*"))
    assert [b.read_bytes() for b in backups] == [original]
    said = json.dumps(events)
    assert f"updating {hand_kept.config_xml} and {hand_kept.omero_file}" in said
    assert f"the previous one is kept as {backups[0]}" in said
    assert not hand_kept.data_dir.exists() and (target / "Pixels").is_dir()
    # The next start reloads the rewritten file: still on the target.
    assert hand_kept.systemctl("restart", "omero-server").returncode == 0, journal(hand_kept)
    assert data_dir_in(hand_kept.config_xml) == str(target)
    assert list((target / ".omero" / "repository").glob("*/.lock"))


def test_layout_shows_each_source_and_what_the_next_start_would_do(
    ansible: AnsibleModel, tmp_path: Path
) -> None:
    env = ansible.env(tmp_path)
    done = cli("layout", "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    by_key = {(s["kind"], s["key"]): s for s in report["config_sources"]}
    data = by_key[("omero file", "omero.data.dir")]
    assert (data["where"], data["line"], data["value"], data["is_template"], data["tool"]) == (
        str(ansible.omero_file), 10, str(ansible.data_dir), True, "Ansible",
    )  # fmt: skip
    assert by_key[("systemd unit", "ExecStartPre")]["where"] == str(ansible.unit)
    assert not [s for s in report["config_sources"] if s["key"] == "omero.db.pass"]
    # config.xml changed by hand while the server is stopped: the next start undoes it.
    assert ansible.systemctl("stop", "omero-server").returncode == 0
    omero = str(ansible.server_dir / "bin" / "omero")
    subprocess.run([omero, "config", "set", "omero.data.dir", "/elsewhere"], check=True)
    text = cli("layout", env=env)
    assert text.returncode == 2, text.stdout  # CRITICAL: /elsewhere does not exist
    said = " ".join(text.stdout.split())  # wrapped at 80 columns: compared word by word
    assert f"{ansible.omero_file}:10 omero.data.dir = {ansible.data_dir} [Ansible" in said
    assert f"WARNING: the next start sets omero.data.dir to {ansible.data_dir}" in said


def test_a_start_that_fails_after_the_rename_is_told_honestly_and_rolled_back(
    hand_kept: AnsibleModel, tmp_path: Path
) -> None:
    env = hand_kept.env(tmp_path)
    target = hand_kept.root / "srv" / "OMERO"
    original = hand_kept.omero_file.read_bytes()
    unit_text = hand_kept.unit.read_text()
    # From now on every start fails after reloading the .omero files (a broken mount
    # the unit waits for, say): the relocation's own start will fail.
    hand_kept.unit.write_text(
        unit_text.replace("ExecStart=", "ExecStartPre=/bin/false\nExecStart=")
    )
    done = cli("relocate", "--to", str(target), "--yes", "--rewrite-config-sources", env=env)
    assert done.returncode == 1
    assert "FAILED:" in done.stdout and "the server did not start" in done.stdout
    assert f"the repository was renamed to {target}" in " ".join(done.stdout.split())
    assert "untouched" not in done.stdout + done.stderr
    assert target.is_dir() and not hand_kept.data_dir.exists()
    # Something puts the old value back into config.xml meanwhile (as a start of the old
    # .omero file would): the rollback must not call the file someone else's.
    omero = str(hand_kept.server_dir / "bin" / "omero")
    subprocess.run([omero, "config", "set", "omero.data.dir", str(hand_kept.data_dir)], check=True)
    back = cli("relocate", "--rollback", "--yes", env=env)
    assert back.returncode == 0, back.stdout + back.stderr
    assert "never written by this relocation" not in back.stdout
    assert "already names the old location" in back.stdout
    assert hand_kept.omero_file.read_bytes() == original
    assert not list(hand_kept.omero_file.parent.glob("*.bak-*"))
    assert hand_kept.data_dir.is_dir() and not target.exists()
    hand_kept.unit.write_text(unit_text)
    assert hand_kept.systemctl("start", "omero-server").returncode == 0, journal(hand_kept)
    assert data_dir_in(hand_kept.config_xml) == str(hand_kept.data_dir)
    assert list((hand_kept.data_dir / ".omero" / "repository").glob("*/.lock"))


def test_a_source_added_after_the_preflight_stops_the_start_and_all_goes_back(
    hand_kept: AnsibleModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = hand_kept.env(tmp_path)
    monkeypatch.setenv("PATH", env["PATH"])  # the engine's systemctl is the stand-in
    target = hand_kept.root / "srv" / "OMERO"
    original = hand_kept.omero_file.read_bytes()
    options = EngineOptions(
        state_dir=tmp_path / "state", env=env, start_settle_s=0.2, rewrite_config_sources=True
    )
    location = discover(server_dir_arg=str(hand_kept.server_dir), env=env, candidates=[])
    prepared = prepare_relocation(location, str(target), options=options)
    assert prepared.preflight.ok, prepared.preflight.failures
    # Between the preflight and the start, someone adds a file that wins over ours.
    late = hand_kept.omero_file.parent / "99-late.omero"
    late.write_text(f"config set omero.data.dir {hand_kept.data_dir}\n")
    result = run_relocation(prepared, options=options)
    assert result.outcome == "aborted", result.message
    assert result.message.startswith(f"not started: {late}:1 (`config set omero.data.dir ")
    assert "everything was put back as it was" in result.message
    assert hand_kept.is_active() and hand_kept.data_dir.is_dir() and not target.exists()
    assert hand_kept.omero_file.read_bytes() == original
    assert data_dir_in(hand_kept.config_xml) == str(hand_kept.data_dir)
    assert list((hand_kept.data_dir / ".omero" / "repository").glob("*/.lock"))
