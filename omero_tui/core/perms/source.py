"""What the Permissions panel reads and changes through, injected so tests can freeze it.

The panel never calls the permission core directly: it goes through one of these, so a
test hands in a ``PermsSource`` whose ``inspect`` freezes machine-dependent values, or
whose ``state_dir`` keeps undo records out of the admin's own state dir.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from omero_tui.core.discovery import ServerLocation
from omero_tui.core.perms.apply import ApplyResult, FixProgress, apply_fix
from omero_tui.core.perms.check import PermsReport, inspect_permissions
from omero_tui.core.perms.deep import DeepProgress
from omero_tui.core.perms.fix import FixPlan, plan_fix
from omero_tui.core.perms.server_user import candidate_users, current_user_name
from omero_tui.core.perms.undo import UndoProgress, UndoResult, latest_record, undo_last
from omero_tui.core.record import frozen
from omero_tui.core.settings import Settings, SettingsError


@frozen
class PermsSource:
    inspect: Callable[..., PermsReport] = inspect_permissions
    settings_path: Path | None = None  # None: the default settings file
    state_dir: Path | None = None  # where undo records go; None: default_state_dir()

    def check(
        self,
        location: ServerLocation,
        *,
        user: str | None = None,
        deep: bool = False,
        walk: Sequence[str] | None = None,
        progress: Callable[[DeepProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> PermsReport:
        settings_user = settings_path = None
        try:
            settings = Settings.load(self.settings_path)
        except SettingsError:
            settings = None  # the Layout panel already shows a broken settings file
        if settings is not None and settings.exists:
            settings_user, settings_path = settings.server_user, str(settings.path)
        return self.inspect(
            location,
            user=user,
            settings_user=settings_user,
            settings_path=settings_path,
            deep=deep,
            walk=walk,
            progress=progress,
            cancel=cancel,
        )

    def plan(self, report: PermsReport) -> FixPlan:
        return plan_fix(report)

    def apply(
        self,
        plan: FixPlan,
        report: PermsReport,
        *,
        progress: Callable[[FixProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> ApplyResult:
        location = report.location
        header = {"server_dir": location.server_dir.value, "data_dir": location.data_dir.value}
        return apply_fix(
            plan, state_dir=self.state_dir, progress=progress, cancel=cancel, header=header
        )

    def undo(
        self,
        *,
        progress: Callable[[UndoProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> UndoResult:
        return undo_last(self.state_dir, progress=progress, cancel=cancel)

    def has_undo(self) -> bool:
        return latest_record(self.state_dir) is not None

    def candidates(self, report: PermsReport | None) -> list[str]:
        """Users to offer in the picker: the report's owners, OMERO-looking accounts, me."""
        owners = []
        if report is not None:
            owners = [r.owner for r in report.rows if r.kind == "repository" and r.present]
            owners += [p.username for p in report.processes if p.username]
        names = [*owners, *candidate_users(), current_user_name()]
        return list(dict.fromkeys(n for n in names if n and n != "-"))
