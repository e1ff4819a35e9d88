"""SIGKILL the real ``omero-tui relocate`` anywhere, resume or roll back, lose nothing.

The default run does a handful of trials on a fixed seed; ``pytest -m slow tests/faults``
runs a measured reference relocation and then at least 50 trials on a fresh seed.
Both print each trial's seed and write their figures to
``tests/faults/results/kill-anywhere-<run>.json`` (read by ``summary.py``).

Replay one trial: ``OMERO_TUI_FAULTS_SEED=<master seed> OMERO_TUI_FAULTS_ONLY=<n>``
with the same run (``-m slow`` or not); ``OMERO_TUI_FAULTS_TRIALS`` sets N.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.faults.kill_harness import Kill, Trial, plan_trial, run_trial, summary

SAFETY_CATEGORY = "Kill anywhere"
DEFAULT_TRIALS, SLOW_TRIALS = 3, 50
DEFAULT_FILES, SLOW_FILES = 2000, 3000
DEFAULT_SEED = 20261202


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip().isdigit() else default


def _campaign(
    run: str, trials: int, files: int, seed: int, tmp: Path, results: Path, *, reference: bool
) -> None:
    only = {int(n) for n in os.environ.get("OMERO_TUI_FAULTS_ONLY", "").split(",") if n.strip()}
    began = time.monotonic()
    print(f"\nkill-anywhere {run}: {trials} trials, {files} files, master seed {seed}")
    done: list[Trial] = []
    measured: dict[str, dict[str, float]] = {}
    if reference and not only:
        ref = Trial(0, seed * 1000, Kill("none", "reference", 0), "none")
        run_trial(ref, tmp / "ref", files)
        print(f"reference run: {ref.seconds} s, per step {ref.counts}", flush=True)
        assert not ref.problems, ref.problems
        counts, seconds = ref.counts.get("counts", {}), ref.counts.get("seconds", {})
        measured = {
            "counts": {**counts, "start-of-run": sum(counts.values())},
            "seconds": {**seconds, "start-of-run": sum(seconds.values())},
        }
        done.append(ref)
    for number in range(1, trials + 1):
        if only and number not in only:
            continue
        trial = plan_trial(number, seed, files, measured)
        print(trial.describe(), flush=True)
        where = tmp / f"trial-{number:03d}"
        run_trial(trial, where, files)
        kills = [k for k in (trial.first, trial.second) if k is not None and k.happened]
        landed = ", ".join(k.landed for k in kills) or "no kill (it ended first)"
        verdict = "OK" if not trial.problems else "FAILED: " + "; ".join(trial.problems)
        print(f"  killed in {landed}; ended {trial.final}; {trial.seconds} s; {verdict}")
        done.append(trial)
        if not trial.problems:
            shutil.rmtree(where, ignore_errors=True)  # keep only what failed, to look at
    figures = summary(
        done,
        run=run,
        master_seed=seed,
        files=files,
        reference=measured,
        wall_seconds=round(time.monotonic() - began, 1),
        finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        replay=f"OMERO_TUI_FAULTS_SEED={seed} OMERO_TUI_FAULTS_ONLY=<n>",
        partial=bool(only),
    )
    (results / f"kill-anywhere-{run}.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(
        f"kill-anywhere {run}: {figures['kills']} kills {figures['kills_per_phase']}, "
        f"{figures['failures']} failures, {figures['wall_seconds']} s"
    )
    assert figures["failures"] == 0, json.dumps(figures["failed_trials"], indent=1)
    assert figures["first_kills"] >= max(1, (len(done) - reference) * 2 // 3), figures


def test_kill_anywhere_then_resume_or_roll_back(tmp_path: Path, faults_results: Path) -> None:
    """SIGKILL `relocate --to` a few times (stop, copy, config...), then --resume or
    --rollback: the source untouched, the copy identical, config.xml old or new."""
    _campaign(
        "default",
        _env_int("OMERO_TUI_FAULTS_TRIALS", DEFAULT_TRIALS),
        DEFAULT_FILES,
        _env_int("OMERO_TUI_FAULTS_SEED", DEFAULT_SEED),
        tmp_path,
        faults_results,
        reference=False,
    )


@pytest.mark.slow
def test_kill_anywhere_many_times(tmp_path: Path, faults_results: Path) -> None:
    """SIGKILL `relocate --to` at 50+ seeded instants over every phase (and again during
    some recoveries), then --resume or --rollback: nothing lost in any trial."""
    _campaign(
        "slow",
        max(50, _env_int("OMERO_TUI_FAULTS_TRIALS", SLOW_TRIALS)),
        SLOW_FILES,
        _env_int("OMERO_TUI_FAULTS_SEED", int(time.time()) % 1_000_000),
        tmp_path,
        faults_results,
        reference=True,
    )
