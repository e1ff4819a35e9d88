"""The Overview's relocation line after a complete relocation says what is really left:
an old copy only when the relocation copied (#14: one truth on every screen)."""

from __future__ import annotations

from pathlib import Path

from omero_tui.core.findings import Severity
from omero_tui.core.health.areas import relocation_area
from omero_tui.core.relocation.journal import Journal


def complete_journal(state: Path, method: str) -> None:
    journal = Journal.create(state, f"20261204T120000-{method}")
    plan = {"source": "/srv/OMERO", "target": "/data/OMERO", "method": method}
    journal.append({"type": "begin", "id": f"20261204T120000-{method}", "plan": plan})
    for step in ("stop", method, "verify", "config", "start", "finish"):
        journal.append({"type": "step", "step": step, "state": "started"})
        journal.append({"type": "step", "step": step, "state": "done"})
    journal.append({"type": "end", "outcome": "complete"})


def test_after_a_rename_no_old_copy_is_claimed(tmp_path: Path) -> None:
    complete_journal(tmp_path, "rename")
    area, _ = relocation_area(tmp_path)
    assert area.severity is Severity.OK
    assert "renamed to /data/OMERO" in area.headline
    assert "kept" not in area.headline and "--remove-source" not in area.headline


def test_after_a_copy_the_kept_source_and_its_removal_are_said(tmp_path: Path) -> None:
    complete_journal(tmp_path, "copy")
    area, _ = relocation_area(tmp_path)
    assert "the old copy is kept at /srv/OMERO" in area.headline
    assert "omero-tui relocate --remove-source" in area.headline
