"""Is the console inside the official OMERO.server container, where stopping the server
stops the container (and this console with it)?

Facts from ome/omero-server-docker: the image's entrypoint (``dumb-init`` running
``entrypoint.sh``) runs every ``/startup`` script, the last of which ``exec``s
``omero admin start --foreground``; OMERODIR is ``/opt/omero/server/OMERO.server``,
the repository ``/OMERO`` is a volume, and ``50-config.py`` rebuilds config.xml at every
start from ``/opt/omero/server/config/*.omero`` and the ``CONFIG_*`` variables. So the
server is the container's main process: ``omero admin stop`` ends the container, and a
rewritten config.xml is lost at the next start.

Everything is read from files under ``root`` (``/`` normally; ``$OMERO_TUI_HOST_ROOT``
or a test's temp tree otherwise), never from a guess.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from omero_tui.core.record import frozen
from omero_tui.core.server.proc_look import proc_file, proc_pids

ROOT_ENV = "OMERO_TUI_HOST_ROOT"
IMAGE_SERVER_DIR = "/opt/omero/server/OMERO.server"
IMAGE_CONFIG_DIR = "/opt/omero/server/config"
IMAGE_DATA_DIR = "/OMERO"
_CGROUP_WORDS = ("docker", "containerd", "kubepods", "libpod", "lxc")


@frozen
class ContainerContext:
    inside: bool  # some sign says this console runs in a container
    server_is_main: bool  # the OMERO server is the container's main process
    evidence: tuple[str, ...]  # each sign, in words, e.g. "/.dockerenv exists"
    server_pid: int | None = None  # the `admin start --foreground` process, as seen here

    @property
    def official_image(self) -> bool:
        return self.inside and self.server_is_main

    def describe(self) -> str:
        return "; ".join(self.evidence)


def host_root(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get(ROOT_ENV) or "/")


def detect_container(root: str | os.PathLike[str] | None = None) -> ContainerContext:
    """Signs of a container under ``root``: ``/.dockerenv``, ``/run/.containerenv``,
    a container cgroup or an overlay root in ``/proc/1``, and a foreground OMERO server
    (``admin start --foreground``) under PID 1 with the image's install dir."""
    base = host_root() if root is None else Path(root)
    evidence: list[str] = []
    for marker in (".dockerenv", "run/.containerenv"):
        if (base / marker).exists():
            evidence.append(f"/{marker} exists")
    cgroup = _read(base / "proc" / "1" / "cgroup")
    word = next((w for w in _CGROUP_WORDS if w in cgroup), None)
    if word:
        evidence.append(f"PID 1's cgroup names {word}")
    if _overlay_root(_read(base / "proc" / "1" / "mountinfo")):
        evidence.append("the root filesystem is an overlay (a container image's layers)")
    proc = str(base / "proc")
    pid1 = _cmdline(proc, 1)
    image_layout = (base / IMAGE_SERVER_DIR.lstrip("/")).is_dir()
    inside = bool(evidence)
    # Reading every process's command line is for containers only: on a host that
    # shows no sign of one, a foreground server is not a container's main process.
    could_be_main = inside or _is_entrypoint(pid1)
    server_pid = _foreground_server(proc, pid1) if could_be_main else None
    main = server_pid is not None
    if main:
        words = " ".join(pid1) if server_pid == 1 else f"pid {server_pid}, under {' '.join(pid1)}"
        evidence.append(f"the server runs as `omero admin start --foreground` ({words})")
        inside = True
    if inside and image_layout:
        evidence.append(f"the official image's layout ({IMAGE_SERVER_DIR}) is present")
    return ContainerContext(inside, main, tuple(evidence), server_pid)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _cmdline(proc: str, pid: int) -> tuple[str, ...]:
    try:
        raw = proc_file(pid, "cmdline", proc)  # this host's /proc: the check's one look
    except OSError:
        return ()
    return tuple(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)


def _overlay_root(mountinfo: str) -> bool:
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] == "/" and " - overlay " in line:
            return True
    return False


def _is_entrypoint(argv: Sequence[str]) -> bool:
    names = {os.path.basename(a) for a in argv}
    return "entrypoint.sh" in names or ("dumb-init" in names and len(argv) > 1)


def is_foreground_start(argv: Sequence[str]) -> bool:
    """``... omero admin start --foreground``: a server that IS its caller's process."""
    words = list(argv)
    for index, word in enumerate(words[:-1]):
        if word == "admin" and words[index + 1] == "start" and "--foreground" in words:
            return any(os.path.basename(w).startswith("omero") for w in words[:index])
    return False


def _foreground_server(proc: str, pid1: tuple[str, ...]) -> int | None:
    if is_foreground_start(pid1):
        return 1
    try:
        pids = sorted(proc_pids(proc))
    except OSError:
        return None
    for pid in pids:
        if pid != 1 and is_foreground_start(_cmdline(proc, pid)):
            return pid
    return None


def variables_for(keys: Sequence[str], env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(variable, property, value) for each ``CONFIG_*`` in ``env`` that sets one of
    ``keys``: only those a relocation changes are worth naming."""
    # Here, not at the top: every command that locates a server asks host_root().
    from omero_tui.core.config.sources import property_of_variable

    found = []
    for name in sorted(env):
        prop = property_of_variable(name)
        if prop is not None and prop in keys:
            found.append((name, prop, env[name]))
    return found


def volume_advice(source: str, target: str) -> str:
    """How a container's repository really moves, in one sentence."""
    return (
        f"stop the container, move or copy the volume that holds {source} (hidden .omero "
        f"included) to {target} on the host, then start the container with "
        f"`-v {target}:{source}` (compose: `volumes: - {target}:{source}`)"
    )
