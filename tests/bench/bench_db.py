"""Benchmark of ``omero-tui db`` on 1M rows and 1M files (not a test: run it by hand).

    .venv/bin/python -m tests.bench.bench_db            # 1,000,000 rows and files
    .venv/bin/python -m tests.bench.bench_db --files 100000 --rounds 1   # a quick look

Builds (once, kept in /tmp/omero-tui-bench-db) a managed repository of N empty files
in OMERO's layout (user/month/day/fileset/file) and a throw-away PostgreSQL cluster
with one originalfile row per file (minus 100 orphans, plus 100 rows whose files are
gone). Then, in turns on the same warm tree: ``du -s``, ``omero-tui usage --json`` and
``omero-tui db --json``, each a whole command from start to exit; medians, ratios and
the db command's peak RSS (its own process; the PostgreSQL server is not counted) are
printed. The cluster is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
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


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall time, exit code and peak RSS (KiB) of one whole command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, os.waitstatus_to_exitcode(status), usage.ru_maxrss


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
        times: dict[str, list[float]] = {k: [] for k in commands}
        rss: list[int] = []
        code = None
        for _ in range(args.rounds):
            for name, cmd in commands.items():
                seconds, code_, peak = timed(cmd, env)
                times[name].append(seconds)
                if name == "omero-tui db":
                    rss.append(peak)
                    code = code_
        med = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"load average {os.getloadavg()[0]:.2f}, {args.files:,} rows and files, "
            f"{args.rounds} rounds (medians)"
        )
        for name, value in med.items():
            print(f"  {name:<16} {value:7.2f} s")
        print(f"  db / du -s        {med['omero-tui db'] / med['du -s']:.2f}x")
        print(f"  db / usage        {med['omero-tui db'] / med['omero-tui usage']:.2f}x")
        print(f"  db peak RSS       {max(rss) / 1024:.0f} MiB (exit code {code})")
    finally:
        cluster.remove()


if __name__ == "__main__":
    main()
