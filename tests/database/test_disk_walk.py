"""The disk walk yields byte order, the order ``COLLATE "C"`` sorts the rows in."""

from __future__ import annotations

import os

from omero_tui.core.database.disk_walk import walk_sorted


def test_walk_is_in_byte_order_with_tricky_names(tmp_path) -> None:
    root = os.fsencode(tmp_path)
    files = [b"a.b", b"a-b", b"a/x", b"a/x.y", b"ab/c", b"B", b"\xe9t\xe9", b"a b/c", b"0"]
    for name in files:
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(b"x")
    keys = [e.key for e in walk_sorted(root)]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    assert keys.index(b"a.b") < keys.index(b"a/") < keys.index(b"a/x") < keys.index(b"ab/")
    assert {k for k in keys if not k.endswith(b"/")} == set(files)
