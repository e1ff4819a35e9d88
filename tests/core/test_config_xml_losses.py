"""What a rewrite of config.xml drops (comments, stray text, attributes OMERO rebuilds),
named before it happens; and that it is exactly what the writer drops, the backup
keeping it."""

from __future__ import annotations

from pathlib import Path

import pytest

from omero_tui.core.config.xml_file import ConfigFormatError, parse_config, write_config
from omero_tui.core.config.xml_losses import losses_note, save_losses

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "config-samples"
ADMIN_EDITED = (
    b'<icegrid owner="ops"><!--\n\n\tThis file was generated at Mon Nov 23 19:06:34 2026 by'
    b" the OmeroConfig system.\n\n--><!-- moved from /mnt/nfs-old, see ticket 4711 -->"
    b'<properties id="__ACTIVE__" note="x"><property name="omero.config.profile" '
    b'value="default" /><property name="omero.config.version" value="5.1.0" />'
    b'<property name="omero.data.dir" value="/OMERO" /></properties>'
    b'<properties id="default"><!-- keep in sync with ansible -->'
    b'<property name="omero.config.version" value="5.1.0" />'
    b'<property name="omero.data.dir" value="/OMERO" /></properties>'
    b'<include file="templates.xml" /></icegrid>'
)


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.xml")), ids=lambda p: p.name)
def test_files_written_by_omero_lose_nothing(sample: Path) -> None:
    assert save_losses(sample.read_bytes()) == []
    assert losses_note(sample.read_bytes()) is None


def test_comments_and_rebuilt_attributes_are_named() -> None:
    assert save_losses(ADMIN_EDITED) == [
        "2 XML comments (<!-- moved from /mnt/nfs-old, see ticket 4711 -->)",
        'unknown attribute owner="ops" on <icegrid> and 1 more',
    ]
    only_comment = ADMIN_EDITED.replace(b' owner="ops"', b"").replace(b' note="x"', b"")
    assert losses_note(only_comment) == (
        "config.xml holds 2 XML comments (<!-- moved from /mnt/nfs-old, see ticket 4711 -->), "
        "which OMERO's own writer drops too: these comments will be dropped when config.xml "
        "is rewritten; the backup keeps them"
    )


def test_what_is_named_is_exactly_what_a_rewrite_drops(tmp_path: Path) -> None:
    config = tmp_path / "config.xml"
    config.write_bytes(ADMIN_EDITED)
    result = write_config(config, {"omero.data.dir": "/data/OMERO"}, env={})
    written = config.read_bytes()
    assert b"ticket 4711" not in written and b"ansible" not in written
    assert b"owner=" not in written and b"note=" not in written
    assert save_losses(written) == []  # nothing further to lose
    assert result.backup is not None and result.backup.read_bytes() == ADMIN_EDITED


def test_an_attribute_omero_would_keep_is_refused_not_dropped() -> None:
    # OMERO writes a profile's own block back as read, unknown attributes included:
    # our writer could not, so it refuses the file instead of losing them.
    kept_by_omero = ADMIN_EDITED.replace(
        b'<properties id="default">', b'<properties id="default" x="1">'
    )
    with pytest.raises(
        ConfigFormatError, match="profile 'default' has an unexpected attribute 'x'"
    ):
        parse_config(kept_by_omero)
