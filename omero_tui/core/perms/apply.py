"""Applying a fix plan through Python, with an undo record written ahead of every change.

A cancellable long operation. Each step walks its tree (without following symlinks),
works out each entry's new owner, mode or ACL exactly as the shown command would, and
skips entries that already are so. Changes go in batches: the batch's previous states
are appended to the undo record and fsync'ed, then the batch is applied. Cancelling
stops between entries; what was changed is recorded, what was not is untouched, so
``omero-tui perms --undo`` always restores a consistent tree.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from omero_tui.core.perms.access import (
    AclEntry,
    AclTag,
    encode_acl_xattr,
    parse_acl_xattr,
)
from omero_tui.core.perms.fix import FixPlan, FixStep
from omero_tui.core.perms.undo import EntryState, UndoRecord, capture, iter_tree, set_state
from omero_tui.core.record import frozen, replace

BATCH = 256  # entries recorded (one fsync) before they are changed
PROGRESS_INTERVAL_S = 0.1


class ApplyRefused(Exception):
    """The plan cannot be applied by this console; ``str(err)`` is one line."""


@frozen
class FixProgress:
    step: int  # 1-based
    steps: int
    command: str
    scanned: int
    changed: int
    current: str


@frozen
class ApplyResult:
    record: str  # the undo record
    scanned: int
    changed: int
    failed: tuple[tuple[str, str], ...]  # (path, error), the first 20
    failed_total: int
    cancelled: bool
    seconds: float


def apply_fix(
    plan: FixPlan,
    *,
    state_dir: Path | None = None,
    progress: Callable[[FixProgress], None] | None = None,
    cancel: threading.Event | None = None,
    header: dict[str, object] | None = None,
) -> ApplyResult:
    if plan.cannot_apply:
        raise ApplyRefused(plan.cannot_apply)
    if plan.platform != "posix":
        raise ApplyRefused("only POSIX permission fixes can be applied by the console")
    record = UndoRecord(
        state_dir, {"user": plan.user, "commands": list(plan.commands), **(header or {})}
    )
    run = _Run(record, plan, progress, cancel)
    started = time.monotonic()
    status = "failed"
    try:
        for index, step in enumerate(plan.steps, 1):
            if run.cancelled():
                break
            run.step(index, step)
        status = "cancelled" if run.cancelled() else "done"
    finally:
        run.flush()  # nothing pending survives a cancel or an error unrecorded
        record.close(status, changed=run.changed, failed=run.failed_total)
    run.report(force=True)
    return ApplyResult(
        str(record.path),
        run.scanned,
        run.changed,
        tuple(run.failed),
        run.failed_total,
        status == "cancelled",
        time.monotonic() - started,
    )


class _Run:
    def __init__(
        self,
        record: UndoRecord,
        plan: FixPlan,
        progress: Callable[[FixProgress], None] | None,
        cancel: threading.Event | None,
    ) -> None:
        self.record, self.plan, self.progress, self.cancel = record, plan, progress, cancel
        self.pending: list[tuple[EntryState, EntryState]] = []
        self.scanned = self.changed = self.failed_total = 0
        self.failed: list[tuple[str, str]] = []
        self.index, self.command, self.current = 0, "", ""
        self._last = 0.0

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def step(self, index: int, step: FixStep) -> None:
        self.index, self.command = index, step.command
        for path in iter_tree(step.path, step.recursive):
            if self.cancelled():
                self.pending.clear()  # neither recorded nor changed: consistent
                return
            self.current = path
            self.scanned += 1
            try:
                before = capture(path)
            except OSError as err:
                self._fail(path, err)
                continue
            if os.path.islink(path):
                continue
            after = next_state(step, before)
            if not after.same_as(before):
                self.pending.append((before, after))
                if len(self.pending) >= BATCH:
                    self.flush()
            self.report()
        # The next step may change the same entries: it must see this step's result.
        self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        for before, _ in self.pending:
            self.record.add(before)
        self.record.commit()  # durable before anything changes
        for before, after in self.pending:
            try:
                set_state(before.path, after, before)
                self.changed += 1
            except OSError as err:
                self._fail(before.path, err)
        self.pending.clear()

    def _fail(self, path: str, err: OSError) -> None:
        self.failed_total += 1
        if len(self.failed) < 20:
            self.failed.append((path, err.strerror or str(err)))

    def report(self, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now - self._last >= PROGRESS_INTERVAL_S:
            self._last = now
            self.progress(
                FixProgress(
                    self.index,
                    len(self.plan.steps),
                    self.command,
                    self.scanned,
                    self.changed,
                    self.current,
                )
            )


def next_state(step: FixStep, before: EntryState) -> EntryState:
    """What ``step``'s command makes of an entry that is ``before``."""
    if step.action == "chown":
        gid = before.gid if step.gid is None else step.gid
        return replace(before, uid=step.uid if step.uid is not None else before.uid, gid=gid)
    if step.action == "chmod":
        add = step.add
        if step.capital_x and (before.is_dir or before.mode & 0o111):
            add |= 0o1 << {"u": 6, "g": 3, "o": 0}[step.who]
        mode = (before.mode | add) & ~step.remove
        acl = _chmod_acl(before.acl, mode)
        return replace(before, mode=mode, acl=acl)
    if step.action == "setfacl":
        return _setfacl_state(step, before)
    raise ValueError(f"cannot apply a {step.action} step here")


def _chmod_acl(data: bytes | None, mode: int) -> bytes | None:
    """chmod on an entry with an ACL: owner, mask (or group) and other follow the mode."""
    if data is None:
        return None
    entries = parse_acl_xattr(data)
    has_mask = any(e.tag == AclTag.MASK for e in entries)
    new = []
    for e in entries:
        if e.tag == AclTag.USER_OBJ:
            e = AclEntry(e.tag, (mode >> 6) & 7)
        elif e.tag == AclTag.MASK or (e.tag == AclTag.GROUP_OBJ and not has_mask):
            e = AclEntry(e.tag, (mode >> 3) & 7)
        elif e.tag == AclTag.OTHER:
            e = AclEntry(e.tag, mode & 7)
        new.append(e)
    return encode_acl_xattr(new)


def _setfacl_state(step: FixStep, before: EntryState) -> EntryState:
    perms = step.acl_perms
    if step.capital_x and (before.is_dir or before.mode & 0o111):
        perms |= 1
    if step.acl_default:
        if not before.is_dir:
            return before  # setfacl -d only touches directories
        access = _entries(before.acl, before.mode)
        base = _entries(before.default_acl, None) or [
            e for e in access if e.tag in (AclTag.USER_OBJ, AclTag.GROUP_OBJ, AclTag.OTHER)
        ]
        entries = _with_user(base, step.acl_uid, perms)
        return replace(before, default_acl=encode_acl_xattr(entries))
    entries = _with_user(_entries(before.acl, before.mode), step.acl_uid, perms, step.acl_mask)
    mask = next(e.perms for e in entries if e.tag == AclTag.MASK)
    mode = (before.mode & ~0o070) | (mask << 3)
    return replace(before, acl=encode_acl_xattr(entries), mode=mode)


def _entries(data: bytes | None, mode: int | None) -> list[AclEntry]:
    if data is not None:
        return list(parse_acl_xattr(data))
    if mode is None:
        return []
    return [
        AclEntry(AclTag.USER_OBJ, (mode >> 6) & 7),
        AclEntry(AclTag.GROUP_OBJ, (mode >> 3) & 7),
        AclEntry(AclTag.OTHER, mode & 7),
    ]


def _with_user(
    entries: list[AclEntry], uid: int | None, perms: int, mask_to: int | None = None
) -> list[AclEntry]:
    """Set the named user's entry; the mask is ``mask_to`` when given (``m::`` in the
    command), else recomputed as setfacl does."""
    kept = [
        e
        for e in entries
        if e.tag != AclTag.MASK and not (e.tag == AclTag.USER and e.qualifier == uid)
    ]
    kept.append(AclEntry(AclTag.USER, perms, uid))
    mask = 0
    for e in kept:
        if e.tag in (AclTag.GROUP_OBJ, AclTag.USER, AclTag.GROUP):
            mask |= e.perms
    kept.append(AclEntry(AclTag.MASK, mask if mask_to is None else mask_to))
    return kept
