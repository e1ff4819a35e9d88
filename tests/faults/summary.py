"""Print what the fault suite tried and what came of it, from the last run's results.

``.venv/bin/python -m tests.faults.summary [RESULTS_DIR]`` reads the JSON files the
suite writes (``tests/faults/results/``: one per test, and the kill harness's figures)
and prints Markdown for the README's "Safety" section. Nothing here is typed by hand:
a test that did not run is not listed, a failure is shown as one. Exit status 1 when
any recorded result is a failure, 2 when there are no results at all.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from tests.faults.conftest import results_dir

ORDER = ("Kill anywhere", "Full disk", "Permission surprises", "Access and target limits",
         "Server", "Configuration", "Hostile input")  # fmt: skip
RUNS = (("default", "`pytest tests/faults` (default run)"),
        ("slow", "`pytest -m slow tests/faults` (slow run)"))  # fmt: skip


def _load(folder: Path) -> tuple[list[dict], dict[str, dict]]:
    scenarios = []
    for path in sorted((folder / "scenarios").glob("*.json")):
        try:
            scenarios.append(json.loads(path.read_text()))
        except ValueError:
            continue
    kills = {}
    for run, _ in RUNS:
        path = folder / f"kill-anywhere-{run}.json"
        if path.exists():
            kills[run] = json.loads(path.read_text())
    return scenarios, kills


def _rows(scenarios: list[dict]) -> list[tuple[str, str, str, str]]:
    """(category, what was tried, cases, result): parametrized tests on one row."""
    grouped: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in scenarios:
        function = record["test"].split("[")[0]
        grouped[(record["category"], function)].append(record)
    rows = []
    for (category, _), records in grouped.items():
        passed = sum(1 for r in records if r["outcome"] == "passed")
        failed = [r for r in records if r["outcome"] == "failed"]
        skipped = [r for r in records if r["outcome"] == "skipped"]
        if failed:
            result = f"**FAILED** {len(failed)} of {len(records)}"
        elif skipped and not passed:
            result = f"skipped: {skipped[0]['reason']}"
        else:
            result = f"passed {passed} of {len(records)}"
        cases = str(len(records)) if len(records) > 1 else "1"
        rows.append((category, records[0]["tried"], cases, result))
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(rows, key=lambda r: (rank.get(r[0], len(ORDER)), r[1]))


def _phases(counts: dict[str, int]) -> str:
    return ", ".join(f"{phase} {n}" for phase, n in counts.items()) or "none"


def _trials(figures: dict) -> str:
    reference = sum(1 for t in figures.get("detail", []) if t["first"]["how"] == "none")
    killed = figures["trials"] - reference
    return f"{killed} + 1 unkilled reference run" if reference else str(killed)


def render(folder: Path) -> tuple[str, int]:
    scenarios, kills = _load(folder)
    if not scenarios and not kills:
        return f"no results in {folder}: run `pytest tests/faults` first\n", 2
    out = ["| Area | What was tried | Cases | Result |", "|---|---|---|---|"]
    for category, tried, cases, result in _rows(scenarios):
        out.append(f"| {category} | {tried} | {cases} | {result} |")
    hostile = [r for r in scenarios if r["category"] == "Hostile input" and r["params"]]
    if hostile:
        ids = ", ".join(f"`{r['params']}`" for r in sorted(hostile, key=lambda r: r["test"]))
        out += ["", f"Hostile target inputs ({len(hostile)}): {ids}."]
    failures = sum(1 for r in scenarios if r["outcome"] == "failed")
    for run, title in RUNS:
        figures = kills.get(run)
        if not figures:
            continue
        failures += int(figures["failures"])
        out += [
            "",
            f"Kill anywhere, {title}, finished {figures['finished']}:",
            "",
            "| Figure | Value |",
            "|---|---|",
            f"| trials | {_trials(figures)} ({figures['files']}-file hostile repository each) |",
            f"| SIGKILLs | {figures['kills']} ({figures['first_kills']} during the relocation, "
            f"{figures['second_kills']} during the resume or rollback that followed) |",
            f"| kills per phase | {_phases(figures['kills_per_phase'])} |",
            f"| second kills per phase | {_phases(figures['second_kills_per_phase'])} |",
            f"| how the instant was chosen | {figures['kills_by_method']['event']} at a "
            f"file-system operation, {figures['kills_by_method']['timer']} by a timer |",
            f"| endings | {_phases(figures['endings'])} |",
            f"| failures (anything lost, changed, half-written or left behind) | "
            f"**{figures['failures']}** |",
            f"| wall time | {figures['wall_seconds']} s |",
            f"| master seed | {figures['master_seed']} (replay: `{figures['replay']}`) |",
        ]
        if figures.get("partial"):
            out.append("| note | a partial replay, not a full run |")
    return "\n".join(out) + "\n", 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text, status = render(Path(args[0]) if args else results_dir())
    sys.stdout.write(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
