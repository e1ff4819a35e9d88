"""A stopped server found from its loaded ``omero-server.service`` (systemd is a stand-in).

Nothing names the server: no --server-dir, no OMERODIR, no settings file, no install at
a common location, and no server process runs (it is stopped). The Ansible role's unit,
rendered from the role's template and written for real under a temp host root, still
says where the server is (its ExecStart) and who runs it (User=); the OMERO docs' unit
says it with ``Environment=OMERODIR``. Read from the unit file when systemd does not run
(as here), and through ``systemctl show`` when it does: that ``systemctl`` is the
deployment models' stand-in, printing what systemd prints.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.core.discovery import COMMON_SERVER_DIRS, discover, looks_like_server_dir
from omero_tui.core.server.running import find_running_server
from omero_tui.core.server.unit_discovery import find_server_from_unit
from tests.deployments.ansible_model import AnsibleModel, build_ansible_model, current_user
from tests.deployments.kit import CWD_MARK, hand_install, run_cli

# The same worker as every test that runs a stand-in server: a running one would be
# found first, and rightly so.
pytestmark = pytest.mark.xdist_group("running-servers")


@pytest.fixture
def model() -> Iterator[AnsibleModel]:
    base = Path(tempfile.mkdtemp(prefix="otui-unit-", dir="/tmp"))
    base.chmod(0o755)
    try:
        yield build_ansible_model(base / "root")  # built, never started: no process runs
    finally:
        shutil.rmtree(base, ignore_errors=True)


def nothing_else_names_a_server() -> None:
    """The fallback is only reached when this machine has no install at a common place
    and no server runs (another session's stand-in may run here)."""
    if any(looks_like_server_dir(d) for d in COMMON_SERVER_DIRS):
        pytest.skip("this machine has an OMERO.server at a common location")
    if find_running_server() is not None:
        pytest.skip("an OMERO server (or another test's stand-in) runs on this machine")


def console_env(model: AnsibleModel, **extra: str) -> dict[str, str]:
    """A root shell on the model's host: no OMERODIR, the stand-in systemctl on PATH."""
    return {
        "OMERO_TUI_HOST_ROOT": str(model.root),
        "PATH": f"{model.bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        **extra,
    }


def test_role_unit_file_names_server_dir_and_user_without_systemd(model: AnsibleModel) -> None:
    hint = find_server_from_unit(model.root)
    assert hint is not None
    assert hint.server_dir == str(model.server_dir)
    assert hint.user == model.user and hint.source == "systemd unit"
    assert hint.how == "from the systemd unit omero-server.service (ExecStart)"
    assert f"ExecStart={model.server_dir}/bin/omero admin start" in hint.details
    assert str(model.unit) in hint.details and "read from the file" in hint.details


def test_standin_systemctl_show_is_asked_when_systemd_runs(
    model: AnsibleModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    (model.root / "run" / "systemd" / "system").mkdir(parents=True)  # sd_booted's mark
    monkeypatch.setenv("PATH", console_env(model)["PATH"])
    hint = find_server_from_unit(model.root)
    assert hint is not None and hint.server_dir == str(model.server_dir)
    assert hint.user == model.user
    assert "as systemctl show gives it" in hint.details, hint.details


def test_no_unit_no_answer(tmp_path: Path) -> None:
    assert find_server_from_unit(tmp_path) is None


def test_docs_unit_with_omerodir_and_environment_file_standin_systemd(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The OMERO docs' unit: the venv's ``omero`` runs, ``Environment=OMERODIR`` names the
    server; an ``EnvironmentFile=`` wins over ``Environment=``, as in systemd."""
    root = Path(tempfile.mkdtemp(prefix="otui-unit-", dir="/tmp"))
    try:
        install = hand_install(root)
        units = root / "etc" / "systemd" / "system"
        units.mkdir(parents=True)
        env_file = root / "etc" / "omero-server.env"
        env_file.write_text(f"# settings.env\nexport OMERODIR={install.server_dir}\n")
        (units / "omero-server.service").write_text(
            "[Unit]\nDescription=OMERO.server\nAfter=network.service\n\n[Service]\n"
            "User=omero-server\nType=forking\nRestart=no\nTimeoutSec=300\n"
            'Environment="PATH=/opt/omero/server/venv3/bin:/usr/bin"\n'
            'Environment="OMERODIR=/nowhere/OMERO.server"\n'
            f"EnvironmentFile={env_file}\n"
            "ExecStart=/opt/omero/server/venv3/bin/omero admin start\n"
            "ExecStop=/opt/omero/server/venv3/bin/omero admin stop\n\n"
            "[Install]\nWantedBy=multi-user.target\n"
        )
        from_file = find_server_from_unit(root)
        assert from_file is not None and from_file.server_dir == str(install.server_dir)
        assert "(OMERODIR)" in from_file.how and from_file.user == "omero-server"
        (root / "run" / "systemd" / "system").mkdir(parents=True)
        from tests.deployments.standin_systemctl import install_systemctl

        bin_dir = install_systemctl(root)
        monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ.get('PATH', '/usr/bin')}")
        shown = find_server_from_unit(root)
        assert shown is not None and shown.server_dir == str(install.server_dir)
        assert "systemctl show" in shown.details
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_discover_says_the_server_came_from_the_unit(model: AnsibleModel) -> None:
    location = discover(env={}, candidates=(), running=lambda: find_server_from_unit(model.root))
    assert location.server_dir.value == str(model.server_dir)
    assert location.server_dir.how.startswith("from the systemd unit omero-server.service")
    assert location.server_user is not None and location.server_user.value == model.user
    assert location.data_dir.value == str(model.data_dir)
    (note,) = [n for n in location.notes if n.code == "layout.found_from_unit"]
    assert "or running server process" in note.message.replace("\n", " ")


def test_layout_with_no_options_finds_stopped_server_from_unit_standin_systemd(
    model: AnsibleModel,
) -> None:
    nothing_else_names_a_server()
    cwd = model.root / CWD_MARK
    cwd.mkdir()
    result = run_cli(["layout"], cwd=cwd, env=console_env(model))
    words = " ".join(result.stdout.split())
    assert f"Server dir {model.server_dir}" in words, result.stdout + result.stderr
    assert "from the systemd unit omero-server.service" in words
    assert f"Data dir {model.data_dir}" in words
    assert "found from the systemd unit" in words and str(model.unit) in words
    data = json.loads(run_cli(["layout", "--json"], cwd=cwd, env=console_env(model)).stdout)
    assert "layout.found_from_unit" in [f["code"] for f in data["findings"]]


def test_perms_judges_the_units_user_for_a_stopped_server_standin_systemd(
    server_user: str,
) -> None:
    """The unit's User=, not root (the owner of var/ or the console's own user)."""
    if server_user == current_user():
        pytest.skip("no scratch server account here: the unit's user would be root")
    base = Path(tempfile.mkdtemp(prefix="otui-unit-", dir="/tmp"))
    base.chmod(0o755)
    try:
        model = build_ansible_model(base / "root", user=server_user)
        (model.server_dir / "var").chmod(0o700)  # var/ owned by root: not the answer
        os.chown(model.server_dir / "var", 0, 0)
        nothing_else_names_a_server()
        cwd = model.root / CWD_MARK
        cwd.mkdir()
        result = run_cli(["perms", "--json"], cwd=cwd, env=console_env(model))
        user = json.loads(result.stdout)["user"]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert user["name"] == server_user and user["source"] == "unit", user
    assert "User= of the unit" in user["how"]


def test_a_unit_user_unknown_here_is_said_and_the_next_source_judged(model: AnsibleModel) -> None:
    from omero_tui.core.perms.server_user import determine_server_user

    model.unit.write_text(model.unit.read_text().replace(f"User={model.user}", "User=no-such-x"))
    location = discover(env={}, candidates=(), running=lambda: find_server_from_unit(model.root))
    assert location.server_user is not None and location.server_user.value == "no-such-x"
    decision = determine_server_user(location, processes=[])
    assert decision.user.source == "var owner", decision.user
    (warning,) = [f for f in decision.findings if f.code == "perms.unit_user_unknown"]
    assert "'no-such-x'" in warning.message
