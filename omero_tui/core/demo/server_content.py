"""The demo's OMERO.server dir: config.xml, grid templates, logs and the stand-in ``bin/omero``.

Also the demo-only state the stand-in server keeps in its ``var/`` next to OMERO's own,
and OMERO's log line format, which the stand-in server writes in too.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import omero_tui
from omero_tui.core.database.cluster import DEMO_STOCK_HOST
from omero_tui.core.demo.tree_writer import INSTALLED, LAST_START, TreeWriter

if TYPE_CHECKING:
    from omero_tui.core.demo.model import DemoSandbox

# Demo-only state of the stand-in server, in its var/ next to OMERO's own.
DB_UUID_FILE = "var/demo-db-uuid"  # the "database" the stand-in pretends to serve
LAST_DATA_DIR_FILE = "var/demo-last-data-dir"  # for the "Data directory moved" line
FAULTS_FILE = "var/demo-faults.json"


def log_line(
    when: datetime, level: str, logger: str, thread: str, message: str, *, python: bool = False
) -> str:
    """One line as OMERO's Java (logback) or Python servers format it."""
    stamp = when.strftime("%Y-%m-%d %H:%M:%S,") + f"{when.microsecond // 1000:03d}"
    where = f"({thread[:10]:<10})" if python else f"({thread[-10:]:>10})"
    return f"{stamp} {level:<5.5} [{logger[-40:]:>40}] {where} {message}\n"


def write_server(tree: TreeWriter, box: DemoSandbox, db_uuid: str) -> None:
    # Imported here: the stand-in `omero` imports this module for its constants and must
    # start fast for `admin status`, which a console polls.
    from omero_tui.core.config.xml_file import write_config

    grid = box.config_path.parent
    grid.mkdir(parents=True)
    # Through the product's own writer, exactly as OMERO would write it.
    write_config(
        box.config_path,
        {
            "omero.data.dir": str(box.data_dir),
            "omero.db.name": "omero",
            "omero.db.user": "omero",
            "omero.db.host": DEMO_STOCK_HOST,  # until the demo's own cluster runs
        },
        env={},
    )
    tree.touch(box.config_path, INSTALLED)
    for name in ("templates.xml", "default.xml"):
        tree.text(
            grid / name,
            f"<icegrid><!-- omero-tui demo: placeholder for {name} --></icegrid>\n",
            INSTALLED,
        )
    tree.text(
        box.server_dir / "lib" / "README.txt",
        "omero-tui demo sandbox: a real OMERO.server keeps its jars and Python code here.\n",
        INSTALLED,
    )
    var = box.server_dir / "var"
    for name, text in _server_logs().items():
        tree.text(var / "log" / name, text, LAST_START + timedelta(seconds=20))
    (var / "master").mkdir(parents=True)
    tree.text(box.server_dir / DB_UUID_FILE, db_uuid + "\n", INSTALLED)
    tree.text(box.server_dir / LAST_DATA_DIR_FILE, f"{box.data_dir}\n", LAST_START)
    tree.text(box.omero_bin, _launcher(), INSTALLED)
    box.omero_bin.chmod(0o755)


def _server_logs() -> dict[str, str]:
    """A healthy last start (2026-11-20), in each server's own log format."""
    t = LAST_START
    blitz = [
        ("ome.services.util.ServerVersionCheck", "OMERO version: 5.6.14-ice36 (omero-tui demo)"),
        ("ome.services.util.DBPatchCheck", "Current DB patch: OMERO5.4__0"),
        ("ome.services.blitz.repo.LegacyRepositoryI", "Repository registered: ManagedRepository"),
        ("ome.services.blitz.Entry", "OMERO.blitz now accepting connections."),
    ]
    java = {
        "Blitz-0.log": blitz,
        "Indexer-0.log": [
            ("ome.services.fulltext.FullTextIndexer", "Indexed 42 objects in 1 batch(es)")
        ],
        "PixelData-0.log": [
            ("ome.services.pixeldata.PixelDataThread", "Waiting for pixel data events")
        ],
    }
    python = {
        "Tables-0.log": [("omero.tables.TablesI", "Started Tables-0")],
        "Processor-0.log": [("omero.processor.ProcessorI", "Started Processor-0")],
    }
    logs = {
        name: "".join(
            log_line(t + timedelta(seconds=2 * i), "INFO", logger, "main", text)
            for i, (logger, text) in enumerate(lines)
        )
        for name, lines in java.items()
    }
    logs.update(
        {
            name: "".join(
                log_line(t + timedelta(seconds=9), "INFO", logger, "MainThread", text, python=True)
                for logger, text in lines
            )
            for name, lines in python.items()
        }
    )
    logs["master.out"] = "IceGrid node master: started (omero-tui demo stand-in)\n"
    return logs


def _launcher() -> str:
    python = sys.executable
    if len(python) < 120 and not any(c.isspace() for c in python):
        head = f"#!{python}\n"
    else:  # the kernel takes only a short shebang without spaces: let sh exec the interpreter
        head = f"#!/bin/sh\n'''exec' \"{python}\" \"$0\" \"$@\"\n' '''\n"
    source_root = str(Path(omero_tui.__file__).resolve().parent.parent)
    return head + _LAUNCHER_BODY.replace("SOURCE_ROOT", repr(source_root))


_LAUNCHER_BODY = '''\
"""omero-tui demo sandbox: a stand-in for OMERO's `omero` command. This is not OMERO."""
import os
import sys

try:
    from omero_tui.core.demo.standin_omero import main
except ImportError:  # an interpreter that sees omero-tui only from its source tree
    sys.path.insert(0, SOURCE_ROOT)
    from omero_tui.core.demo.standin_omero import main

# abspath, not realpath: the server dir keeps the spelling the console knows it by.
SERVER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.exit(main(server_dir=SERVER_DIR, argv=sys.argv[1:]))
'''
