"""``omero-tui usage``: the Disk usage panel's headless twin, JSON schema and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from omero_tui.core.demo.sandbox import build_demo
from tests.bench.usage_tree import gnu_du, gnu_find_files


@pytest.fixture(scope="module")
def shared_demo(tmp_path_factory):  # noqa: ANN001, ANN201
    """One sandbox for the tests that only read it (building one takes a second)."""
    return build_demo(tmp_path_factory.mktemp("usage-demo") / "demo")


TOTAL_KEYS = {"files", "dirs", "apparent_bytes", "allocated_bytes", "errors"}


def run_usage(
    *args: str, state: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OMERODIR", "OMERO_CONFIG")}
    env.update(extra_env or {})
    env["XDG_STATE_HOME"] = str(state)  # never the admin's own history
    env["XDG_CONFIG_HOME"] = str(state / "config")
    return subprocess.run(
        [sys.executable, "-m", "omero_tui", "usage", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_json_schema_and_totals_equal_du(shared_demo, tmp_path) -> None:  # noqa: ANN001
    result = run_usage("--json", "--server-dir", str(shared_demo.server_dir), state=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    data = shared_demo.data_dir
    repository = report["repository"]
    assert TOTAL_KEYS | {"name", "path", "volumes", "verdict"} <= set(repository)
    assert repository["path"] == str(data)
    assert repository["allocated_bytes"] == gnu_du(data)[0]
    assert repository["apparent_bytes"] == gnu_du(data, apparent=True)[0]
    assert repository["files"] == gnu_find_files(data)
    assert repository["verdict"] == report["verdict"] == "ok"
    for volume in repository["volumes"]:
        assert {"free_bytes", "total_bytes", "free_inodes"} <= set(volume)
        assert isinstance(volume["free_bytes"], int) and volume["free_bytes"] > 0
    subdirs = {s["name"]: s for s in report["subdirectories"]}
    assert {"Pixels", "Files", "Thumbnails", "FullText", "ManagedRepository"} <= set(subdirs)
    for name, row in subdirs.items():
        assert TOTAL_KEYS | {"name", "path"} <= set(row)
        assert row["allocated_bytes"] == gnu_du(data / name)[0], name
        assert row["files"] == gnu_find_files(data / name), name
    assert report["quick"] is False and report["exit_code"] == 0
    assert "2026-11" in report["growth"]["managed_by_import_month"]
    for finding in report["findings"]:
        assert set(finding) == {"area", "severity", "code", "message", "path"}


def test_quick_rescan_reuses_the_recorded_scan(demo_sandbox, tmp_path) -> None:  # noqa: ANN001
    server = str(demo_sandbox.server_dir)
    first = run_usage("--quick", "--server-dir", server, state=tmp_path)
    assert "there was no earlier scan on record" in " ".join(first.stdout.split())
    (demo_sandbox.data_dir / "Files" / "new-upload").write_bytes(b"u" * 20_000)
    second = json.loads(
        run_usage("--json", "--quick", "--server-dir", server, state=tmp_path).stdout
    )
    assert second["quick"] is True and second["reused_dirs"] > 0 and second["listed_dirs"] >= 1
    assert second["repository"]["allocated_bytes"] == gnu_du(demo_sandbox.data_dir)[0]
    assert "usage.quick_rescan" in {f["code"] for f in second["findings"]}
    history = (tmp_path / "omero-tui" / "usage-history.jsonl").read_text().splitlines()
    assert len(history) == 2


def test_export_writes_ncdu_json(shared_demo, tmp_path) -> None:  # noqa: ANN001
    target = tmp_path / "repo.ncdu.json"
    args = ("--server-dir", str(shared_demo.server_dir), "--export", str(target))
    result = run_usage(*args, state=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(target.read_text())[:2] == [1, 2]
    assert f"ncdu -f {target}" in " ".join(result.stdout.split())
    refused = run_usage(*args, "--quick", state=tmp_path)
    assert refused.returncode == 3 and "needs a full scan" in refused.stderr
    unwritable = run_usage(*args[:2], "--export", "/proc/no-such-dir/x.json", state=tmp_path)
    assert unwritable.returncode == 3 and "cannot write the export" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr


@pytest.mark.parametrize(
    ("setting", "code", "word"),
    [("free_warn_percent = 100", 1, "WARNING"), ("free_critical_percent = 100", 2, "CRITICAL")],
)
def test_thresholds_from_the_settings_file_set_the_exit_code(
    shared_demo, tmp_path, setting, code, word
) -> None:  # noqa: ANN001
    settings = tmp_path / "settings.toml"
    settings.write_text(f"[thresholds]\n{setting}\n", encoding="utf-8")
    args = ("--server-dir", str(shared_demo.server_dir), "--settings", str(settings))
    result = run_usage(*args, state=tmp_path)
    assert result.returncode == code
    assert f"Overall: {word}" in result.stdout


def test_missing_data_dir_is_unknown_with_a_one_line_reason(tmp_path) -> None:  # noqa: ANN001
    """Monitoring convention: a check that could not run is UNKNOWN (3), not WARNING."""
    result = run_usage("--data-dir", str(tmp_path / "nope"), state=tmp_path)
    assert result.returncode == 3
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr
    as_json = run_usage("--json", "--data-dir", str(tmp_path / "nope"), state=tmp_path)
    assert as_json.returncode == 3
    assert json.loads(as_json.stdout)["verdict"] == "unknown"


def test_names_that_are_not_utf8_keep_the_json_valid(tmp_path) -> None:  # noqa: ANN001
    """A byte name (from an old Windows share, say) must not crash a strict-UTF-8 stdout."""
    data = tmp_path / "OMERO"
    odd = os.fsencode(data) + b"/caf\xe9"
    os.makedirs(odd)
    with open(odd + b"/x\xff", "wb") as out:
        out.write(b"o" * 5000)
    os.link(odd + b"/x\xff", tmp_path / "outside")  # so the name is in the examples too
    env_strict = {"PYTHONIOENCODING": "utf-8:strict"}
    result = run_usage("--json", "--data-dir", str(data), state=tmp_path, extra_env=env_strict)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["repository"]["allocated_bytes"] == gnu_du(data)[0]
    [row] = report["subdirectories"]
    assert os.fsencode(row["name"]) == b"caf\xe9" and row["files"] == 1
    assert os.fsencode(report["external_links"]["examples"][0]).endswith(b"/caf\xe9/x\xff")
    text = run_usage("--data-dir", str(data), state=tmp_path, extra_env=env_strict)
    assert text.returncode == 0 and "caf\\udce9" in text.stdout, text.stderr


def test_a_scan_command_run_in_process_gives_the_garbage_collector_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """usage and check run without the cyclic collector; whoever calls main keeps it."""
    import gc

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

    from omero_tui.cli import main
    from tests.bench.usage_tree import make_tree

    tree = make_tree(tmp_path / "OMERO", 50, 5)
    seen: list[bool] = []
    assert gc.isenabled()
    gc.callbacks.append(lambda phase, info: seen.append(True))
    try:
        code = main(["usage", "--json", "--data-dir", str(tree), "--settings", str(tmp_path / "s")])
    finally:
        gc.callbacks.pop()
    assert code in (0, 1, 2) and json.loads(capsys.readouterr().out)["repository"][
        "files"
    ] == gnu_find_files(tree)
    assert gc.isenabled()
    assert not seen  # no collection ran during the command


def test_a_report_that_cannot_be_written_is_not_an_ok(tmp_path: Path) -> None:
    """A scan command leaves without tearing the interpreter down (cli.run): output it
    could not write must still end in a failure, never in a silent OK."""
    from tests.bench.usage_tree import make_tree

    tree = make_tree(tmp_path / "OMERO", 50, 5)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    readable, writable = os.pipe()
    os.close(readable)  # nobody reads: the text report's flush fails (EPIPE)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "omero_tui", "usage", "--data-dir", str(tree)],
            stdout=writable,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        os.close(writable)
    assert result.returncode != 0 and b"Broken pipe" in result.stderr
    ok = run_usage("--data-dir", str(tree), state=tmp_path / "state")
    assert ok.returncode == 0 and "Pixels" in ok.stdout and ok.stdout.endswith("\n")
