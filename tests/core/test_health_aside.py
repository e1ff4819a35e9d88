"""``check`` runs every area but usage in a forked child while it scans (health.aside).

The report must be the one the areas give in turn, and nothing may get lost on the way:
an area that fails there, or a child that dies, is an UNKNOWN verdict that says why;
progress comes through; the locks area gets the scan's pyramid lock files; a check
that is interrupted leaves no child behind. Each case runs in a fresh interpreter: the
child is forked only from a process with no other thread, which a test runner need
not be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.usage_tree import make_tricky_tree

REPO = Path(__file__).resolve().parents[2]
PRELUDE = """
import json, os, signal, sys, time, types
from pathlib import Path
from omero_tui.core.discovery import discover
from omero_tui.core.health import areas, aside
from omero_tui.core.health.check import run_health_check
from omero_tui.core.settings import Settings

data, state, case = sys.argv[1:4]
location = discover(data_dir_arg=data, candidates=(), env={})
settings = Settings.load(Path(state) / "settings.toml")
real_relocation = areas.relocation_area

def relocation_area(state_dir):  # says which process checked it
    area, figures = real_relocation(state_dir)
    return area, {**figures, "relocation_pid": os.getpid()}

areas.relocation_area = relocation_area

def check(aside=True, **options):
    return run_health_check(
        location, settings=settings, usage_mode="full", state_dir=Path(state), aside=aside,
        **options,
    )
"""
CASES = {
    "same": """
in_turn, beside = check(aside=False), check()
print(json.dumps({"pid": os.getpid(), "in_turn": in_turn.to_json(), "aside": beside.to_json()}))
""",
    "fails": """
def perms_area(*args, **kwargs):
    raise RuntimeError("boom")

areas.perms_area = perms_area
print(json.dumps({"pid": os.getpid(), "aside": check().to_json()}))
""",
    "dies": """
parent = os.getpid()

def server_area(*args, **kwargs):
    assert os.getpid() != parent, "not checked aside"
    os.kill(os.getpid(), signal.SIGKILL)

areas.server_area = server_area
print(json.dumps({"pid": parent, "aside": check().to_json()}))
""",
    "progress": """
real_database = areas.database_area

def database_area(location, settings, *, progress, cancel):
    progress(types.SimpleNamespace(rows=1234))
    return real_database(location, settings, progress=progress, cancel=cancel)

areas.database_area = database_area
seen = []
report = check(progress=lambda p: seen.append([p.area, p.done, p.total, p.detail]))
print(json.dumps({"pid": os.getpid(), "aside": report.to_json(), "progress": seen}))
""",
    "pyramids": """
from omero_tui.core.locks import files as lock_files

def no_second_walk(pixels, budget):
    raise AssertionError(f"Pixels listed again: {pixels}")

lock_files._pyramid_locks = no_second_walk
print(json.dumps({"pid": os.getpid(), "aside": check().to_json()}))
""",
    "no_fork": """
def fork():
    raise BlockingIOError(11, "Resource temporarily unavailable")

open_before = len(os.listdir("/proc/self/fd"))
os.fork = fork
report = check().to_json()
leaked = len(os.listdir("/proc/self/fd")) - open_before
print(json.dumps({"pid": os.getpid(), "aside": report, "leaked": leaked}))
""",
    "sigchld_ignored": """
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reaped by the kernel
print(json.dumps({"pid": os.getpid(), "aside": check().to_json()}))
""",
    "interrupted": """
from omero_tui.core.usage.service import UsageService
children = []
real_init = aside.AsideAreas.__init__

def init(self, *args, **kwargs):
    real_init(self, *args, **kwargs)
    children.append(self.pid)

def scan(self, *args, **kwargs):
    raise KeyboardInterrupt

def layout_area(location):
    time.sleep(60)  # a child that would linger, were it not stopped

aside.AsideAreas.__init__ = init
UsageService.scan = scan
areas.layout_area = layout_area
started = time.monotonic()
try:
    check()
except KeyboardInterrupt:
    pass
try:
    os.kill(children[0], 0)
    alive = True
except ProcessLookupError:
    alive = False
print(json.dumps({"child": children[0], "alive": alive, "seconds": time.monotonic() - started}))
""",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    data = make_tricky_tree(tmp_path / "OMERO", outside=tmp_path / "elsewhere")
    pixels = data / "Pixels"
    (pixels / ".7_pyramid.pyr_lock").write_bytes(b"")
    (pixels / "Dir-001").mkdir(exist_ok=True)
    (pixels / "Dir-001" / ".8_pyramid.pyr_lock").write_bytes(b"")
    state = tmp_path / "state"
    state.mkdir()
    (state / "settings.toml").write_text("[database]\ncheck = false\n")
    return data


def run_case(case: str, tree: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMERO", "PG"))}
    env["PYTHONPATH"] = str(REPO)
    env["XDG_CONFIG_HOME"] = str(tree.parent / "config")
    result = subprocess.run(
        [sys.executable, "-c", PRELUDE + CASES[case], str(tree), str(tree.parent / "state"), case],
        capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def areas_of(report: dict) -> dict[str, dict]:
    return {a["area"]: a for a in report["areas"]}


def test_the_report_is_the_one_the_areas_give_in_turn(tree: Path) -> None:
    out = run_case("same", tree)
    in_turn, beside = out["in_turn"], out["aside"]
    assert in_turn["metrics"].pop("relocation_pid") == out["pid"]
    assert beside["metrics"].pop("relocation_pid") != out["pid"]  # checked in the child
    for report in (in_turn, beside):
        for area in report["areas"]:
            area.pop("measured_at")
        del report["checked_at"]
        # The usage area runs in this process either way; only its clock and the free
        # space (other processes write to this disk) may differ between the two scans.
        usage = areas_of(report)["usage"]
        usage["headline"] = usage["note"] = ""
        for volume in report["metrics"].pop("volumes"):
            assert volume["mount_point"]
        report["metrics"].pop("scanned_at")
    assert [a["area"] for a in beside["areas"]] == [a["area"] for a in in_turn["areas"]]
    assert beside == in_turn
    assert list(beside["metrics"]) == list(in_turn["metrics"])  # the order monitoring sees


def test_an_area_that_fails_there_is_unknown_and_says_why(tree: Path) -> None:
    report = run_case("fails", tree)["aside"]
    perms = areas_of(report)["permissions"]
    assert perms["severity"] == "unknown"
    assert perms["headline"] == "Check failed: RuntimeError: boom"
    assert [f["code"] for f in perms["findings"]] == ["permissions.check_failed"]
    others = [a for a in report["areas"] if a["area"] != "permissions"]
    assert all(not a["headline"].startswith("Check failed") for a in others)


def test_a_child_that_dies_leaves_each_of_its_areas_unknown(tree: Path) -> None:
    report = run_case("dies", tree)["aside"]
    found = areas_of(report)
    assert found["usage"]["severity"] == "ok"  # scanned here, unharmed
    for name in ("layout", "locks", "permissions", "server", "relocation", "database"):
        assert found[name]["severity"] == "unknown", name
        assert found[name]["headline"] == (
            "Check failed: the process checking it was killed by signal 9 before it answered"
        )
    assert report["exit_code"] == 3


def test_progress_made_there_is_passed_on(tree: Path) -> None:
    out = run_case("progress", tree)
    assert ["database", 6, 7, "1,234 rows"] in out["progress"]
    assert out["progress"][0][:2] == ["usage", 1]
    assert out["progress"][-1] == ["", 7, 7, ""]


def test_the_locks_area_there_gets_the_scans_pyramid_lock_files(tree: Path) -> None:
    locks = areas_of(run_case("pyramids", tree)["aside"])["locks"]
    codes = [f["code"] for f in locks["findings"]]
    assert "locks.check_failed" not in codes, locks  # Pixels was not listed again
    stale = [f for f in locks["findings"] if f["code"] == "locks.stale_pyramid_lock"]
    assert stale and stale[0]["message"].startswith("2 "), locks


def test_an_interrupted_check_leaves_no_child(tree: Path) -> None:
    out = run_case("interrupted", tree)
    assert out["alive"] is False
    assert out["seconds"] < 30  # stopped, not waited for


def test_without_a_process_to_fork_the_areas_are_checked_in_turn(tree: Path) -> None:
    out = run_case("no_fork", tree)
    assert out["aside"]["metrics"]["relocation_pid"] == out["pid"]
    assert not [a for a in out["aside"]["areas"] if a["headline"].startswith("Check failed")]
    assert out["leaked"] == 0  # the pipes made for the child are closed again


def test_a_child_reaped_by_the_kernel_still_answers(tree: Path) -> None:
    """Started with SIGCHLD ignored (inherited from a careless parent), the child is
    reaped before it is waited for; its answers stand."""
    out = run_case("sigchld_ignored", tree)
    assert out["aside"]["metrics"]["relocation_pid"] != out["pid"]
    assert not [a for a in out["aside"]["areas"] if a["headline"].startswith("Check failed")]


def test_the_areas_before_the_handover_share_one_look_at_the_process_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """They run back to back, so one read of /proc serves them all; the locks area,
    which waits for the scan, looks afresh. (The child's body, run in this process.)"""
    from omero_tui.core.health import aside
    from omero_tui.core.health.guard import check_failed
    from omero_tui.core.server import proc_look
    from omero_tui.core.usage.worker import read_frame, write_frame

    listed: list[str] = []
    real_list = proc_look._list_pids

    def list_pids(proc: str) -> list[int]:
        listed.append(current[0])
        return real_list(proc)

    current = [""]

    def area(name: str):  # noqa: ANN202
        def check():  # noqa: ANN202
            current[0] = name
            proc_look.proc_pids()
            proc_look.proc_pids()
            return check_failed(name, "not a real check")

        return check

    monkeypatch.setattr(proc_look, "_list_pids", list_pids)
    to_child, handover = os.pipe()
    results, from_child = os.pipe()
    write_frame(handover, None)
    first, last = ["layout", "permissions", "server"], ["locks"]
    make = lambda tell, handed: {name: area(name) for name in first + last}  # noqa: E731
    assert aside._child(first, last, make, to_child, from_child, False) == 0
    os.close(from_child)
    answered = [read_frame(results)[1] for _ in first + last]
    assert answered == first + last
    assert listed == ["layout", "locks"]
    for fd in (to_child, handover, results):
        os.close(fd)
