"""``omero-tui relocate`` says, in its plan, that an admin's comments in config.xml will be
dropped by the rewrite (as OMERO's own writer drops them), and the backup keeps them."""

from __future__ import annotations

import json
from pathlib import Path

from omero_tui.core.demo.sandbox import DemoSandbox
from tests.cli.test_relocate_cli import env_for
from tests.core.relocation.helpers import cli

COMMENT = b"<!-- data moved from /mnt/nfs-old in 2019, see ticket 4711 -->"
NOTE = (
    "config.xml holds an XML comment (<!-- data moved from /mnt/nfs-old in 2019, see "
    "ticket 4711 -->), which OMERO's own writer drops too: these comments will be dropped "
    "when config.xml is rewritten; the backup keeps them"
)


def with_admin_comment(box: DemoSandbox) -> bytes:
    data = box.config_path.read_bytes()
    edited = data.replace(
        b'<properties id="__ACTIVE__">', COMMENT + b'<properties id="__ACTIVE__">'
    )
    assert edited != data
    box.config_path.write_bytes(edited)
    return edited


def test_the_plan_says_the_comments_go_and_the_backup_keeps_them(
    demo_sandbox: DemoSandbox, tmp_path: Path
) -> None:
    env = env_for(demo_sandbox, tmp_path)
    edited = with_admin_comment(demo_sandbox)
    target = demo_sandbox.second_volume / "OMERO"

    dry = cli("relocate", "--to", str(target), "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert f"  note    {NOTE}" in dry.stdout.splitlines()
    as_json = cli("relocate", "--to", str(target), "--dry-run", "--json", env=env)
    plan = next(e for e in map(json.loads, as_json.stdout.splitlines()) if e["event"] == "plan")
    assert NOTE in plan["notes"]
    assert demo_sandbox.config_path.read_bytes() == edited  # a dry run changes nothing

    done = cli("relocate", "--to", str(target), "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert COMMENT not in demo_sandbox.config_path.read_bytes()
    backups = sorted(demo_sandbox.config_path.parent.glob("config.xml.bak-*"))
    assert [b.read_bytes() for b in backups] == [edited]
