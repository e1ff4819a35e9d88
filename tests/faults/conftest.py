"""Fixtures of the fault suite, and the record every test leaves for ``summary.py``.

Each test module names its ``SAFETY_CATEGORY``; each test's docstring says what was
tried. After every test one JSON file lands in ``tests/faults/results/scenarios/``
(or ``$OMERO_TUI_FAULTS_RESULTS``): the README's Safety table is printed from those
and from the kill harness's own figures, never typed by hand.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from omero_tui.core.demo.session import DemoSession
from tests.faults.repo_gen import generate
from tests.faults.scene import Scene

HERE = Path(__file__).parent


def results_dir() -> Path:
    return Path(os.environ.get("OMERO_TUI_FAULTS_RESULTS") or HERE / "results")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked slow here run only when asked for (``-m slow``)."""
    if config.getoption("markexpr", ""):
        return
    skip = pytest.mark.skip(reason="slow: run them with -m slow")
    for item in items:
        if "slow" in item.keywords and HERE in Path(str(item.path)).parents:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if HERE not in Path(str(item.path)).parents:
        return
    if report.skipped and _reason(report).startswith("slow:"):
        return  # not run this time: the record of the last run that did run it stays
    if report.when == "call" or (report.when == "setup" and not report.passed):
        module = getattr(item, "module", None)
        doc = (getattr(item, "function", None).__doc__ or "").strip()  # type: ignore[union-attr]
        record = {
            "test": item.nodeid,
            "category": getattr(module, "SAFETY_CATEGORY", module.__name__ if module else "?"),
            "tried": " ".join(doc.split("\n\n")[0].split()) or item.name,
            "params": getattr(getattr(item, "callspec", None), "id", ""),
            "outcome": report.outcome,
            "reason": _reason(report),
            "seconds": round(report.duration, 2),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        folder = results_dir() / "scenarios"
        folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", item.nodeid)[-180:]
        (folder / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")


def _reason(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    if report.failed:
        return str(report.longrepr).strip().splitlines()[-1][:300] if report.longrepr else ""
    return ""


@pytest.fixture
def faults_results() -> Path:
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _scene(tmp_path: Path, *, files: int, owners: bool) -> Iterator[Scene]:
    session = DemoSession(tmp_path / "demo", start_server=False)
    session.__enter__()
    scene = Scene(
        session,
        tmp_path,
        {
            **session.env,
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "OMERO_TUI_TESTONLY_START_SETTLE_S": "0.2",
        },
    )
    try:
        generate(session.sandbox.data_dir, seed=7, files=files, owners=owners)
        assert session.start(), session.start_error
        yield scene
    finally:
        scene.close()


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    """A demo sandbox (stand-in running) holding the hostile repository, 300 files."""
    yield from _scene(tmp_path, files=300, owners=True)


@pytest.fixture
def own_scene(tmp_path: Path) -> Iterator[Scene]:
    """The same with every file owned by root: readable by a root without DAC override."""
    yield from _scene(tmp_path, files=300, owners=False)
