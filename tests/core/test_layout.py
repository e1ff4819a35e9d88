"""inspect_layout on real, small OMERO-like trees."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from omero_tui.core.discovery import Determined, ServerLocation
from omero_tui.core.findings import Finding, Severity, worst
from omero_tui.core.layout import inspection as layout_module
from omero_tui.core.layout.identity import encode_repo_uuid
from omero_tui.core.layout.inspection import (
    STANDARD_SUBDIRS,
    EntryInfo,
    LayoutReport,
    inspect_layout,
)
from omero_tui.core.mounts import MountTable

STANDARD = [name for name, _ in STANDARD_SUBDIRS]
DB = "8f0c2c8e-6b36-4b8c-9e87-0d3b1c2a4f5e"


def add_identity(repo: Path, repo_uuid: str, db_uuid: str = DB, lock: bool = False) -> Path:
    db_dir = repo / ".omero" / "repository" / db_uuid
    db_dir.mkdir(parents=True)
    (db_dir / "repo_uuid").write_bytes(encode_repo_uuid(repo_uuid))
    if lock:
        (db_dir / ".lock").write_bytes(b"")
    return db_dir


def build_repo(
    data: Path,
    subdirs: Iterable[str] = STANDARD,
    *,
    identity: bool = True,
    managed_identity: bool = True,
    with_data: bool = True,
) -> Path:
    """A repository a server has run on: subdirs, files in them, both identities."""
    data.mkdir(parents=True, exist_ok=True)
    for name in subdirs:
        (data / name).mkdir()
        if with_data:
            (data / name / "Dir-001").mkdir()
    if identity:
        add_identity(data, "repo-uuid-of-the-data-dir")
    if managed_identity and (data / "ManagedRepository").is_dir():
        add_identity(data / "ManagedRepository", "repo-uuid-of-the-managed-dir")
    return data


def location(
    data: Path,
    managed: Path | None = None,
    server: Path | None = None,
    properties: dict[str, str] | None = None,
) -> ServerLocation:
    return ServerLocation(
        server_dir=Determined(str(server) if server else None, "test"),
        config_path=None,
        profile=Determined("default", "test"),
        data_dir=Determined(str(data), "test"),
        managed_dir=Determined(str(managed or data / "ManagedRepository"), "test"),
        properties=properties or {},
    )


def inspect(data: Path, **kwargs: object) -> LayoutReport:
    # No process scan and no real ~/omero: this machine's own would leak in.
    return inspect_layout(location(data, **kwargs), postgres_dirs=[], client_dirs=[])  # type: ignore[arg-type]


def by_code(report: LayoutReport) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for finding in report.findings:
        out.setdefault(finding.code, []).append(finding)
    return out


def row(report: LayoutReport, name: str) -> EntryInfo:
    return next(e for e in report.subdirs if e.name == name)


# --- healthy ---------------------------------------------------------------------------------


def test_healthy_repository_has_no_findings(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO")
    report = inspect(data)
    assert report.findings == ()
    assert report.data_dir == EntryInfo(
        "data dir",
        str(data),
        "present",
        None,
        report.data_dir.device,
        "the binary repository (omero.data.dir)",
        True,
    )
    assert " on " in report.data_dir.device
    assert [e.name for e in report.subdirs] == STANDARD
    assert all(e.state == "present" and e.standard and e.device for e in report.subdirs)
    assert not report.managed_outside
    assert report.managed_dir.path == str(data / "ManagedRepository")
    assert report.managed_dir.state == "present"
    data_id, managed_id = report.identities
    assert (data_id.role, managed_id.role) == ("data dir", "managed dir")
    assert data_id.entries[0].repo_uuid == "repo-uuid-of-the-data-dir"
    assert managed_id.entries[0].repo_uuid == "repo-uuid-of-the-managed-dir"


def test_fresh_empty_repository_is_one_info(tmp_path: Path) -> None:
    (tmp_path / "OMERO").mkdir()
    report = inspect(tmp_path / "OMERO")
    assert [(f.code, f.severity) for f in report.findings] == [
        ("layout.empty_repository", Severity.INFO)
    ]
    assert [e.state for e in report.subdirs] == ["missing"] * 6
    assert all(e.device == "" for e in report.subdirs)


def test_optional_and_other_entries(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO")
    for name in ("DropBox", "backup", "zz-old-stuff", ".snapshot"):
        (data / name).mkdir()
    (data / "notes.txt").write_text("moved on 2024-01-01")
    report = inspect(data)
    names = [e.name for e in report.subdirs]
    assert names == [*STANDARD, "DropBox", "backup", "notes.txt", "zz-old-stuff"]
    assert row(report, "DropBox").standard and row(report, "backup").standard
    assert row(report, "zz-old-stuff").holds == "not an OMERO directory"
    assert not row(report, "zz-old-stuff").standard
    notes = row(report, "notes.txt")
    assert (notes.state, notes.holds) == ("not a directory", "a file, not an OMERO directory")
    assert report.findings == ()


def test_configured_dirs_among_the_others_are_named(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", [n for n in STANDARD if n != "ManagedRepository"])
    managed = data / "Managed"
    managed.mkdir()
    add_identity(managed, "managed")
    report = inspect(data, managed=managed)
    assert row(report, "Managed").holds == "the managed repository (omero.managed.dir)"
    assert report.managed_outside


# --- the data dir itself ------------------------------------------------------------------------


def test_missing_data_dir(tmp_path: Path) -> None:
    report = inspect(tmp_path / "OMERO")
    assert report.data_dir.state == "missing" and report.data_dir.device == ""
    assert [e.state for e in report.subdirs] == ["missing"] * 6
    assert all(not i.entries for i in report.identities)
    assert [(f.code, f.severity) for f in report.findings] == [
        ("layout.data_dir_missing", Severity.CRITICAL)
    ]


def test_data_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "OMERO").write_text("oops")
    report = inspect(tmp_path / "OMERO")
    assert report.data_dir.state == "not a directory"
    assert by_code(report)["layout.data_dir_not_directory"][0].severity is Severity.CRITICAL
    assert [e.state for e in report.subdirs] == ["missing"] * 6


def test_data_dir_broken_symlink(tmp_path: Path) -> None:
    (tmp_path / "OMERO").symlink_to(tmp_path / "mnt" / "nas" / "OMERO")
    report = inspect(tmp_path / "OMERO")
    assert report.data_dir.state == "broken symlink"
    assert report.data_dir.target == str(tmp_path / "mnt" / "nas" / "OMERO")
    (finding,) = report.findings
    assert (finding.code, finding.severity) == ("layout.broken_symlink", Severity.CRITICAL)


def test_data_dir_symlink_to_a_repository(tmp_path: Path) -> None:
    real = build_repo(tmp_path / "big" / "OMERO")
    (tmp_path / "OMERO").symlink_to(real)
    report = inspect(tmp_path / "OMERO")
    assert report.data_dir.state == "symlink"
    assert report.data_dir.target == str(real)
    assert [e.state for e in report.subdirs] == ["present"] * 6
    assert not report.managed_outside
    assert [(f.code, f.severity) for f in report.findings] == [("layout.symlinked", Severity.INFO)]


def test_unreadable_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = build_repo(tmp_path / "OMERO")
    deny(monkeypatch, data)
    report = inspect(data)
    assert report.data_dir.state == "unreadable"
    assert by_code(report)["layout.data_dir_unreadable"][0].severity is Severity.CRITICAL


def deny(monkeypatch: pytest.MonkeyPatch, *paths: Path) -> None:
    """Make the console's access check fail for paths: root can read everything."""
    real_access = os.access
    denied = {str(p) for p in paths}
    monkeypatch.setattr(
        layout_module.os, "access", lambda p, mode: str(p) not in denied and real_access(p, mode)
    )


# --- subdirectories ----------------------------------------------------------------------------


def test_missing_subdirs_of_a_repository_that_has_run(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", ["Pixels", "ManagedRepository"])
    codes = by_code(inspect(data))
    missing = {f.path: f.severity for f in codes["layout.subdir_missing"]}
    assert missing == {
        str(data / "Files"): Severity.WARNING,
        str(data / "Thumbnails"): Severity.WARNING,
    }
    assert "silently absent" in codes["layout.subdir_missing"][0].message
    rebuilt = {f.path: f.severity for f in codes["layout.rebuildable_missing"]}
    assert rebuilt == {
        str(data / "FullText"): Severity.INFO,
        str(data / "BioFormatsCache"): Severity.INFO,
    }
    assert set(codes) == {"layout.subdir_missing", "layout.rebuildable_missing"}


def test_identity_alone_makes_missing_subdirs_warnings(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", [])
    report = inspect(data)
    assert len(by_code(report)["layout.subdir_missing"]) == 4
    assert "layout.empty_repository" not in by_code(report)


def test_subdir_states(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", ["Pixels", "FullText", "ManagedRepository"])
    elsewhere = tmp_path / "bigdisk" / "Thumbnails"
    elsewhere.mkdir(parents=True)
    (data / "Thumbnails").symlink_to(elsewhere)
    (data / "Files").symlink_to(tmp_path / "gone")
    (data / "BioFormatsCache").write_text("a file")
    report = inspect(data)
    assert row(report, "Thumbnails").state == "symlink"
    assert row(report, "Thumbnails").target == str(elsewhere)
    assert row(report, "Files").state == "broken symlink"
    assert row(report, "BioFormatsCache").state == "not a directory"
    codes = by_code(report)
    assert codes["layout.symlinked"][0].severity is Severity.INFO
    assert str(elsewhere) in codes["layout.symlinked"][0].message
    assert codes["layout.broken_symlink"][0].severity is Severity.CRITICAL
    assert codes["layout.subdir_not_directory"][0].severity is Severity.CRITICAL
    assert worst(report.findings) is Severity.CRITICAL


def test_symlink_loop_is_broken_not_a_crash(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", [n for n in STANDARD if n != "Pixels"])
    (data / "Pixels").symlink_to(data / "Pixels")
    assert row(inspect(data), "Pixels").state == "broken symlink"


def test_unreadable_subdir_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = build_repo(tmp_path / "OMERO")
    deny(monkeypatch, data / "Pixels")
    report = inspect(data)
    assert row(report, "Pixels").state == "unreadable"
    (finding,) = report.findings
    assert (finding.code, finding.severity) == ("layout.subdir_unreadable", Severity.WARNING)


def test_broken_symlink_among_the_others_is_only_info(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO")
    (data / "old-link").symlink_to(tmp_path / "gone")
    (finding,) = inspect(data).findings
    assert (finding.code, finding.severity) == ("layout.broken_symlink", Severity.INFO)


def test_too_many_other_entries_are_capped(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO")
    for i in range(layout_module.MAX_OTHER_ENTRIES + 5):
        (data / f"stray-{i:03d}.tif").write_bytes(b"")
    report = inspect(data)
    assert len(report.subdirs) == 6 + layout_module.MAX_OTHER_ENTRIES
    (finding,) = report.findings
    assert (finding.code, finding.severity) == ("layout.many_entries", Severity.INFO)
    assert "5 more" in finding.message


# --- identity ------------------------------------------------------------------------------------


def test_moved_without_hidden_files(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", identity=False, managed_identity=False)
    codes = by_code(inspect(data))
    paths = {f.path: f.severity for f in codes["layout.identity_missing"]}
    assert paths == {
        str(data / ".omero" / "repository"): Severity.CRITICAL,
        str(data / "ManagedRepository" / ".omero" / "repository"): Severity.CRITICAL,
    }
    assert "mv /OMERO/*" in codes["layout.identity_missing"][0].message


def test_empty_subdirs_without_identity_are_not_an_alarm(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", identity=False, managed_identity=False, with_data=False)
    assert worst(inspect(data).findings) is Severity.OK


def test_managed_dir_without_its_own_identity(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", managed_identity=False)
    (finding,) = inspect(data).findings
    assert finding.code == "layout.identity_missing"
    assert finding.path == str(data / "ManagedRepository" / ".omero" / "repository")
    assert "managed dir" in finding.message


def test_several_databases(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO")
    add_identity(data, "another", db_uuid="0000-old-db")
    (finding,) = inspect(data).findings
    assert (finding.code, finding.severity) == ("layout.several_databases", Severity.INFO)
    assert "2 databases" in finding.message


def test_several_databases_both_locked(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", identity=False)
    add_identity(data, "a", db_uuid="db-a", lock=True)
    add_identity(data, "b", db_uuid="db-b", lock=True)
    findings = by_code(inspect(data))
    assert findings["layout.several_databases"][0].severity is Severity.WARNING


def test_corrupt_repo_uuid(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", identity=False)
    db_dir = data / ".omero" / "repository" / DB
    db_dir.mkdir(parents=True)
    (db_dir / "repo_uuid").write_bytes(b"\x00\x24truncated")
    report = inspect(data)
    (finding,) = report.findings
    assert (finding.code, finding.severity) == ("layout.identity_unreadable", Severity.CRITICAL)
    assert finding.path == str(db_dir / "repo_uuid")
    assert report.identities[0].entries[0].error


def test_data_and_managed_identities_of_different_databases(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", managed_identity=False)
    add_identity(data / "ManagedRepository", "m", db_uuid="some-other-db")
    (finding,) = inspect(data).findings
    assert (finding.code, finding.severity) == ("layout.identity_mismatch", Severity.WARNING)


# --- the managed dir elsewhere ---------------------------------------------------------------


def test_managed_dir_elsewhere(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", [n for n in STANDARD if n != "ManagedRepository"])
    managed = build_repo(tmp_path / "fs" / "Managed", [], identity=False)
    add_identity(managed, "managed-uuid")
    (managed / "user-3_5").mkdir()
    report = inspect(data, managed=managed)
    assert report.managed_outside
    assert report.managed_dir.path == str(managed) and report.managed_dir.state == "present"
    assert row(report, "ManagedRepository").state == "missing"
    assert "not used" in row(report, "ManagedRepository").holds
    assert report.identities[1].entries[0].repo_uuid == "managed-uuid"
    assert [(f.code, f.severity) for f in report.findings] == [
        ("layout.managed_outside", Severity.INFO)
    ]


def test_unused_managed_repository_with_old_files_is_said_not_alarmed(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO")
    managed = tmp_path / "fs" / "Managed"
    managed.mkdir(parents=True)
    add_identity(managed, "managed-uuid")
    report = inspect(data, managed=managed)
    assert "still holds files" in row(report, "ManagedRepository").holds
    assert worst(report.findings) is Severity.INFO


def test_managed_dir_elsewhere_missing(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", [n for n in STANDARD if n != "ManagedRepository"])
    codes = by_code(inspect(data, managed=tmp_path / "nfs" / "Managed"))
    assert codes["layout.managed_dir_missing"][0].severity is Severity.WARNING
    assert "layout.subdir_missing" not in codes


def test_managed_symlink_into_the_data_dir_is_not_outside(tmp_path: Path) -> None:
    managed = build_repo(tmp_path / "fs" / "Managed", [], identity=False)
    add_identity(managed, "managed-uuid")
    data = build_repo(tmp_path / "OMERO", [n for n in STANDARD if n != "ManagedRepository"])
    (data / "ManagedRepository").symlink_to(managed)
    report = inspect(data, managed=managed)
    assert not report.managed_outside
    assert row(report, "ManagedRepository").state == "symlink"
    assert [f.code for f in report.findings] == ["layout.symlinked"]


def test_managed_dir_that_is_the_data_dir(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO")
    codes = by_code(inspect(data, managed=data))
    assert codes["layout.managed_contains_data_dir"][0].severity is Severity.WARNING


def test_memoizer_dir_elsewhere(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO", [n for n in STANDARD if n != "BioFormatsCache"])
    memo = tmp_path / "cache"
    report = inspect(data, properties={"omero.pixeldata.memoizer.dir": str(memo)})
    assert report.findings == ()
    assert "omero.pixeldata.memoizer.dir" in row(report, "BioFormatsCache").holds


# --- not the repository, and the mechanics ------------------------------------------------


def test_data_dir_inside_the_server_dir(tmp_path: Path) -> None:
    server = tmp_path / "OMERO.server"
    (server / "etc" / "grid").mkdir(parents=True)
    data = build_repo(server / "var" / "OMERO")
    report = inspect(data, server=server)
    (finding,) = report.findings
    assert (finding.code, finding.severity) == ("layout.nested_server_dir", Severity.CRITICAL)


def test_postgres_dirs_and_client_dirs_are_used(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "pg" / "OMERO")
    loc = location(data)
    report = inspect_layout(
        loc,
        postgres_dirs=[(str(tmp_path / "pg"), "test")],
        client_dirs=[(str(tmp_path), "a user dir")],
    )
    assert set(by_code(report)) == {"layout.nested_postgres_dir", "layout.nested_client_dir"}


def test_mount_table_read_once_per_inspection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real_read = MountTable.read.__func__  # type: ignore[attr-defined]

    def counting(cls: type[MountTable]) -> MountTable:
        calls.append(1)
        return real_read(cls)

    monkeypatch.setattr(MountTable, "read", classmethod(counting))
    data = build_repo(tmp_path / "OMERO", [*STANDARD, "DropBox"])
    inspect(data)
    assert len(calls) == 1
    inspect(data)
    assert len(calls) == 2  # a new look sees a remount


def test_default_scans_run_without_raising(tmp_path: Path) -> None:
    data = build_repo(tmp_path / "OMERO")
    report = inspect_layout(location(data))
    assert [e.name for e in report.subdirs] == STANDARD
