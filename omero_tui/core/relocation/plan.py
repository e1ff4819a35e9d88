"""The relocation plan: what moves where, by which method, and every step, in words.

Built from the located server and the admin's target before anything is touched, shown
by ``--dry-run`` and by the wizard, and stored at the head of the journal so a resume
or rollback acts on exactly the plan that was confirmed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omero_tui.core.config.windows_paths import (
    cmd_line,
    looks_like_windows_path,
    normalise_windows_path,
    validate_windows_path,
)
from omero_tui.core.config.xml_file import ConfigDocument, ConfigError, read_config
from omero_tui.core.config.xml_losses import losses_note
from omero_tui.core.discovery import ServerLocation, is_foreign_windows_path
from omero_tui.core.mounts import MountTable
from omero_tui.core.record import asdict, frozen
from omero_tui.core.record import fields as record_fields
from omero_tui.core.relocation.config_rewrite import (
    FOLLOWER_KEYS,
    ConfigChange,
    main_key,
    planned_changes,
    relative_under,
)
from omero_tui.core.relocation.source_checks import SourceChange
from omero_tui.core.relocation.target_text import length_problem, lookalike_problem
from omero_tui.core.relocation.tree_scan import TreeScan

WHAT = ("data", "managed")
WINDOWS_PATH_KEYS = ("omero.data.dir", *FOLLOWER_KEYS)
EXAMPLE_WINDOWS_TARGET = "E:\\OMERO"


class RelocationRefused(Exception):
    """Input the engine will not act on; ``str(err)`` is one line, ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@frozen
class PlanStep:
    id: str  # "preflight", "stop", "prepare", "copy" | "rename", "verify", "config", ...
    title: str  # one line for the admin


@frozen
class RelocationPlan:
    what: str  # "data" (omero.data.dir, with what lives inside it) | "managed"
    source: str  # the directory as configured
    source_real: str  # what is really copied or renamed (symlinks resolved)
    target: str  # absolute, normalised
    method: str  # "rename" | "copy"
    method_why: str
    server_dir: str | None
    config_path: str | None
    profile: str | None
    data_dir: str  # in use now
    managed_dir: str  # in use now
    config_changes: tuple[ConfigChange, ...]
    controller: str  # how the server is stopped and started, in words
    notes: tuple[str, ...]  # what moves along, what stays
    steps: tuple[PlanStep, ...]
    # .omero lines rewritten with config.xml (only with --rewrite-config-sources)
    source_changes: tuple[SourceChange, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["config_changes"] = [c.to_json() for c in self.config_changes]
        data["source_changes"] = [c.to_json() for c in self.source_changes]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RelocationPlan:
        changes = tuple(
            ConfigChange(c["key"], c.get("old"), c["new"], c["path"], c.get("why", ""))
            for c in data.get("config_changes", ())
        )
        steps = tuple(PlanStep(s["id"], s["title"]) for s in data.get("steps", ()))
        fields = {k: data[k] for k in (f.name for f in record_fields(cls)) if k in data}
        fields.update(config_changes=changes, steps=steps, notes=tuple(data.get("notes", ())))
        fields["source_changes"] = tuple(
            SourceChange.from_json(c) for c in data.get("source_changes", ())
        )
        return cls(**fields)


def check_target_text(target: str) -> str:
    """The target as an absolute, normalised path, or RelocationRefused (one line)."""
    if not target or not target.strip():
        raise RelocationRefused("relocation.target_empty", "no target directory was given")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        raise RelocationRefused(
            "relocation.target_malformed",
            "the target path contains control characters (a pasted newline?); type it again",
        )
    _refuse_pasted_text(target)
    lookalike = lookalike_problem(target)
    if lookalike:
        raise RelocationRefused("relocation.target_lookalike", lookalike)
    if looks_like_windows_path(target):
        problems = [p for p in validate_windows_path(target) if p.severity == "error"]
        if problems:
            raise RelocationRefused(
                problems[0].code or "relocation.target_malformed", problems[0].message
            )
        if os.name != "nt":
            value = normalise_windows_path(target)
            raise RelocationRefused(
                "relocation.windows_target",
                f"{target} is a Windows path but this host is {sys.platform}: move the "
                f"repository on the Windows server, then run `{cmd_line('omero.data.dir', value)}`",
            )
    if os.name == "nt":
        raise RelocationRefused(
            "relocation.windows_host",
            "the relocation engine needs a POSIX host (flock, syncfs); on Windows stop the "
            "service, copy with robocopy /E /COPYALL /DCOPY:DAT and set omero.data.dir",
        )
    if not os.path.isabs(target):
        raise RelocationRefused(
            "relocation.target_relative",
            f"{target} is a relative path; give the full path, starting with /",
        )
    parts = target.split("/")
    if "." in parts or ".." in parts:
        raise RelocationRefused(
            "relocation.target_malformed",
            f"{target} contains . or .. components; write the directory's plain full path",
        )
    too_long = length_problem(target)
    if too_long:
        raise RelocationRefused("relocation.target_too_long", too_long)
    return os.path.normpath(target).replace("//", "/")


# No repository path needs these, and each one is a sign of text pasted from a shell
# (quotes, ``$(...)``, ``;``): taken literally they would make a directory of that name.
# ``$`` also starts an Ice variable (``${...}``) in config.xml. Windows-looking paths
# keep backslashes and ``$`` (an admin share ``D$``) and are judged by Windows rules.
_QUOTES = "'\"`\u2018\u2019\u201c\u201d"
_SHELL_CHARACTERS = "$;&|<>*?\\!"


def _refuse_pasted_text(target: str) -> None:
    if target != target.strip():
        raise RelocationRefused(
            "relocation.target_malformed",
            f"the target \u201c{target}\u201d starts or ends with a space; "
            "give the path without it",
        )
    if target.startswith("~"):
        raise RelocationRefused(
            "relocation.target_relative",
            f"{target} starts with ~, which is not expanded here; give the full path, "
            "starting with /",
        )
    quotes = sorted({ch for ch in target if ch in _QUOTES})
    if quotes:
        raise RelocationRefused(
            "relocation.target_malformed",
            f"the target {target} contains quote characters ({' '.join(quotes)}); "
            "give the plain path, without quotes",
        )
    if looks_like_windows_path(target):
        return
    special = sorted({ch for ch in target if ch in _SHELL_CHARACTERS})
    if special:
        raise RelocationRefused(
            "relocation.target_malformed",
            f"the target {target} contains shell characters ({' '.join(special)}) that "
            "no repository path needs (pasted from a command?); give the plain path",
        )


COPY_ASKED = (
    "a copy was asked for (on the same filesystem one rename would do): everything is "
    "copied and verified, and the old copy stays as a fallback until you remove it"
)


def choose_method(source_real: str, target: str, table: MountTable) -> tuple[str, str]:
    """("rename" | "copy", why): one rename when both are on the same mount."""
    if table.is_mount_point(source_real):
        return "copy", "the source is a mount point, so its contents are copied"
    existing = nearest_existing(target)
    src_mount, dst_mount = table.mount_of(source_real), table.mount_of(existing)
    try:
        same_dev = os.stat(source_real).st_dev == os.stat(existing).st_dev
    except OSError:
        same_dev = False
    if os.path.isdir(target) and table.is_mount_point(target):
        return "copy", "the target is a mount point of another filesystem"
    if same_dev and src_mount is not None and src_mount == dst_mount:
        return "rename", "source and target are on the same filesystem: one rename, instant"
    where = dst_mount.describe() if dst_mount else "another filesystem"
    return "copy", f"the target is on {where}: everything is copied and verified"


def nearest_existing(path: str) -> str:
    current = path
    while not os.path.lexists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def build_plan(
    location: ServerLocation,
    target: str,
    what: str = "data",
    *,
    controller: str = "",
    env: Mapping[str, str] | None = None,
    scan: TreeScan | None = None,
    table: MountTable | None = None,
    copy: bool = False,
) -> tuple[RelocationPlan, ConfigDocument | None]:
    """The plan and the config.xml it was made from (the writer checks it is unchanged).

    ``copy`` copies and verifies even where one rename would do, so the old copy stays
    as a fallback until it is removed (it then needs the space twice).
    """
    if what not in WHAT:
        raise RelocationRefused("relocation.what", f"what must be one of {', '.join(WHAT)}")
    target = check_target_text(target)
    env = os.environ if env is None else env
    source = location.data_dir.value if what == "data" else location.managed_dir.value
    if source and is_foreign_windows_path(source):
        raise RelocationRefused("relocation.windows_source", windows_source_refusal(location))
    if not source or not os.path.isabs(source):
        raise RelocationRefused(
            "relocation.source_unknown", f"the source {source or '(none)'} is not a full path"
        )
    source_real = os.path.realpath(source)
    method, why = choose_method(source_real, target, table or MountTable.read())
    if copy and method == "rename":
        method, why = "copy", COPY_ASKED
    doc, profile, changes = _config(location, what, source, target, env)
    plan = RelocationPlan(
        what=what,
        source=source,
        source_real=source_real,
        target=target,
        method=method,
        method_why=why,
        server_dir=location.server_dir.value,
        config_path=location.config_path,
        profile=profile,
        data_dir=location.data_dir.value or "",
        managed_dir=location.managed_dir.value or "",
        config_changes=changes,
        controller=controller,
        notes=tuple(_notes(location, what, source_real) + _config_notes(location.config_path)),
        steps=(),
    )
    return with_scan(plan, scan), doc


def windows_source_refusal(location: ServerLocation) -> str:
    """The Windows-era repository cannot be moved from here: what to change, on Windows,
    naming every property that holds the old location (managed dir and memoizer too)."""
    source = location.data_dir.value or ""
    keys = [
        f"{key} ({value})"
        for key, value in sorted(location.properties.items())
        if key in WINDOWS_PATH_KEYS and value and relative_under(value, source) is not None
    ] or [f"omero.data.dir ({source})"]
    example = cmd_line("omero.data.dir", EXAMPLE_WINDOWS_TARGET)
    return (
        f"the repository {source} is a Windows path (a Windows-era configuration read on "
        f"{sys.platform}), so nothing here can move it; on the Windows server stop OMERO, "
        f"move the folder, then point every property that holds the old location at the "
        f"new one: {', '.join(keys)}; e.g. `{example}`"
    )


def _config(
    location: ServerLocation, what: str, source: str, target: str, env: Mapping[str, str]
) -> tuple[ConfigDocument | None, str | None, tuple[ConfigChange, ...]]:
    if not location.config_path:
        return None, None, ()
    try:
        doc = read_config(location.config_path)  # type: ignore[arg-type]
    except ConfigError:
        return None, None, ()  # preflight names the problem
    # The profile the location was judged from: __ACTIVE__'s, unless --profile said
    # otherwise; never an OMERO_CONFIG the server does not read.
    profile = location.profile.value or doc.stored_profile
    data_dir = location.data_dir.value or ""
    return doc, profile, planned_changes(doc, profile, what, source, target, data_dir=data_dir)


def _notes(location: ServerLocation, what: str, source_real: str) -> list[str]:
    managed = location.managed_dir.value or ""
    inside = os.path.realpath(managed).startswith(source_real.rstrip("/") + "/")
    if what == "data" and managed:
        if inside:
            return [f"the managed repository {managed} is inside and moves with it"]
        return [f"the managed repository {managed} is elsewhere and stays where it is"]
    return []


def _config_notes(config_path: str | None) -> list[str]:
    """What a rewrite of config.xml drops (comments an admin wrote), said in the plan."""
    if not config_path:
        return []
    try:
        note = losses_note(Path(config_path).read_bytes())
    except OSError:
        return []  # the preflight says why config.xml cannot be used
    return [note] if note else []


def with_scan(plan: RelocationPlan, scan: TreeScan | None) -> RelocationPlan:
    """The plan with its steps worded (with sizes once the source has been scanned)."""
    size = f" ({scan.counts_words()})" if scan else ""
    moved = plan.method == "rename"
    keys = ", ".join(f"{c.key} = {c.new}" for c in plan.config_changes) or main_key(plan.what)
    steps = [
        PlanStep("preflight", "check the target, free space, access and the configuration"),
        PlanStep(
            "stop",
            f"stop the server ({plan.controller or 'controller'}) and prove it "
            "stopped: status, no server process, no file open under the source",
        ),
        PlanStep("prepare", f"create {plan.target} and record its prior state in the journal"),
        PlanStep("rename", f"rename {plan.source_real} to {plan.target} in one step")
        if moved
        else PlanStep(
            "copy",
            f"copy{size} to {plan.target}: each file to a temporary name, "
            "renamed once verified byte for byte; journalled in batches",
        ),
        PlanStep(
            "verify",
            "compare the whole tree with the source: names, kinds, sizes, "
            "owners, modes, ACLs and xattrs, times, links and the .omero identity",
        ),
        PlanStep(
            "config",
            f"set {keys} in config.xml under OMERO's lock (backup kept)"
            + "".join(f"; {c.path} line {c.line}: `{c.new_text}`" for c in plan.source_changes),
        ),  # fmt: skip
        PlanStep("start", f"start the server if it was running and check it uses {plan.target}"),
        PlanStep(
            "finish",
            f"keep {plan.source} until `omero-tui relocate --remove-source`"
            if not moved
            else "done: nothing is left at the old place",
        ),
    ]
    return RelocationPlan(**{**asdict_shallow(plan), "steps": tuple(steps)})


def asdict_shallow(plan: RelocationPlan) -> dict[str, Any]:
    return {name: getattr(plan, name) for name in (f.name for f in record_fields(plan))}
