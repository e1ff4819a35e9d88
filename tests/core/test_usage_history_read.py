"""read_history parses only the newest lines, yet answers as parsing every line would.

Every usage and check run reads the history and a cron check adds a line each time, so
the file holds thousands of lines. The reference below is the whole-file parse the
reader replaced; any history, however odd its lines, must give the same points.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from omero_tui.core.usage import history
from omero_tui.core.usage.history import (
    HISTORY_FILE,
    SPARSE_SECONDS,
    HistoryPoint,
    _point,
    read_history,
    thinned,
)

REPO = "/srv/OMERO"


def reference(state: Path, data_dir: str, limit: int = 1000) -> list[HistoryPoint]:
    """Parse every line, keep this repository's good ones, sort by time; then the newest
    ``limit // 2`` and the newest of each SPARSE_SECONDS before them, oldest first."""
    repository = os.path.abspath(data_dir)
    points = []
    with open(state / HISTORY_FILE, encoding="utf-8", errors="replace") as handle:
        for text in handle:  # the line's own parse is _point's: the choice of lines is tested
            point = _point(text, repository)
            if point is not None:
                points.append(point)
    points.sort(key=lambda p: p.at)
    chosen: list[HistoryPoint] = []
    for point in reversed(points):
        sparse = len(chosen) >= limit // 2
        if sparse and any(
            p.at // SPARSE_SECONDS == point.at // SPARSE_SECONDS for p in chosen[limit // 2 :]
        ):
            continue
        chosen.append(point)
    return chosen[:limit][::-1]


def line(repository: str, at: float, size: int, **style: object) -> str:
    record = {
        "repository": repository,
        "at": at,
        "quick": size % 2 == 0,
        "allocated_bytes": size,
        "apparent_bytes": size + 1,
        "files": size // 10,
        "units": {"Pixels": size // 2},
        "volumes": {"/": [size, 10 * size]},
    }
    return json.dumps(record, **style)  # type: ignore[arg-type]


def odd_history(rng: random.Random) -> list[str]:
    """Append_history's lines of two repositories, out of order in time, with every kind
    of line another writer, a crash or a hand could leave."""
    lines = []
    for i in range(400):
        repository = rng.choice([REPO, "/srv/other", "/srv/OMERO2", "/srv/OMER"])
        at = 1.7e9 + rng.choice([i * 60, i * 60 - 3000, 1.7e9 + 5])  # clock steps, ties
        lines.append(line(repository, at, i, separators=(",", ":")))
    canonical = line(REPO, 1.7e9 + 99, 7, separators=(",", ":"))
    lines += [
        canonical[: len(canonical) // 2],  # torn by a crash
        canonical[:40],  # torn inside "at"
        line(REPO, 1.7e9 + 11, 3),  # json.dumps's default separators
        json.dumps({"at": 1.7e9 + 12, "repository": REPO, "allocated_bytes": 4}),  # key order
        json.dumps({"repository": REPO, "files": 1, "at": 1.7e9 + 17, "allocated_bytes": 2}),
        '{"repository":"/srv/OMERO","files":1,"at":1700000018,"allocated_bytes":2}',
        canonical.replace("/", "\\/"),  # the same name, escaped another way
        json.dumps({"repository": REPO, "at": "1.7e9", "allocated_bytes": 5}),  # at as text
        json.dumps({"repository": REPO, "at": 1.7e9 + 13}),  # no allocated_bytes
        json.dumps(
            {"repository": REPO, "at": 1.7e9 + 14, "allocated_bytes": 6, "volumes": {"/": [1]}}
        ),
        '{"repository":"/srv/OMERO","at":1e309,"allocated_bytes":8}',  # inf
        '{"repository":"/srv/OMERO","at":17,"allocated_bytes":8',  # no closing brace
        "[1, 2, 3]",
        "",
        "not json at all",
        line("/srv/ÖMERO", 1.7e9 + 15, 9, separators=(",", ":")),
        line("/srv/ÖMERO", 1.7e9 + 16, 9, separators=(",", ":"), ensure_ascii=False),
    ]
    rng.shuffle(lines)
    return lines


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("limit", [1, 5, 120, 1000])
@pytest.mark.parametrize("data_dir", [REPO, "/srv/ÖMERO", "/srv/other", "/srv/none"])
def test_the_same_points_as_parsing_every_line(
    tmp_path: Path, seed: int, limit: int, data_dir: str
) -> None:
    (tmp_path / HISTORY_FILE).write_text("\n".join(odd_history(random.Random(seed))) + "\n")
    assert read_history(tmp_path, data_dir, limit) == reference(tmp_path, data_dir, limit)


def test_a_long_history_is_read_without_parsing_every_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20,000 lines a minute apart: only the points chosen are parsed whole (counted,
    not timed: a timing would flake on a loaded machine)."""
    lines = [line(REPO, 1.7e9 + 60 * i, i, separators=(",", ":")) for i in range(20_000)]
    (tmp_path / HISTORY_FILE).write_text("\n".join(lines) + "\n")
    parsed: list[str] = []
    loads = json.loads

    def counted(text: str) -> object:
        parsed.append(text)
        return loads(text)

    monkeypatch.setattr(history.json, "loads", counted)
    points = read_history(tmp_path, REPO)
    monkeypatch.undo()
    assert points == reference(tmp_path, REPO)
    assert len(points) == 500 + (20_000 - 500) * 60 // SPARSE_SECONDS + 1  # all 14 days
    assert [t for t in parsed if t] == [
        line(REPO, p.at, round((p.at - 1.7e9) / 60), separators=(",", ":"))
        for p in reversed(points)
    ]  # each chosen line once, and no other


def cron_lines(days: int, every: int = 300) -> list[str]:
    """A check every ``every`` seconds for ``days``, REPO's and another repository's."""
    lines = []
    for i in range(days * 86400 // every):
        repository = REPO if i % 5 else "/srv/other"
        lines.append(line(repository, 1.7e9 + every * i, i, separators=(",", ":")))
    return lines


def test_a_five_minute_cron_keeps_ninety_days_for_the_growth_rate(tmp_path: Path) -> None:
    (tmp_path / HISTORY_FILE).write_text("\n".join(cron_lines(100)) + "\n")
    points = read_history(tmp_path, REPO)
    assert len(points) <= 1000
    assert (points[-1].at - points[0].at) / 86400 > 90  # the headroom's window, covered
    assert points == reference(tmp_path, REPO)


def test_trimming_thins_and_reads_back_the_same_points(tmp_path: Path) -> None:
    lines = [f"{text}\n".encode() for text in cron_lines(100)]
    lines.insert(7, b'{"repository":"/srv/OMERO","at":1700000100.0,"quick":tr\n')  # torn
    kept = thinned(lines)
    assert b'quick":tr\n' not in b"".join(kept)
    assert len(kept) < len(lines) // 10  # 28,800 lines become about 2,700
    for repository in (REPO, "/srv/other"):
        ours = [json.loads(t) for t in kept if json.loads(t)["repository"] == repository]
        assert [t["at"] for t in ours] == sorted(t["at"] for t in ours)  # their order kept
        assert len(ours) <= 1000 + 100 * 86400 // SPARSE_SECONDS + 1
        (tmp_path / HISTORY_FILE).write_bytes(b"".join(lines))
        before = read_history(tmp_path, repository)
        (tmp_path / HISTORY_FILE).write_bytes(b"".join(kept))
        assert read_history(tmp_path, repository) == before
