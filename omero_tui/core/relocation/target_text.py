"""Target paths that are not what they look like, or cannot exist: refused from the text.

Found by the hostile-input tests (tests/faults/test_hostile_input.py): without these
checks, ``/srv/volume2／OMERO`` (a FULLWIDTH SOLIDUS) or ``/srv/vоlume2/OMERO`` (a
Cyrillic о) passed every check and would have created a directory next to the one
the admin meant, and moved the repository there; a 300-byte name passed the preflight
of a same-filesystem move and failed only after the server had been stopped.

Pure functions on the text (no file system), so the wizard can ask per keystroke.
A path in one script (``/données/OMERO``, ``/データ``) is fine; what is refused is a
character that renders as something else: invisible and formatting characters, a
compatibility form of an ASCII character (fullwidth letters, slash and dot look-alikes),
and a Latin name with a Cyrillic, Greek, Armenian or Cherokee letter that looks Latin.
"""

from __future__ import annotations

import os
import unicodedata

PATH_MAX = 4096  # bytes, with the terminating NUL (Linux)
NAME_MAX = 255  # bytes per name (ext4, xfs, btrfs, tmpfs, zfs)

# Render as "/" without being it, and have no compatibility mapping to it.
SLASH_LIKE = frozenset("\u2044\u2215\u2571\u29f8\u1735\u3033\u2cc6")
# Letters of other scripts drawn like Latin ones (the usual homograph set).
LATIN_LOOKING = frozenset(
    "аеорсухіјѕԁԛԝһӏɡАВЕКМНОРСТХІЈЅҮԚԜ"  # Cyrillic
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧοιν"  # Greek
    "ՕօՍսհոցԼ"  # Armenian
    "ᎪᎠᎬᎻᏆᎫᏦᏞᎷᏃᏢᏚᎢᏙᏔᎳ"  # Cherokee
)


def _name(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}"


def _shown(ch: str) -> str:
    return repr(ch)[1:-1] if not ch.isprintable() else ch


def lookalike_problem(target: str) -> str | None:
    """One line saying why ``target`` is not the path it looks like; None if it is."""
    for ch in target:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs") or (category == "Zs" and ch != " "):
            what = "a surrogate (a byte that is not UTF-8)" if category == "Cs" else _name(ch)
            return (
                f"the target contains an invisible or formatting character ({what}), so it "
                "is not the path it shows; type it again with plain characters"
            )
        if ch in SLASH_LIKE or ch in "\uff0f\u2024\uff0e":
            looks = "/" if ch in SLASH_LIKE or ch == "\uff0f" else "."
            return (
                f"the target contains {ch} ({_name(ch)}), which looks like '{looks}' but is "
                "another character; type the path with a plain one"
            )
        folded = unicodedata.normalize("NFKC", ch)
        if folded != ch and folded.isascii() and folded.isprintable():
            return (
                f"the target contains {_shown(ch)} ({_name(ch)}), which looks like "
                f"'{folded}' but is another character; type the path with plain characters"
            )
    for part in target.replace("\\", "/").split("/"):
        letters = [ch for ch in part if ch.isalpha()]
        latin = any(unicodedata.name(ch, "").startswith("LATIN") for ch in letters)
        mimic = next((ch for ch in letters if ch in LATIN_LOOKING), None)
        if latin and mimic:
            return (
                f"'{part}' in the target mixes Latin letters with {mimic} ({_name(mimic)}), "
                "which looks like a Latin letter: it names another directory than the one "
                "it looks like; type it with plain letters"
            )
    return None


def length_problem(target: str) -> str | None:
    """Why a POSIX ``target`` cannot be created at all, from its length; None if it can."""
    size = len(os.fsencode(target))
    if size >= PATH_MAX:
        return (
            f"the target path is {size} bytes long, beyond the {PATH_MAX - 1} bytes Linux "
            "allows; choose a shorter one"
        )
    for part in target.split("/"):
        if len(os.fsencode(part)) > NAME_MAX:
            return (
                f"a name in the target path is {len(os.fsencode(part))} bytes long, beyond "
                f"the {NAME_MAX} bytes a filesystem allows; choose a shorter one"
            )
    return None
