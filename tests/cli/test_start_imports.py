"""What a monitoring run loads: nothing its path does not use (issue 18).

``usage --json --quick`` and ``check --json --quick`` run every few minutes from cron;
each module loaded costs every run. These run the real commands in a subprocess and
look at ``sys.modules`` when they exit. Modules that only some hosts need (a config.xml
found, a server process seen) are asserted absent only when the run found neither.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from omero_tui.core.layout.subdirs import STANDARD_SUBDIRS

WRAPPER = (
    "import atexit, os, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules))))\n"
    # A forked child (check's other areas, a scan worker) leaves by os._exit: its own.
    "leave = os._exit\n"
    "def _leave(code):\n"
    "    sys.stderr.write('\\nCHILD ' + ' '.join(sorted(sys.modules)) + '\\n')\n"
    "    sys.stderr.flush()\n"
    "    leave(code)\n"
    "os._exit = _leave\n"
    "from omero_tui.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
# dataclasses (and the inspect it loads) would mean a stdlib dataclass on the path:
# records (core/record.py) create their classes without compiling anything.
NEVER = {"hashlib", "secrets", "textual", "tomlkit", "psycopg", "dataclasses", "inspect"}


def run(tmp_path: Path, *args: str) -> tuple[str, set[str]]:
    """(stdout, the modules loaded by the command and any child it forked)."""
    out, modules, children = run_apart(tmp_path, *args)
    return out, modules.union(*children)


def run_apart(tmp_path: Path, *args: str) -> tuple[str, set[str], list[set[str]]]:
    """(stdout, the command's own modules, each forked child's)."""
    data = tmp_path / "data"
    for name, _ in STANDARD_SUBDIRS:
        (data / name).mkdir(parents=True, exist_ok=True)
    (data / "Files" / "1").write_bytes(b"x" * 100)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "OMERO")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),  # no settings file
        OMERO_TUI_HOST_ROOT=str(tmp_path / "host"),  # no systemd, no unit file
    )
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args, "--data-dir", str(data)],
        capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode in (0, 1, 2), result.stderr
    modules = set(result.stderr.rpartition("MODULES ")[2].split())
    assert "omero_tui.cli" in modules, result.stderr
    children = [
        set(line.split()[1:]) for line in result.stderr.splitlines() if line.startswith("CHILD ")
    ]
    return result.stdout, modules, children


def _found_a_server(modules: set[str]) -> bool:
    """A config.xml read or a server process looked at: what another host may not do."""
    return "omero_tui.core.config.xml_file" in modules or "psutil" in modules


def test_usage_quick_loads_only_its_path(tmp_path: Path) -> None:
    _, modules = run(tmp_path, "usage", "--json", "--quick")
    assert "omero_tui.core.usage.service" in modules  # it sees the command's own modules
    assert not modules & NEVER
    assert not modules & {"omero_tui.core.config.sources", "omero_tui.core.health"}
    if not _found_a_server(modules):
        assert not modules & {
            "typing", "subprocess", "shutil", "omero_tui.core.config.omero_files"
        }  # fmt: skip


def test_check_quick_loads_no_probe_no_deep_walk_no_unused_database(tmp_path: Path) -> None:
    out, modules = run(tmp_path, "check", "--json", "--quick")
    assert not modules & NEVER
    for unused in (
        "omero_tui.core.locks.probe",
        "omero_tui.core.locks.probe_model",
        "omero_tui.core.perms.deep",
        "omero_tui.core.usage.files",
    ):
        assert unused not in modules
    report = json.loads(out)
    database = next(a for a in report["areas"] if a["area"] == "database")
    if "no database configured" in database["headline"]:
        assert "omero_tui.core.database.check" not in modules
    if report["server_dir"] is None and not _found_a_server(modules):
        assert not modules & {"typing", "xml.etree.ElementTree"}


def test_check_quick_scans_here_and_checks_the_other_areas_in_a_child(tmp_path: Path) -> None:
    """The scan's process loads no other area's modules: a forked child checks those
    while it scans (health.aside), so ``check --quick`` costs about ``usage --quick``."""
    _, modules, children = run_apart(tmp_path, "check", "--json", "--quick")
    others = {
        "omero_tui.core.health.areas",
        "omero_tui.core.layout.inspection",
        "omero_tui.core.locks.health",
        "omero_tui.core.perms.check",
        "omero_tui.core.server.deployment",  # the Layout area's notes, added there
    }
    assert not modules & others
    (child,) = [c for c in children if "omero_tui.core.health.areas" in c]
    assert others <= child
    assert "omero_tui.core.usage.service" not in child  # forked before the scan's modules load
