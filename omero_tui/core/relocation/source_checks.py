"""Will the relocation survive the next start? The sources that win over config.xml.

An Ansible install reloads ``<basedir>/config/*.omero`` into config.xml at every
``systemctl start`` (the unit's ExecStartPre), and the Docker image sets its
``CONFIG_*`` variables at every container start: either can put the old path back
the moment the server comes up. The preflight refuses such a relocation before
anything is touched, with the exact change to make; with ``--rewrite-config-sources``
a ``config set`` line of a ``.omero`` file that no tool rewrites is changed too
(``source_rewrite``), journalled and backed up like config.xml.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from omero_tui.core.config.next_start import Reverted, after_next_start, reverted_keys
from omero_tui.core.config.sources import DATA_DIR_KEY, ConfigSource, SourceScan, scan_sources
from omero_tui.core.config.windows_paths import config_value
from omero_tui.core.config.xml_file import ConfigDocument, ConfigError, read_config
from omero_tui.core.record import frozen, replace
from omero_tui.core.relocation.checks import Check, fail, passed, warn
from omero_tui.core.server.processes import server_environments

OPTION = "--rewrite-config-sources"


@frozen
class SourceChange:
    """One line of a ``.omero`` file the relocation rewrites."""

    path: str
    line: int  # 1-based
    key: str
    old_text: str  # the line as found (stripped)
    new_text: str  # the line written instead

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "key": self.key,
            "old_text": self.old_text,
            "new_text": self.new_text,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> SourceChange:
        return cls(
            str(data["path"]),
            int(data["line"]),  # type: ignore[call-overload]
            str(data["key"]),
            str(data["old_text"]),
            str(data["new_text"]),
        )


def set_line(key: str, value: str) -> str:
    return f"config set {key} {shlex.quote(value)}"


def scan_for(
    server_dir: str | None, env: Mapping[str, str] | None, ask_systemd: bool = True
) -> SourceScan:
    return scan_sources(
        server_dir,
        env=env,
        process_environments=server_environments(server_dir),
        ask_systemd=ask_systemd,
    )


def profile_props(config_path: str, profile: str | None) -> tuple[ConfigDocument, str, dict]:
    doc = read_config(Path(config_path))
    name = profile or doc.stored_profile
    return doc, name, doc.properties(name)


def _readable_props(config_path: str | None, profile: str | None) -> tuple[str, dict] | None:
    """(profile name, its properties), or None when there is no config.xml to read: a
    check after the fact then has nothing to say."""
    if not config_path:
        return None
    try:
        _, name, props = profile_props(config_path, profile)
    except ConfigError:
        return None
    return name, props


def assess_sources(
    plan: object,
    env: Mapping[str, str] | None,
    *,
    rewrite: bool,
    scan: SourceScan | None = None,
    ask_systemd: bool = True,
) -> tuple[tuple[SourceChange, ...], list[Check]]:
    """(the ``.omero`` lines to rewrite, the preflight checks) for a relocation ``plan``
    (a RelocationPlan: server_dir, config_path, profile, config_changes)."""
    config_path = getattr(plan, "config_path", None)
    if not config_path:
        return (), []
    try:
        _, profile, props = profile_props(config_path, getattr(plan, "profile", None))
    except ConfigError:
        return (), []  # config_checks says why
    if scan is None:
        scan = scan_for(getattr(plan, "server_dir", None), env, ask_systemd)
    written = {**props, **{c.key: c.new for c in getattr(plan, "config_changes", ())}}
    reverted = reverted_keys(scan, written, profile)
    if not reverted:
        return (), _all_clear(scan, written)
    changes: list[SourceChange] = []
    checks: list[Check] = []
    for source, items in _by_source(reverted).items():
        main = next((r for r in items if r.key == source.key), items[0])
        if main.intended is None:  # set by the source alone: config.xml lags behind it
            checks.append(_lagging(source, main))
            continue
        intended = written.get(main.key) or config_value(main.intended)
        rewritable = source.kind == "omero file" and source.key == main.key and source.value
        if rewritable and not source.is_template and rewrite:
            new = set_line(main.key, intended)
            changes.append(SourceChange(source.where, source.line or 0, main.key, source.text, new))
            checks.append(
                passed(
                    "relocation.config_source_rewrite",
                    f"{source.describe()} will be rewritten with config.xml: `{new}` (backup kept)",
                    source.where,
                )
            )
            continue
        checks.append(refusal(source, main, intended, rewritable=bool(rewritable)))
    if changes and not any(c.status == "fail" for c in checks):
        left = reverted_keys(with_changes(scan, changes), written, profile)
        if left:  # the rewrite would not be enough: say what still wins
            checks.append(refusal(left[0].source, left[0], written.get(left[0].key) or "", False))
    return tuple(changes), checks


def _by_source(reverted: list[Reverted]) -> dict[ConfigSource, list[Reverted]]:
    grouped: dict[ConfigSource, list[Reverted]] = {}
    for item in reverted:
        if item.source is not None:
            grouped.setdefault(item.source, []).append(item)
    return grouped


def refusal(source: ConfigSource | None, item: Reverted, intended: str, rewritable: bool) -> Check:
    """The fail check naming the source and the exact change that would fix it."""
    back = f"puts {item.key} back to {item.restored} at every start"
    if source is not None and source.key == "*":
        back = f"erases {item.key} at every start, so the server would use {item.restored}"
    if source is None:
        return fail("relocation.config_source", f"the next start {back}")
    where = f"{source.describe()} (`{source.text}`)"
    if source.kind == "environment":
        inside = item.restored or ""
        return fail(
            "relocation.config_source_environment",
            f"{source.where}={source.value} ({source.how}) {back}: a container's "
            f"repository is moved by moving its volume: stop the container, move the "
            f"host directory, and start it again with `-v NEWDIR:{inside}` "
            f"(keep {source.where}={source.value})",
        )
    if source.is_template:
        edit = f"change the line to `{set_line(item.key, intended)}`"
        if source.key == "*":
            edit = f"add `{set_line(item.key, intended)}` after that line"
        return fail(
            "relocation.config_source_template",
            f"{where} {back}, and {source.tool or 'a tool'} rewrites that file at every "
            f"run: {_inventory_change(item.key, intended)}, {edit} (what the next run "
            "will write), then relocate again; run the playbook only after the relocation",
            source.where,
        )
    if source.kind == "properties file":
        fix = f"change line {source.line} of {source.where} to `{item.key}={intended}`"
    elif source.key == "*":
        fix = f"add `{set_line(item.key, intended)}` after line {source.line} of {source.where}"
    else:
        fix = f"change line {source.line} of {source.where} to `{set_line(item.key, intended)}`"
    hint = (
        f", or run again with {OPTION} to have it rewritten with config.xml" if rewritable else ""
    )
    return fail("relocation.config_source", f"{where} {back}: {fix}{hint}", source.where)


def _lagging(source: ConfigSource, item: Reverted) -> Check:
    return fail(
        "relocation.config_source_lagging",
        f"{source.describe()} (`{source.text}`) sets {item.key} to {item.restored} at the "
        "next start, which config.xml does not say now, so the plan cannot account for "
        "it: fix that line, or start the server once so config.xml matches its sources, "
        "then relocate again",
        source.where,
    )


def _inventory_change(key: str, value: str) -> str:
    if key == DATA_DIR_KEY:
        return f"set `omero_server_datadir: {value}` in the inventory"
    return f'add `"{key}": "{value}"` to `omero_server_config_set` in the inventory'


def _all_clear(scan: SourceScan, written: Mapping[str, str]) -> list[Check]:
    checks = []
    if scan.files:
        names = ", ".join(f.path for f in scan.files)
        checks.append(
            passed(
                "relocation.config_sources",
                f"the next start reloads {names}: they keep the new location",
            )
        )
    for file in scan.files:
        if file.is_template and any(
            c.verb == "set" and c.key == DATA_DIR_KEY for c in file.commands
        ):
            value = written.get(DATA_DIR_KEY, "")
            checks.append(
                warn(
                    "relocation.config_source_template",
                    f"{file.path} is rewritten by {file.tool or 'a tool'} at every run: "
                    f"{_inventory_change(DATA_DIR_KEY, value)} too, or the next run puts "
                    "the old path back and creates an empty tree there",
                    file.path,
                )
            )
    return checks


def with_changes(scan: SourceScan, changes: tuple[SourceChange, ...] | list) -> SourceScan:
    """The scan as it reads once ``changes`` are written."""
    files = []
    for file in scan.files:
        mine = {c.line: c for c in changes if c.path == file.path}
        if not mine:
            files.append(file)
            continue
        commands = tuple(
            replace(cmd, text=mine[cmd.line].new_text, value=_value_of(mine[cmd.line]))
            if cmd.line in mine
            else cmd
            for cmd in file.commands
        )
        files.append(replace(file, commands=commands))
    return replace(scan, files=tuple(files))


def _value_of(change: SourceChange) -> str:
    return shlex.split(change.new_text)[-1]


def start_guard(
    server_dir: str | None,
    config_path: str | None,
    profile: str | None,
    env: Mapping[str, str],
    ask_systemd: bool = True,
) -> str | None:
    """Why the server must not be started now (a source would restore another path), or
    None. Asked right before every start the relocation makes."""
    found = _readable_props(config_path, profile)
    if found is None:
        return None
    name, props = found
    reverted = reverted_keys(scan_for(server_dir, env, ask_systemd), props, name)
    if not reverted:
        return None
    item = reverted[0]
    where = item.source.describe() if item.source else "a configuration source"
    text = f" (`{item.source.text}`)" if item.source and item.source.text else ""
    return (
        f"not started: {where}{text} would put {item.key} back to {item.restored} at "
        f"this start, while config.xml names {item.intended}"
    )


def explain_mismatch(
    server_dir: str | None,
    config_path: str | None,
    profile: str | None,
    key: str,
    target: str,
    env: Mapping[str, str] | None,
    ask_systemd: bool = True,
) -> str | None:
    """After a start: the source that put another value of ``key`` into config.xml."""
    found = _readable_props(config_path, profile)
    if found is None:
        return None
    name, props = found
    value = props.get(key)
    if value is not None and value.rstrip("/") == target.rstrip("/"):
        return None
    _, decided = after_next_start(scan_for(server_dir, env, ask_systemd), {}, name)
    source = decided.get(key)
    now = value if value is not None else "unset"
    if source is None:
        return f"config.xml has {key} = {now} since the start, not {target}"
    text = f" (`{source.text}`)" if source.text else ""
    return f"config.xml has {key} = {now} since the start: put back by {source.describe()}{text}"


__all__ = [
    "OPTION",
    "SourceChange",
    "assess_sources",
    "explain_mismatch",
    "start_guard",
    "with_changes",
]
