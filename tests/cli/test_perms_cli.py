"""``omero-tui perms``: its JSON agrees with ``runuser -u USER -- test`` on every case.

Each case is a directory the report has a row for (a standard subdirectory, the
identity, an ancestor), built for real scratch users; the CLI runs as a subprocess,
as an admin or a monitoring system would run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.core.demo.session import DemoSession
from tests.core.test_access_ground_truth import (
    Scratch,
    can_create,
    has_setfacl,
    make,
    scratch_users,
    setfacl,
    truths,
)
from tests.core.test_perms_fix import repo_tree, snapshot

SLOTS = (
    "Pixels",
    "Files",
    "Thumbnails",
    "FullText",
    "ManagedRepository",
    "BioFormatsCache",
    "DropBox",
    ".omero",
)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    with scratch_users() as s:
        yield s


def run_perms(*args: str, state: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OMERODIR", "OMERO_CONFIG")}
    if state is not None:
        env["XDG_STATE_HOME"] = str(state)
    return subprocess.run(
        [sys.executable, "-m", "omero_tui", "perms", "--settings", "/nonexistent.toml", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def rows_of(data: Path, user: str) -> tuple[list[dict], dict]:
    result = run_perms("--json", "--user", user, "--data-dir", str(data))
    report = json.loads(result.stdout)
    assert (
        result.returncode
        == {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}[
            max(report["findings"], key=lambda f: RANK[f["severity"]])["severity"]
        ]
    )
    return report["rows"], report


RANK = {"ok": 0, "info": 1, "warning": 2, "unknown": 3, "critical": 4}


def disagreements(rows: list[dict], user: str) -> dict[str, tuple[str, str]]:
    kernel = truths(user, [row["path"] for row in rows])
    found = {}
    for row in rows:
        said = "".join(
            c if row[k] else "-" for c, k in (("r", "read"), ("w", "write"), ("x", "traverse"))
        )
        if said != kernel[row["path"]]:
            found[row["path"]] = (said, kernel[row["path"]])
    return found


def fill(data: Path, s: Scratch, specs: list[tuple[str, str, int]]) -> None:
    names = {"u": s.user, "o": s.other, "g": s.group, "f": s.foreign}
    make(data, s.user, s.user, 0o755)
    for slot, (owner, group, mode) in zip(SLOTS, specs, strict=False):
        make(data / slot, names[owner], names[group], mode)


def test_mode_bit_cases_agree_with_the_kernel(scratch: Scratch) -> None:
    data = scratch.base / "cli-modes" / "OMERO"
    make(data.parent, scratch.other, scratch.foreign, 0o701)  # enterable through "other" only
    fill(
        data,
        scratch,
        [
            ("u", "u", 0o700),
            ("u", "u", 0o500),
            ("u", "g", 0o070),
            ("o", "g", 0o770),
            ("o", "g", 0o2750),
            ("o", "g", 0o707),
            ("o", "f", 0o705),
            ("o", "f", 0o700),  # .omero closed: the identity rows below are blocked
        ],
    )
    make(data / ".omero" / "repository", scratch.user, scratch.user, 0o777)
    make(data / ".omero" / "repository" / "0f3c", scratch.user, scratch.user, 0o777)
    rows, report = rows_of(data, scratch.user)
    assert len(rows) >= 13
    assert disagreements(rows, scratch.user) == {}
    assert {r["label"] for r in rows if r["blocked_by"]} == {
        ".omero/repository",
        ".omero/repository/0f3c…",
    }
    assert report["user"]["source"] == "chosen"


def test_more_mode_cases_and_a_closed_ancestor_agree(scratch: Scratch) -> None:
    data = scratch.base / "cli-more" / "OMERO"
    make(data.parent, scratch.user, scratch.user, 0o755)
    fill(data, scratch, [("o", "f", 0o700), ("o", "f", 0o777), ("o", "g", 0o2770)])
    rows, _ = rows_of(data, scratch.user)
    assert disagreements(rows, scratch.user) == {}
    closed = make(scratch.base / "cli-closed", scratch.other, scratch.foreign, 0o700)
    inside = repo_tree(closed / "OMERO", scratch.user, scratch.user)
    rows, report = rows_of(inside, scratch.user)
    assert disagreements(rows, scratch.user) == {}
    assert "perms.ancestor_not_traversable" in {f["code"] for f in report["findings"]}


# (owner, group, mode, ACL entries): one case per rule of the ACL access check; "u",
# "o", "g", "f" are the scratch user, another user, the user's group, a foreign group.
ACL_SPECS = (
    ("o", "f", 0o700, "u:{u}:rwx"),
    ("o", "f", 0o700, "u:{u}:rwx,m::r-x"),  # the mask limits a named user
    ("o", "f", 0o700, "g:{g}:r-x"),
    ("o", "g", 0o770, "u:{u}:---"),  # a named user entry beats the group
    ("o", "g", 0o710, "g:{u}:rw-"),  # matching group entries
    ("o", "g", 0o770, "u:{o}:rwx,m::r-x"),
    ("u", "f", 0o700, "u:{o}:rwx,m::---"),  # the owner ignores the mask
    ("o", "f", 0o705, "u:{o}:rwx"),
    ("u", "g", 0o070, "g:{g}:rwx"),  # the owner entry beats a group entry of theirs
    ("o", "f", 0o757, "g:{g}:---"),  # a matching group entry: no fall through to other
    ("o", "f", 0o707, "g:{g}:---"),  # an empty mask: Linux reads the mode bits
    ("o", "f", 0o700, "g:{g}:rw-,g:{u}:r-x"),  # w and x, but never both at once
)


def acl_repos(s: Scratch, base: Path) -> list[Path]:
    """Repositories whose slots hold the ACL_SPECS cases, eight to a repository, and one
    whose Pixels is a symlink to a directory the ACL closes (its group bits say rwx)."""
    names = {"u": s.user, "o": s.other, "g": s.group, "f": s.foreign}
    repos = []
    for start in range(0, len(ACL_SPECS), len(SLOTS)):
        data = base / f"acl-{start}" / "OMERO"
        make(data.parent, s.user, s.user, 0o755)
        make(data, s.user, s.user, 0o755)
        for slot, (owner, group, mode, acl) in zip(SLOTS, ACL_SPECS[start:], strict=False):
            make(data / slot, names[owner], names[group], mode)
            setfacl("-m", acl.format(**names), str(data / slot))
        repos.append(data)
    data = base / "acl-link" / "OMERO"
    make(data.parent, s.user, s.user, 0o755)
    make(data, s.user, s.user, 0o755)
    target = make(data.parent / "pixels-volume", s.other, s.group, 0o770)
    setfacl("-m", f"u:{s.user}:---", str(target))
    (data / "Pixels").symlink_to(target)
    repos.append(data)
    return repos


def test_acl_cases_agree_with_the_kernel(scratch: Scratch) -> None:
    if not has_setfacl():
        pytest.skip("setfacl is not installed (apt-get install acl): ACL cases not checked")
    u = scratch.user
    seen = 0
    first: list[dict] = []
    for data in acl_repos(scratch, scratch.base / "cli-acl"):
        rows, _ = rows_of(data, u)
        first = first or rows
        assert disagreements(rows, u) == {}
        # Making a file needs write and search from one entry: as the kernel decides it.
        made = {
            r["path"]: (r["create"], can_create(u, r["path"]))
            for r in rows
            if r["kind"] == "repository" and r["present"]
        }
        assert {p: pair for p, pair in made.items() if pair[0] != pair[1]} == {}
        seen += len(rows)
        if (data / "Pixels").is_symlink():
            pixels = next(r for r in rows if r["label"] == "Pixels")
            assert pixels["read"] is False and "perms.not_readable" in pixels["problems"]
    assert seen >= len(ACL_SPECS)
    pixels = next(r for r in first if r["label"] == "Pixels")
    assert pixels["mode"].endswith("+") and f"user:{u}:rwx" in pixels["acl"]


def test_fix_yes_turns_it_green_and_undo_restores_it(scratch: Scratch, tmp_path: Path) -> None:
    data = repo_tree(scratch.base / "cli-fix", "root", "root", 0o750, 0o640)
    original = snapshot(data)
    dry = run_perms("--fix", "--user", scratch.user, "--data-dir", str(data), state=tmp_path)
    assert dry.returncode == 2
    assert f"chown -R {scratch.user}:{scratch.user} {data}" in dry.stdout
    assert "dry run" in dry.stdout
    assert snapshot(data) == original  # a dry run changes nothing

    fixed = run_perms(
        "--fix", "--yes", "--json", "--deep", "--user", scratch.user, "--data-dir", str(data),
        state=tmp_path,
    )  # fmt: skip
    out = json.loads(fixed.stdout)
    assert fixed.returncode == 0, out["after"]["findings"]
    assert [f["code"] for f in out["after"]["findings"]] == ["perms.all_ok"]
    assert disagreements(out["after"]["rows"], scratch.user) == {}
    assert out["applied"]["changed"] == len(original)

    undone = run_perms("--undo", state=tmp_path)
    assert undone.returncode == 0, undone.stderr
    assert f"{len(original)} entries restored" in undone.stdout
    assert snapshot(data) == original
    again = run_perms("--undo", state=tmp_path)
    assert again.returncode == 1 and "no permission fix to undo" in again.stderr


def test_unknown_user_is_refused_in_one_line(tmp_path: Path) -> None:
    result = run_perms("--user", "no-such-user-otui", "--data-dir", str(tmp_path))
    assert result.returncode == 3  # the check could not run: UNKNOWN to monitoring
    assert result.stderr.strip() == "omero-tui: no user 'no-such-user-otui' on this machine"


def test_demo_with_its_stand_in_running_is_green_and_says_why(tmp_path: Path) -> None:
    with DemoSession(tmp_path / "demo") as session:
        if session.start_error:
            pytest.skip(f"the demo stand-in did not start: {session.start_error}")
        result = run_perms("--server-dir", str(session.sandbox.server_dir), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert report["user"]["source"] == "processes"
    assert "demo stand-in" in report["user"]["how"]
    assert [p["role"] for p in report["processes"]] == ["demo stand-in"]
    assert [f["code"] for f in report["findings"]] == ["perms.all_ok"]
    me = report["user"]["name"]
    assert me in report["verdict"]
