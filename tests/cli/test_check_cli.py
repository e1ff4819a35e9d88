"""``omero-tui check``: exit codes for a healthy demo and for injected faults, JSON, Prometheus."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from omero_tui.core.demo.sandbox import build_demo
from omero_tui.core.demo.session import DemoSession

AREAS = ["layout", "usage", "locks", "permissions", "server", "relocation", "database"]
FINDING_KEYS = {"area", "severity", "code", "message", "path"}


def run_check(*args: str, state: Path, settings: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OMERODIR", "OMERO_CONFIG")}
    env["XDG_STATE_HOME"] = str(state)  # never the admin's own history or cache
    env["XDG_CONFIG_HOME"] = str(state / "config")
    if settings is None:
        # The demo names a database at localhost that does not run here; the database
        # area has its own tests (tests/database), so these judge the other areas.
        default = state / "config" / "omero-tui" / "settings.toml"
        default.parent.mkdir(parents=True, exist_ok=True)
        default.write_text("[database]\ncheck = false\n")
    extra = ["--settings", str(settings)] if settings else []
    return subprocess.run(
        [sys.executable, "-m", "omero_tui", "check", *extra, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def demo(tmp_path: Path):  # noqa: ANN201
    return build_demo(tmp_path / "demo")


def test_healthy_demo_is_a_clean_bill_of_health(demo, tmp_path: Path) -> None:  # noqa: ANN001
    result = run_check("--server-dir", str(demo.server_dir), state=tmp_path / "state")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Overall: OK: a clean bill of health." in result.stdout
    for title in ("Layout", "Disk usage", "Lock health", "Permissions", "Server", "Relocation"):
        assert title in result.stdout
    assert "WARNING" not in result.stdout and "CRITICAL" not in result.stdout


def test_running_stand_in_server_is_seen_and_still_ok(tmp_path: Path) -> None:
    with DemoSession(root=tmp_path / "demo") as session:
        assert session.start_error is None, session.start_error
        result = run_check(
            "--json",
            "--probe",
            "--server-dir",
            str(session.sandbox.server_dir),
            state=tmp_path / "state",
        )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    server = next(a for a in report["areas"] if a["area"] == "server")
    assert server["headline"].startswith("Running as ")
    locks = next(a for a in report["areas"] if a["area"] == "locks")
    assert locks["note"] == "probed"
    assert report["metrics"]["lock_probe"] and all(
        p["passed"] for p in report["metrics"]["lock_probe"]
    )


def test_missing_subdirectory_is_a_warning_that_names_it(demo, tmp_path: Path) -> None:  # noqa: ANN001
    shutil.rmtree(demo.data_dir / "Pixels")
    result = run_check("--server-dir", str(demo.server_dir), state=tmp_path / "state")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "WARNING: [layout] Pixels is missing from the data dir" in result.stdout


def test_missing_data_dir_is_critical(demo, tmp_path: Path) -> None:  # noqa: ANN001
    shutil.rmtree(demo.data_dir)
    result = run_check("--server-dir", str(demo.server_dir), state=tmp_path / "state")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "CRITICAL: [layout] The data dir does not exist" in result.stdout


@pytest.fixture
def open_demo():  # noqa: ANN201
    """A demo whose ancestors another user may traverse (pytest's tmp root is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="omero-tui-check-"))
    root.chmod(0o755)
    yield build_demo(root / "demo")
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to judge for another user")
def test_data_dir_unwritable_for_the_server_user_is_critical(open_demo, tmp_path: Path) -> None:  # noqa: ANN001
    demo = open_demo
    settings = tmp_path / "settings.toml"
    settings.write_text('[server]\nuser = "nobody"\n')
    result = run_check(
        "--server-dir", str(demo.server_dir), state=tmp_path / "state", settings=settings
    )
    assert result.returncode == 2, result.stdout + result.stderr
    words = " ".join(result.stdout.split())  # wrapped at 80 columns
    assert "CRITICAL: [permissions] nobody cannot write to " + str(demo.data_dir) in words


def test_free_space_thresholds_set_to_fail_are_critical(demo, tmp_path: Path) -> None:  # noqa: ANN001
    settings = tmp_path / "settings.toml"
    settings.write_text("[thresholds]\nfree_warn_percent = 100\nfree_critical_percent = 100\n")
    result = run_check(
        "--server-dir", str(demo.server_dir), state=tmp_path / "state", settings=settings
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "CRITICAL: [usage] Only " in result.stdout and "is free" in result.stdout


def test_json_has_every_area_and_finding_fields(demo, tmp_path: Path) -> None:  # noqa: ANN001
    (demo.data_dir / "Thumbnails").rename(demo.data_dir / "Thumbnails.old")
    result = run_check("--json", "--server-dir", str(demo.server_dir), state=tmp_path / "state")
    report = json.loads(result.stdout)
    assert [a["area"] for a in report["areas"]] == AREAS
    assert report["exit_code"] == result.returncode == 1
    assert report["severity"] == "warning"
    for area in report["areas"]:
        assert {"area", "title", "severity", "headline", "note", "findings"} <= set(area)
        for finding in area["findings"]:
            assert set(finding) == FINDING_KEYS
    codes = {f["code"] for f in report["findings"]}
    assert "layout.subdir_missing" in codes
    assert report["metrics"]["repository"]["files"] > 0


def test_prometheus_textfile_parses_back(demo, tmp_path: Path) -> None:  # noqa: ANN001
    prom = tmp_path / "textfile" / "omero.prom"
    prom.parent.mkdir()
    result = run_check(
        "--prometheus", str(prom), "--server-dir", str(demo.server_dir), state=tmp_path / "state"
    )
    assert result.returncode == 0, result.stderr
    assert [p.name for p in prom.parent.iterdir()] == ["omero.prom"]  # no temp file left
    families = {f.name: f for f in text_string_to_metric_families(prom.read_text())}
    status = families["omero_tui_check_status"].samples
    assert [s.value for s in status] == [0]
    by_subdir = {
        s.labels["subdir"]: s.value
        for s in families["omero_tui_repository_bytes"].samples
        if s.labels["kind"] == "allocated"
    }
    assert {"Pixels", "ManagedRepository", "repository"} <= set(by_subdir)
    assert by_subdir["repository"] >= by_subdir["Pixels"] > 0
    free = families["omero_tui_volume_free_bytes"].samples
    assert free and free[0].value > 0
    areas = {s.labels["area"] for s in families["omero_tui_area_status"].samples}
    assert areas == set(AREAS)
    counts = {s.labels["severity"] for s in families["omero_tui_findings"].samples}
    assert counts == {"info", "warning", "critical", "unknown"}


def test_cached_without_a_scan_still_judges_free_space(demo, tmp_path: Path) -> None:  # noqa: ANN001
    result = run_check(
        "--cached", "--json", "--server-dir", str(demo.server_dir), state=tmp_path / "state"
    )
    assert result.returncode == 0, result.stderr
    usage = next(a for a in json.loads(result.stdout)["areas"] if a["area"] == "usage")
    assert "no scan on record" in usage["headline"]
    assert "free" in usage["headline"]


def test_quick_and_cached_together_are_refused(demo, tmp_path: Path) -> None:  # noqa: ANN001
    result = run_check(
        "--quick", "--cached", "--server-dir", str(demo.server_dir), state=tmp_path / "state"
    )
    assert result.returncode != 0
    assert result.returncode == 3  # a bad option is UNKNOWN to monitoring, not CRITICAL
    assert "--cached: not allowed with argument --quick" in result.stderr.splitlines()[-1]
