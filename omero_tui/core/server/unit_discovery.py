"""The server named by its systemd unit, for when nothing else names it and none runs.

A stopped server leaves no processes to ask, but a loaded ``omero-server.service``
still says where the server is and who it runs as: the Ansible role's unit starts
``<OMERODIR>/bin/omero admin start`` as ``User=omero-server``; the OMERO docs' unit sets
``Environment=OMERODIR=...`` and starts the venv's ``omero``. When systemd runs, its own
view (``systemctl show``, drop-ins and EnvironmentFiles applied) is asked; otherwise (a
container, a rescue shell, a test root) the unit file is read from the usual dirs under
the host root.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from omero_tui.core.config.systemd_unit import (
    DEFAULT_UNIT,
    exec_argv,
    find_unit_file,
    parse_assignments,
    read_environment_file,
    read_unit,
    rooted_unit_dirs,
)
from omero_tui.core.discovery import RunningServerHint, looks_like_server_dir
from omero_tui.core.record import frozen, replace
from omero_tui.core.server.running import find_running_server, server_dir_above

SHOWN = (
    "LoadState",
    "ExecStart",
    "ExecStartPre",
    "Environment",
    "EnvironmentFiles",
    "User",
    "WorkingDirectory",
    "FragmentPath",
)


@frozen
class UnitView:
    """What a service unit says about the server it starts."""

    name: str
    path: str  # its unit file (FragmentPath)
    via: str  # how it was read: "as systemctl show gives it" or "from the file"
    user: str | None
    environment: Mapping[str, str]
    exec_start: tuple[tuple[str, ...], ...]  # the argv of each ExecStart
    working_directory: str | None


def find_server_from_system(root: Path | None = None) -> RunningServerHint | None:
    """The running server's processes first, then the loaded unit (slow: both are asked
    only when nothing else named the server)."""
    hint = find_running_server()
    if hint is not None and hint.server_dir:
        return hint
    from_unit = find_server_from_unit(root)
    if from_unit is None:
        return hint
    if hint is not None and hint.data_dir:  # the lock holder still knows the repository
        return replace(from_unit, data_dir=hint.data_dir, data_how=hint.data_how)
    return from_unit


def find_server_from_unit(
    root: Path | None = None, unit: str = DEFAULT_UNIT
) -> RunningServerHint | None:
    """Server dir and user from ``unit``, or None when no such unit is loaded or it
    names no server dir."""
    if root is None:
        from omero_tui.core.server.container import host_root  # here: costly to import

        root = host_root()
    view = unit_from_systemctl(unit) if systemd_is_running(root) else None
    view = view or unit_from_file(unit, root)
    if view is None:
        return None
    found = server_dir_of(view)
    if found is None:
        return None
    server_dir, key, line = found
    how = f"from the systemd unit {view.name} ({key})"
    user = f"; it runs the server as User={view.user}" if view.user else ""
    details = f"{view.path} ({view.via}) has {line}{user}"
    return RunningServerHint(
        server_dir, None, how, source="systemd unit", user=view.user, details=details
    )


def systemd_is_running(root: Path) -> bool:
    """systemd's own test (``sd_booted``): it runs when ``/run/systemd/system`` exists."""
    return (root / "run" / "systemd" / "system").is_dir()


def server_dir_of(view: UnitView) -> tuple[str, str, str] | None:
    """(server dir, the setting that named it, that setting's line): OMERODIR, then what
    ExecStart runs, then the working dir. An OMERODIR that is no install is still the
    unit's answer: the console then says the unit names no OMERO.server dir."""
    omerodir = view.environment.get("OMERODIR")
    by_omerodir = (omerodir, "OMERODIR", f"OMERODIR={omerodir}") if omerodir else None
    if by_omerodir and (looks_like_server_dir(by_omerodir[0]) or not view.exec_start):
        return by_omerodir
    for argv in view.exec_start:
        found = server_dir_above([a for a in argv if os.path.isabs(a)])
        if found:
            return found, "ExecStart", "ExecStart=" + " ".join(argv)
    workdir = (view.working_directory or "").lstrip("-!")
    if workdir.startswith("/") and looks_like_server_dir(workdir):
        return workdir, "WorkingDirectory", f"WorkingDirectory={workdir}"
    return by_omerodir


def unit_from_file(unit: str, root: Path) -> UnitView | None:
    name = unit if "." in unit else unit + ".service"
    path = find_unit_file(name, rooted_unit_dirs(root), ask_systemd=False)
    info = read_unit(path) if path else None
    if info is None:
        return None
    return UnitView(
        name,
        info.path,
        "read from the file",
        info.user,
        {n: v for n, v, _ in info.environment},
        tuple(tuple(exec_argv(c)) for c in info.exec_start),
        info.working_directory,
    )


def unit_from_systemctl(unit: str) -> UnitView | None:
    """systemd's view of a loaded unit; None when it is not loaded or cannot be asked."""
    # Here, not at the top: only a host where systemd runs pays for this import (and
    # no shutil.which first: a missing systemctl is an OSError here too).
    import subprocess

    name = unit if "." in unit else unit + ".service"
    try:
        done = subprocess.run(
            ["systemctl", "show", name, "--property=" + ",".join(SHOWN)],
            capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    shown = parse_show(done.stdout)
    if done.returncode != 0 or _first(shown, "LoadState") != "loaded":
        return None
    env: dict[str, str] = {}
    for line in shown.get("EnvironmentFiles", []):
        # "/etc/omero.env (ignore_errors=no)": systemd applies the files after Environment=
        path = line.rsplit(" (ignore_errors=", 1)[0]
        env.update((n, v) for n, v, _ in read_environment_file(path))
    for line in shown.get("Environment", []):
        env = {**dict(parse_assignments(line)), **env}
    return UnitView(
        name,
        _first(shown, "FragmentPath") or name,
        "as systemctl show gives it",
        _first(shown, "User") or None,
        env,
        tuple(_exec_argv(line) for line in shown.get("ExecStart", [])),
        _first(shown, "WorkingDirectory") or None,
    )


def parse_show(text: str) -> dict[str, list[str]]:
    """``Name=value`` lines of ``systemctl show``; a name repeats for each Exec command."""
    shown: dict[str, list[str]] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            shown.setdefault(name, []).append(value)
    return shown


def _first(shown: Mapping[str, Sequence[str]], name: str) -> str:
    values = shown.get(name) or [""]
    return values[0].strip()


def _exec_argv(value: str) -> tuple[str, ...]:
    """``{ path=/x ; argv[]=/x admin start ; ignore_errors=no ; ... }`` -> its argv."""
    for part in value.strip().strip("{}").split(" ; "):
        key, _, rest = part.strip().partition("=")
        if key == "argv[]":
            return tuple(rest.split())
    return ()
