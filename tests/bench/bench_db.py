"""Benchmark of ``omero-tui db`` on 1M rows and 1M files (not a test: run it by hand).

    .venv/bin/python -m tests.bench.bench_db            # 1,000,000 rows and files
    .venv/bin/python -m tests.bench.bench_db --files 100000 --rounds 1   # a quick look

Builds (once, kept in /tmp/omero-tui-bench-db) a managed repository of N empty files
in OMERO's layout (user/month/day/fileset/file) and a throw-away PostgreSQL cluster
with one originalfile row per file (minus 100 orphans, plus 100 rows whose files are
gone). Then, in turns on the same warm tree: ``du -s``, ``omero-tui usage --json`` and
``omero-tui db --json``, each a whole command from start to exit; medians of wall and
CPU time (user + sys of the command and its walk workers), the median of each round's
db / du ratio, and the db command's peak RSS (the sum over its process tree; the
PostgreSQL server is not counted) are printed. The cluster is stopped at the end. On a
shared machine the CPU ratio is the steadier figure; the wall ratio wants a quiet one.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from omero_tui.core.database.cluster import LocalCluster
from omero_tui.core.database.connection import connect_kwargs
from omero_tui.core.database.omero_schema import SCHEMA_SQL
from omero_tui.core.layout.identity import encode_repo_uuid

BASE = Path("/tmp/omero-tui-bench-db")
DB_UUID = "00000000-0000-4000-8000-00000000db00"
REPO_UUID = "00000000-0000-4000-8000-0000000000aa"
FILES_PER_SET = 10
SETS_PER_DAY = 100
MISSING = ORPHANS = 100


def layout(n: int):
    """(parent, name) of file i, deterministic: 10 users, days, filesets of 10 files."""
    for i in range(n):
        fs, k = divmod(i, FILES_PER_SET)
        day, s = divmod(fs, SETS_PER_DAY)
        user = day % 10
        parent = f"user-{user}_{user + 2}/2026-{day // 28 % 12 + 1:02d}/{day % 28 + 1:02d}/"
        yield parent + f"{s // 60:02d}-{s % 60:02d}-00.{day:03d}/", f"image_{k:02d}.tif"


def build_tree(n: int) -> Path:
    data = BASE / f"tree-{n}" / "OMERO"
    managed = data / "ManagedRepository"
    done = data.parent / ".complete"
    if done.exists():
        return data
    for sub in ("Files", "Pixels", "Thumbnails"):
        (data / sub).mkdir(parents=True, exist_ok=True)
    ident = managed / ".omero" / "repository" / DB_UUID
    ident.mkdir(parents=True, exist_ok=True)
    (ident / "repo_uuid").write_bytes(encode_repo_uuid(REPO_UUID))
    made: set[str] = set()
    start = time.perf_counter()
    for i, (parent, name) in enumerate(layout(n + ORPHANS)):
        if i < MISSING and i % 2 == 0:
            continue  # half of the first rows' files are gone (below: rows for them)
        directory = managed / parent
        if parent not in made:
            directory.mkdir(parents=True, exist_ok=True)
            made.add(parent)
        (directory / name).touch()
    done.touch()
    print(f"tree: {n + ORPHANS:,} files in {time.perf_counter() - start:.0f} s", flush=True)
    return data


def fill(cluster: LocalCluster, n: int, data: Path) -> dict[str, str]:
    import psycopg

    cluster.admin_sql(
        "CREATE ROLE omero LOGIN PASSWORD 'bench'", "CREATE DATABASE omero OWNER omero"
    )
    settings = cluster.settings("omero", "omero", "bench")
    kwargs = connect_kwargs(settings)
    kwargs.pop("options")
    start = time.perf_counter()
    with psycopg.connect(**kwargs) as conn:
        conn.execute(SCHEMA_SQL)
        conn.execute("INSERT INTO configuration VALUES ('omero.db.uuid', %s)", [DB_UUID])
        conn.execute("INSERT INTO experimentergroup (id, name) VALUES (3, 'lab')")
        for u in range(10):
            conn.execute(
                "INSERT INTO experimenter (id, omename) VALUES (%s, %s)", [u + 2, f"user-{u}"]
            )
        conn.execute(
            "INSERT INTO originalfile (id, path, name, size, hash, mimetype, owner_id, group_id)"
            " VALUES (1, %s, 'ManagedRepository', 0, %s, 'Repository', 0, 3)",
            [str(data) + "/", REPO_UUID],
        )
        with (
            conn.cursor() as cur,
            cur.copy(
                'COPY originalfile (id, path, name, "size", repo, mimetype, owner_id, group_id)'
                " FROM STDIN"
            ) as copy,
        ):
            for i, (parent, name) in enumerate(layout(n)):
                # Rows for the first n files (the last ORPHANS files on disk have none).
                copy.write_row((i + 2, parent, name, 0, REPO_UUID, "image/tiff", i % 10 + 2, 3))
        conn.execute("ANALYZE originalfile")
    print(f"database: {n:,} rows in {time.perf_counter() - start:.0f} s", flush=True)
    return {
        "PGHOST": str(cluster.directory),
        "PGPORT": str(cluster.port),
        "PGDATABASE": "omero",
        "PGUSER": "omero",
        "PGPASSWORD": "bench",
    }


@dataclass
class Run:
    wall: float  # seconds, start to exit
    cpu: float  # user + sys seconds of the command and the processes it waited for
    code: int
    peak_rss: int  # bytes: the largest sum of RSS over the command's process tree


def timed(cmd: list[str], env: dict[str, str]) -> Run:
    """One whole command, its wall and CPU time, and the peak RSS of its process tree."""
    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while True:
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            tree = [psutil.Process(proc.pid)]
            tree += tree[0].children(recursive=True)
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, cpu, proc.returncode, peak)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = build_tree(args.files)
    cluster = LocalCluster.create()
    try:
        cluster.start()
        env = {**os.environ, **fill(cluster, args.files, data)}
        env["XDG_STATE_HOME"] = str(BASE / "state")
        env.pop("OMERODIR", None)
        commands = {
            "du -s": ["du", "-s", "-B1", "-x", str(data)],
            "omero-tui usage": [
                sys.executable,
                "-m",
                "omero_tui",
                "usage",
                "--json",
                "--data-dir",
                str(data),
            ],
            "omero-tui db": [
                sys.executable,
                "-m",
                "omero_tui",
                "db",
                "--json",
                "--data-dir",
                str(data),
            ],
        }
        for cmd in commands.values():  # warm the page cache and the database's buffers
            timed(cmd, env)
        runs: dict[str, list[Run]] = {k: [] for k in commands}
        for _ in range(args.rounds):
            for name, cmd in commands.items():
                runs[name].append(timed(cmd, env))
        db, du, usage = runs["omero-tui db"], runs["du -s"], runs["omero-tui usage"]

        def paired(a: list[Run], b: list[Run], what: str) -> float:
            # The median of each round's ratio: both commands met the same load.
            return statistics.median(
                getattr(x, what) / getattr(y, what) for x, y in zip(a, b, strict=True)
            )

        print(
            f"load average {os.getloadavg()[0]:.2f}, {args.files:,} rows and files, "
            f"{args.rounds} rounds (medians)"
        )
        for name, value in runs.items():
            wall = statistics.median(r.wall for r in value)
            cpu = statistics.median(r.cpu for r in value)
            print(f"  {name:<16} {wall:7.2f} s wall {cpu:7.2f} s CPU")
        wall, cpu = paired(db, du, "wall"), paired(db, du, "cpu")
        print(f"  db / du -s        {wall:.2f}x wall, {cpu:.2f}x CPU")
        print(f"  db / usage        {paired(db, usage, 'wall'):.2f}x wall")
        print(
            f"  db peak RSS       {max(r.peak_rss for r in db) / 2**20:.0f} MiB, its process"
            f" tree (exit code {db[-1].code}; the PostgreSQL server is not counted)"
        )
    finally:
        cluster.remove()


if __name__ == "__main__":
    main()
