"""Windows permissions from ``icacls`` listings (no Windows here: recorded samples).

The samples follow icacls' output layout exactly: path, one space, the first entry;
following entries indented under it; a blank line per file with /T; the summary line.
"""

from __future__ import annotations

import pytest

from omero_tui.core.perms.icacls import (
    EVERYONE,
    IcaclsFormatError,
    grant_command,
    parse_ace,
    parse_icacls,
    windows_access,
)

# `icacls C:\OMERO /T` on a repository the service account may only read.
READ_ONLY_TREE = r"""C:\OMERO NT AUTHORITY\SYSTEM:(OI)(CI)(F)
         BUILTIN\Administrators:(OI)(CI)(F)
         CREATOR OWNER:(OI)(CI)(IO)(F)
         BUILTIN\Users:(OI)(CI)(RX)

C:\OMERO\Pixels NT AUTHORITY\SYSTEM:(I)(OI)(CI)(F)
                BUILTIN\Administrators:(I)(OI)(CI)(F)
                CREATOR OWNER:(I)(OI)(CI)(IO)(F)
                BUILTIN\Users:(I)(OI)(CI)(RX)

C:\OMERO\Big Data NT AUTHORITY\SYSTEM:(OI)(CI)(F)
                  OMESERVER\omeservice:(OI)(CI)(M)

Successfully processed 3 files; Failed processing 0 files
"""

# After `icacls C:\OMERO /grant omeservice:(OI)(CI)M /T`, plus a deny on FullText.
GRANTED = r"""C:\OMERO OMESERVER\omeservice:(OI)(CI)(M)
         NT AUTHORITY\SYSTEM:(OI)(CI)(F)
         BUILTIN\Users:(OI)(CI)(RX)

C:\OMERO\FullText OMESERVER\omeservice:(OI)(CI)(DENY)(W)
                  OMESERVER\omeservice:(I)(OI)(CI)(M)
                  BUILTIN\Users:(I)(OI)(CI)(RX)

C:\OMERO\Files BUILTIN\Users:(CI)(AD)
               BUILTIN\Users:(CI)(WD)
               BUILTIN\Users:(OI)(CI)(RX)
C:\OMERO\Locked: Access is denied.

Successfully processed 3 files; Failed processing 1 files
"""

SERVICE = ("OMESERVER\\omeservice", *EVERYONE)


def rwx(access) -> str:  # noqa: ANN001
    return "".join(
        c if ok else "-"
        for c, ok in (("r", access.read), ("w", access.write), ("x", access.traverse))
    )


def test_read_only_tree_recorded_sample() -> None:
    blocks = parse_icacls(READ_ONLY_TREE)
    assert [b.path for b in blocks] == [r"C:\OMERO", r"C:\OMERO\Pixels", r"C:\OMERO\Big Data"]
    assert [a.principal for a in blocks[0].aces] == [
        r"NT AUTHORITY\SYSTEM",
        r"BUILTIN\Administrators",
        "CREATOR OWNER",
        r"BUILTIN\Users",
    ]
    assert blocks[1].aces[0].flags == {"I", "OI", "CI"}
    verdicts = {b.path: rwx(windows_access(b.aces, SERVICE)) for b in blocks}
    assert verdicts == {
        r"C:\OMERO": "r-x",
        r"C:\OMERO\Pixels": "r-x",
        r"C:\OMERO\Big Data": "rwx",
    }


def test_deny_before_an_inherited_grant_wins_recorded_sample() -> None:
    blocks = {b.path: b for b in parse_icacls(GRANTED)}
    assert r"C:\OMERO\Locked" not in blocks  # the error line is no block
    assert rwx(windows_access(blocks[r"C:\OMERO"].aces, SERVICE)) == "rwx"
    assert rwx(windows_access(blocks[r"C:\OMERO\FullText"].aces, SERVICE)) == "r-x"
    # Specific rights: Users may add files and folders, so anyone in Users may write.
    assert rwx(windows_access(blocks[r"C:\OMERO\Files"].aces, SERVICE)) == "rwx"


def test_inherit_only_entries_do_not_apply_to_the_folder_itself() -> None:
    ace = parse_ace("CREATOR OWNER:(OI)(CI)(IO)(F)")
    assert ace.inherit_only
    assert rwx(windows_access([ace], ["CREATOR OWNER"])) == "---"


def test_principals_match_with_or_without_the_domain_and_any_case() -> None:
    ace = parse_ace(r"OMESERVER\omeservice:(M)")
    assert rwx(windows_access([ace], ["omeservice"])) == "rwx"
    assert rwx(windows_access([ace], [r"omeserver\OMESERVICE"])) == "rwx"
    assert rwx(windows_access([ace], [r"OTHERHOST\omeservice"])) == "---"


def test_a_single_entry_block_with_spaces_in_the_path_needs_the_known_path() -> None:
    text = r"C:\OMERO data\repo OMESERVER\omeservice:(OI)(CI)(F)" + "\n"
    assert parse_icacls(text, known_paths=[r"C:\OMERO data\repo"])[0].path == (
        r"C:\OMERO data\repo"
    )


def test_generic_rights_expand() -> None:
    ace = parse_ace(r"BUILTIN\Users:(GR,GE)")
    assert rwx(windows_access([ace], EVERYONE)) == "r-x"


def test_garbage_is_refused() -> None:
    with pytest.raises(IcaclsFormatError):
        parse_ace("no colon here")


def test_grant_command_is_the_documented_form() -> None:
    assert (
        grant_command(r"D:\OMERO", "omeservice")
        == r"icacls D:\OMERO /grant omeservice:(OI)(CI)M /T"
    )
    assert grant_command(r"D:\OMERO data", "omeservice").startswith(r'icacls "D:\OMERO data" ')
