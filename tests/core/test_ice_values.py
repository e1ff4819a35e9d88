"""Ice's property-value rules, as the server will see config.xml values."""

from __future__ import annotations

import pytest

from omero_tui.core.config.ice_values import resolve, unescape


@pytest.mark.parametrize(
    ("stored", "seen"),
    [
        ("D:\\\\OMERO", "D:\\OMERO"),  # the documented, escaped form
        ("D:\\OMERO", "D:\\OMERO"),  # \O is no escape: Ice keeps the backslash
        ("/OMERO", "/OMERO"),
        ("/data/run\\#1", "/data/run#1"),
        ("/data/run#1", "/data/run"),  # an unescaped # starts a comment
        ("a\\=b", "a=b"),
        ("  /OMERO  ", "/OMERO"),
        ("\\ /OMERO", " /OMERO"),
        ("\\\\\\\\host\\\\share", "\\\\host\\share"),
    ],
)
def test_unescape_follows_ices_parser(stored: str, seen: str) -> None:
    assert unescape(stored) == seen


def test_resolve_expands_known_references_and_keeps_unknown() -> None:
    props = {"omero.data.dir": "/OMERO", "x": "${omero.data.dir}/x"}
    assert resolve("${x}/y", props) == "/OMERO/x/y"
    assert resolve("${nope}/y", props) == "${nope}/y"
    assert resolve("${a}", {"a": "${a}"}) == "${a}"  # a loop ends, it does not hang
