"""What the wizard acts through, injected so tests can hand in recorded or slowed engines.

On a real server (and in the demo) every field is the relocation engine's own function;
nothing here imports Textual.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from omero_tui.core.record import field, frozen
from omero_tui.core.relocation.engine import (
    EngineOptions,
    Prepared,
    prepare_relocation,
    resume_relocation,
    run_relocation,
)
from omero_tui.core.relocation.engine_context import RunResult
from omero_tui.core.relocation.remove_source import remove_source
from omero_tui.core.relocation.rollback import rollback_relocation
from omero_tui.core.relocation.status import (
    RelocationStatus,
    find_unfinished_relocation,
    latest_relocation,
)
from omero_tui.core.relocation.target_choice import TargetChoice, describe_choice
from omero_tui.core.settings import Settings, SettingsError


@frozen
class WizardSource:
    options: EngineOptions = field(default_factory=EngineOptions)
    settings_path: Path | None = None
    prepare: Callable[..., Prepared] = prepare_relocation
    run: Callable[..., RunResult] = run_relocation
    resume: Callable[..., RunResult] = resume_relocation
    rollback: Callable[..., RunResult] = rollback_relocation
    remove_source: Callable[..., RunResult] = remove_source
    choice: Callable[[str], TargetChoice] = describe_choice
    unfinished_lookup: Callable[[Path | None], RelocationStatus | None] = find_unfinished_relocation
    latest_lookup: Callable[[Path | None], RelocationStatus | None] = latest_relocation

    def settings(self) -> Settings | None:
        try:
            return Settings.load(self.settings_path)
        except SettingsError:
            return None

    def unfinished(self) -> RelocationStatus | None:
        return self.unfinished_lookup(self.options.state_dir)

    def latest(self) -> RelocationStatus | None:
        return self.latest_lookup(self.options.state_dir)
