"""Where is the server, its configuration and its repository, and how do we know.

Every path comes with the reason it was chosen, because an admin looking at a
console that points at the wrong repository needs to see why at once.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PureWindowsPath

from omero_tui.core.config import ice_values
from omero_tui.core.findings import Finding, Severity, counted
from omero_tui.core.record import field, frozen, replace

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from omero_tui.core.config.xml_file import ConfigDocument

_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:")
DATA_DIR_KEY = "omero.data.dir"
MANAGED_DIR_KEY = "omero.managed.dir"

# Where OMERO.server is commonly installed: the reference Ansible role's symlink first.
COMMON_SERVER_DIRS: tuple[str, ...] = (
    "/opt/omero/server/OMERO.server",
    "/opt/omero/OMERO.server",
    "/opt/OMERO.server",
    "/home/omero/OMERO.server",
    "/home/omero-server/OMERO.server",
    "/usr/local/OMERO.server",
    r"C:\OMERO.server",
)


@frozen
class Determined:
    """A value the console worked out, with the reason in words (shown in the UI)."""

    value: str | None
    how: str  # e.g. "from OMERODIR", "omero.data.dir in config.xml (profile default)"


@frozen
class ServerLocation:
    server_dir: Determined  # value None when no server dir was found
    config_path: str | None  # $OMERODIR/etc/grid/config.xml when a server dir is known
    profile: Determined  # active configuration profile
    data_dir: Determined  # always has a value (platform default at worst)
    managed_dir: Determined  # always has a value
    properties: Mapping[str, str] = field(default_factory=dict)  # active profile, resolved
    config_error: str | None = None  # one line, when config.xml could not be read
    demo: bool = False  # True inside the embedded demo sandbox
    searched: tuple[str, ...] = ()  # the common install dirs looked at, when none was named
    asked_running: bool = False  # the running server (processes, systemd unit) was asked too
    # What the admin must know about how these were found (another profile in
    # OMERO_CONFIG, a server found from its processes, a Windows-era path, a container).
    notes: tuple[Finding, ...] = ()
    # Who the server runs as, when discovery learnt it (a systemd unit's User=).
    server_user: Determined | None = None

    @property
    def windows_paths(self) -> tuple[str, ...]:
        """The data and managed dir when they are Windows paths read on another OS."""
        return tuple(
            d.value
            for d in (self.data_dir, self.managed_dir)
            if d.value and is_foreign_windows_path(d.value)
        )

    @property
    def on_windows_paths(self) -> bool:
        """True when the data dir is a Windows path on a non-Windows console: nothing
        on this machine's disk can say anything about it."""
        return bool(self.data_dir.value and is_foreign_windows_path(self.data_dir.value))


@frozen
class RunningServerHint:
    """What the running server's processes say, for when nothing else names the server."""

    server_dir: str | None
    data_dir: str | None
    how: str  # e.g. "from the running Blitz-0 (pid 812, user omero-server)"
    data_how: str = ""  # e.g. "held open by Blitz-0 (pid 812): .omero/repository/<uuid>/.lock"
    # "processes", or "systemd unit" when no server runs and its loaded unit named it.
    source: str = "processes"
    user: str | None = None  # the unit's User=: who the server runs as once started
    details: str = ""  # what the unit said, for the note (which file, which lines)


def is_foreign_windows_path(path: str, platform: str = sys.platform) -> bool:
    r"""``D:\OMERO``, ``D:/OMERO`` or ``\\host\share`` read on a non-Windows host."""
    if platform == "win32":
        return False
    return bool(_WINDOWS_DRIVE.match(path)) or path.startswith("\\\\")


def platform_default_data_dir(platform: str = sys.platform) -> str:
    return r"C:\OMERO" if platform == "win32" else "/OMERO"


def config_path_of(server_dir: str) -> Path:
    return Path(server_dir) / "etc" / "grid" / "config.xml"


def looks_like_server_dir(path: str | Path) -> bool:
    """An OMERO.server install has ``etc/grid`` (templates.xml and, once configured, config.xml)."""
    # os.path, not pathlib: asked of every ancestor of the repository in each check.
    return os.path.isdir(os.path.join(path, "etc", "grid"))


def find_server_dir(
    server_dir_arg: str | None,
    env: Mapping[str, str],
    settings_server_dir: str | None,
    settings_path: str | None = None,
    candidates: Sequence[str] = COMMON_SERVER_DIRS,
    running: RunningServerHint | None = None,
) -> Determined:
    if server_dir_arg:
        return Determined(_absolute(server_dir_arg), "from --server-dir")
    if env.get("OMERODIR"):
        return Determined(_absolute(env["OMERODIR"]), "from OMERODIR")
    if settings_server_dir:
        where = f" {settings_path}" if settings_path else ""
        return Determined(_absolute(settings_server_dir), f"from the settings file{where}")
    for candidate in candidates:
        # C:\OMERO.server on Linux would be looked for under the working directory.
        if not is_foreign_windows_path(candidate) and looks_like_server_dir(candidate):
            return Determined(candidate, "found at a common install location")
    if running is not None and running.server_dir:
        return Determined(running.server_dir, running.how)
    return Determined(None, "not found: use --server-dir, OMERODIR or the settings file")


def discover(
    *,
    server_dir_arg: str | None = None,
    data_dir_arg: str | None = None,
    settings_server_dir: str | None = None,
    settings_path: str | None = None,
    env: Mapping[str, str] | None = None,
    candidates: Sequence[str] = COMMON_SERVER_DIRS,
    platform: str = sys.platform,
    demo: bool = False,
    profile_arg: str | None = None,
    running: Callable[[], RunningServerHint | None] | None = None,
) -> ServerLocation:
    """Locate the server. ``running`` is asked only when nothing else names the server
    (or, with no data dir configured, the repository): scanning processes is slow.

    The properties judged are those of ``__ACTIVE__``, the only block the server reads,
    unless ``profile_arg`` (``--profile``) explicitly asks for another profile.
    """
    env = os.environ if env is None else env
    hint: RunningServerHint | None = None
    nothing_named = not (server_dir_arg or env.get("OMERODIR") or settings_server_dir)
    if nothing_named and running is not None and not _any_server_dir(candidates):
        hint = running()
    server_dir = find_server_dir(
        server_dir_arg, env, settings_server_dir, settings_path, candidates, hint
    )
    config_path: str | None = None
    config_error: str | None = None
    raw: dict[str, str] = {}
    notes: list[Finding] = []
    profile = Determined(None, "no configuration read")
    if server_dir.value:
        # Here, not at the top: a command given only --data-dir reads no config.xml.
        from omero_tui.core.config.xml_file import ConfigError, read_config

        path = config_path_of(server_dir.value)
        config_path = str(path)
        try:
            doc = read_config(path)
        except ConfigError as err:
            config_error = str(err)
        else:
            profile, raw = _profile(doc, env, profile_arg, notes, config_path)
    server_user: Determined | None = None
    if hint is not None and hint.server_dir:
        notes.append(_found_running(hint))
        if hint.user:
            server_user = Determined(hint.user, hint.how)
    data_dir = _data_dir(data_dir_arg, raw, profile, platform, hint)
    # Resolution sees the data dir actually in use, so ${omero.data.dir} follows --data-dir.
    context = {**raw, DATA_DIR_KEY: data_dir.value or ""}
    properties = {k: ice_values.resolve(ice_values.unescape(v), context) for k, v in raw.items()}
    properties[DATA_DIR_KEY] = data_dir.value or ""
    managed_dir = _managed_dir(raw, context, data_dir, platform)
    location = ServerLocation(
        server_dir=server_dir,
        config_path=config_path,
        profile=profile,
        data_dir=data_dir,
        managed_dir=managed_dir,
        properties=properties,
        config_error=config_error,
        demo=demo,
        searched=tuple(candidates) if server_dir.value is None else (),
        asked_running=server_dir.value is None and nothing_named and running is not None,
        server_user=server_user,
    )
    if location.on_windows_paths or location.windows_paths:
        notes.append(windows_note(location))
    return replace(location, notes=tuple(notes))


def _any_server_dir(candidates: Sequence[str]) -> bool:
    return any(not is_foreign_windows_path(c) and looks_like_server_dir(c) for c in candidates)


def _profile(
    doc: ConfigDocument,
    env: Mapping[str, str],
    profile_arg: str | None,
    notes: list[Finding],
    config_path: str,
) -> tuple[Determined, dict[str, str]]:
    """The profile judged and its raw properties; a loud note when another is named."""
    from omero_tui.core.config.xml_file import ACTIVE, IGNORED_KEYS

    active = doc.stored_profile
    active_props = {k: v for k, v in doc.properties(ACTIVE).items() if k not in IGNORED_KEYS}
    asked = env.get("OMERO_CONFIG")
    if profile_arg and profile_arg != active:
        if profile_arg not in doc.profile_names():
            notes.append(
                Finding(
                    "layout",
                    Severity.CRITICAL,
                    "layout.profile_unknown",
                    f"--profile names {profile_arg!r}, which is not a profile in config.xml"
                    f" (profiles: {', '.join(doc.profile_names()) or 'none'}).",
                    config_path,
                )
            )
        notes.append(
            Finding(
                "layout",
                Severity.WARNING,
                "layout.profile_not_active",
                f"Judging profile {profile_arg!r} as asked with --profile, but the server "
                f"reads only __ACTIVE__ (profile {active!r}); a relocation of "
                f"{profile_arg!r} does not move what the running server uses.",
                config_path,
            )
        )
        props = doc.properties(profile_arg)
        return Determined(profile_arg, "from --profile (not the active one)"), {
            k: v for k, v in props.items() if k not in IGNORED_KEYS
        }
    if asked and asked != active and not profile_arg:
        theirs = doc.properties(asked).get(DATA_DIR_KEY)
        differs = (
            f" (its omero.data.dir is {ice_values.unescape(theirs)})"
            if theirs and theirs != active_props.get(DATA_DIR_KEY)
            else ""
        )
        notes.append(
            Finding(
                "layout",
                Severity.WARNING,
                "layout.omero_config_ignored",
                f"OMERO_CONFIG names profile {asked!r}{differs}, but the server reads only "
                f"__ACTIVE__ (profile {active!r}): the console judges and relocates what "
                f"the server uses; give --profile {asked} to look at the other one.",
                config_path,
            )
        )
    how = "stored in config.xml"  # __ACTIVE__ is regenerated from it: what the server reads
    return Determined(active, how), active_props


def _found_running(hint: RunningServerHint) -> Finding:
    if hint.source == "systemd unit":
        return Finding(
            "layout",
            Severity.INFO,
            "layout.found_from_unit",
            "Nothing named the server (no --server-dir, OMERODIR, settings file, common "
            f"install location or running server process), so it was found {hint.how}"
            f"{': ' + hint.details if hint.details else ''}.",
            hint.server_dir,
        )
    return Finding(
        "layout",
        Severity.INFO,
        "layout.found_from_processes",
        f"Nothing named the server (no --server-dir, OMERODIR, settings file or common "
        f"install location), so it was found {hint.how}.",
        hint.server_dir,
    )


def windows_not_judged(location: ServerLocation, area: str) -> Finding:
    """The one line an area says instead of judging a Windows-era repository path."""
    return Finding(
        area,
        Severity.UNKNOWN,
        f"{area}.windows_path",
        f"Not judged: {location.data_dir.value} is a Windows path, so nothing on this "
        "machine's disk is checked for it.",
        location.data_dir.value,
    )


def windows_note(location: ServerLocation) -> Finding:
    """The one line said wherever a Windows-era path stands for the repository."""
    data = location.data_dir.value or ""
    managed = location.managed_dir.value or ""
    also = f" (nor for the managed dir {managed})" if managed in location.windows_paths else ""
    given = (
        f"given with --data-dir on {sys.platform}"
        if location.data_dir.how == "from --data-dir"
        else f"a Windows-era configuration read on {sys.platform}"
    )
    return Finding(
        "layout",
        Severity.UNKNOWN,
        "layout.windows_path",
        f"{data} is a Windows path ({given}): "
        f"nothing on this machine's disk is judged for it{also}; check it on the Windows "
        "server, or set omero.data.dir to where the repository is now.",
        location.data_dir.value,
    )


def no_server_reason(location: ServerLocation) -> str | None:
    """One line when there is nothing to look after, naming the bad argument if there is one.

    ``None`` when a server dir was found, or a repository was named or exists at OMERO's
    default place: then the panels have something true to say.
    """
    server_dir = location.server_dir
    if server_dir.value is not None:
        named = _named_by(server_dir.how)
        if is_foreign_windows_path(server_dir.value):
            return (
                f"{named} {server_dir.value} is a Windows path, and this host is "
                f"{sys.platform}: give the server dir as this machine sees it"
            )
        if not Path(server_dir.value).is_dir():
            return f"{named} {server_dir.value}: no such directory"
        if not looks_like_server_dir(server_dir.value):
            return f"{named} {server_dir.value}: not an OMERO.server dir (it has no etc/grid)"
        return None
    if location.data_dir.how == "from --data-dir" or Path(location.data_dir.value or "").is_dir():
        return None
    first, *others = location.searched or ("the usual install dirs",)
    where = f"{first} or {counted(len(others), 'other usual install dir')}" if others else first
    if location.asked_running:
        where += ", and no running server or omero-server.service unit names one"
    return (
        f"no OMERO.server found: no --server-dir, OMERODIR or settings file, and none in {where}; "
        "use --server-dir DIR, --data-dir DIR, or --demo to try the console on a sandbox"
    )


def _named_by(how: str) -> str:
    """'from --server-dir' -> '--server-dir'; 'from OMERODIR' -> 'OMERODIR'."""
    if how == "from --server-dir":
        return "--server-dir"
    if how == "from OMERODIR":
        return "OMERODIR"
    if how.startswith("from the systemd unit"):
        return how.removeprefix("from ")
    return "the server dir of the settings file"


def _data_dir(
    arg: str | None,
    raw: Mapping[str, str],
    profile: Determined,
    platform: str,
    hint: RunningServerHint | None = None,
) -> Determined:
    # The profile's name is shown on its own row, so reasons stay short enough for 80 columns.
    if arg:
        return Determined(_absolute(arg), "from --data-dir")
    if raw.get(DATA_DIR_KEY):
        value = ice_values.resolve(ice_values.unescape(raw[DATA_DIR_KEY]), raw)
        return Determined(value, f"{DATA_DIR_KEY} in config.xml")
    if hint is not None and hint.data_dir:
        return Determined(hint.data_dir, hint.data_how or hint.how)
    default = platform_default_data_dir(platform)
    reason = "no configuration read" if profile.value is None else f"{DATA_DIR_KEY} not set"
    return Determined(default, f"OMERO's default: {reason}")


def _managed_dir(
    raw: Mapping[str, str],
    context: Mapping[str, str],
    data_dir: Determined,
    platform: str,
) -> Determined:
    if raw.get(MANAGED_DIR_KEY):
        value = ice_values.resolve(ice_values.unescape(raw[MANAGED_DIR_KEY]), context)
        return Determined(value, f"{MANAGED_DIR_KEY} in config.xml")
    base = data_dir.value or platform_default_data_dir(platform)
    joined = (
        str(PureWindowsPath(base) / "ManagedRepository")
        if platform == "win32" or is_foreign_windows_path(base, platform)
        else os.path.join(base, "ManagedRepository")
    )
    return Determined(joined, f"OMERO's default: {MANAGED_DIR_KEY} not set")


def _absolute(path: str) -> str:
    if is_foreign_windows_path(path):  # D:\OMERO is not relative to the working directory
        return path
    return os.path.abspath(os.path.expanduser(path))
