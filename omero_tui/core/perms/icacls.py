"""Windows permissions from ``icacls`` output: who may read, write and traverse.

``icacls PATH`` prints the path, a space and the first access control entry on one
line, then one entry per line indented to line up under it, then (after ``/T``, per
file) a blank line, and a summary. An entry is ``PRINCIPAL:(flag)...(rights)``:
inheritance flags ``(OI)(CI)(IO)(NP)(I)``, ``(DENY)`` for a deny entry, and rights as
a simple letter (``F``, ``M``, ``RX``, ``R``, ``W``, ``D``, ``N``) or a comma list of
specific ones (``(RD,WD,AD,X)``) or generic ones (``GR``, ``GW``, ``GE``, ``GA``).

Windows decides each right by the first entry in the list that mentions it for one of
the user's principals, deny or allow; icacls lists entries in that order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from omero_tui.core.perms.access import Access
from omero_tui.core.record import frozen

FLAGS = frozenset({"OI", "CI", "IO", "NP", "I"})
# What each simple or generic right grants, as specific rights.
_READ = frozenset({"RD", "REA", "RA", "RC", "S"})
_WRITE = frozenset({"WD", "AD", "WEA", "WA"})
_EXEC = frozenset({"X"})
EXPANSIONS: dict[str, frozenset[str]] = {
    "F": _READ | _WRITE | _EXEC | {"DE", "DC", "WDAC", "WO"},
    "M": _READ | _WRITE | _EXEC | {"DE"},
    "RX": _READ | _EXEC,
    "R": _READ,
    "W": _WRITE | {"S"},
    "D": frozenset({"DE"}),
    "N": frozenset(),
    "GA": _READ | _WRITE | _EXEC | {"DE", "DC", "WDAC", "WO"},
    "GR": _READ,
    "GW": _WRITE,
    "GE": _EXEC | {"RA", "RC", "S"},
}
# Principals every local account holds on a default Windows install.
EVERYONE = ("Everyone", r"BUILTIN\Users", r"NT AUTHORITY\Authenticated Users")

_ACE = re.compile(r"^(?P<principal>[^:()]+?):(?P<parts>(\([^()]*\))+)$")
_SUMMARY = re.compile(r"^(Successfully processed|Failed processing)\b")


@frozen
class Ace:
    principal: str  # as printed, e.g. "BUILTIN\\Users", "MYHOST\\omeservice", "S-1-5-21-..."
    rights: frozenset[str]  # specific rights, simple ones expanded
    flags: frozenset[str]  # OI, CI, IO, NP, I
    deny: bool
    text: str  # the entry as icacls printed it

    @property
    def inherit_only(self) -> bool:
        return "IO" in self.flags


@frozen
class IcaclsPath:
    path: str
    aces: tuple[Ace, ...]


class IcaclsFormatError(ValueError):
    """Output that is not icacls' listing format."""


def parse_ace(text: str) -> Ace:
    match = _ACE.match(text.strip())
    if match is None:
        raise IcaclsFormatError(f"not an icacls entry: {text.strip()!r}")
    flags: set[str] = set()
    rights: set[str] = set()
    deny = False
    for part in re.findall(r"\(([^()]*)\)", match.group("parts")):
        if part == "DENY":
            deny = True
        elif part in FLAGS:
            flags.add(part)
        else:
            for right in part.split(","):
                right = right.strip()
                rights |= EXPANSIONS.get(right, {right})
    return Ace(match.group("principal").strip(), frozenset(rights), frozenset(flags), deny, text)


def parse_icacls(text: str, known_paths: Sequence[str] = ()) -> list[IcaclsPath]:
    """Every path block in ``icacls`` output; errors and the summary line are skipped.

    A path and a principal can both hold spaces, so where the path ends on its first
    line comes from the indentation of the next line, else from ``known_paths`` (the
    paths icacls was asked about), else the first space.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[IcaclsPath] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip() or _SUMMARY.match(line.strip()) or line[:1].isspace():
            continue
        following = []
        while index < len(lines) and lines[index][:1].isspace() and lines[index].strip():
            following.append(lines[index])
            index += 1
        path, first = _split_first_line(line, following, known_paths)
        if first is None:
            continue  # "C:\x: Access is denied." and the like
        aces = [parse_ace(first), *(parse_ace(f) for f in following)]
        blocks.append(IcaclsPath(path, tuple(aces)))
    return blocks


def _split_first_line(
    line: str, following: list[str], known_paths: Sequence[str]
) -> tuple[str, str | None]:
    line = line.rstrip()
    if following:
        width = len(following[0]) - len(following[0].lstrip())
        if 0 < width <= len(line) and line[width - 1] == " ":
            return line[: width - 1], line[width:]
    for path in sorted(known_paths, key=len, reverse=True):
        if line.lower().startswith(path.lower() + " "):
            rest = line[len(path) + 1 :]
            return path, rest if _ACE.match(rest) else None
    path, _, rest = line.partition(" ")
    return path, rest if rest and _ACE.match(rest) else None


def matches(principal: str, names: Iterable[str]) -> bool:
    """``MYHOST\\omero`` matches ``omero`` and ``myhost\\omero``; case never matters."""
    wanted = principal.lower()
    short = wanted.rsplit("\\", 1)[-1]
    for name in names:
        name = name.lower()
        if name == wanted or ("\\" not in name and name == short):
            return True
    return False


def windows_access(aces: Sequence[Ace], principals: Iterable[str]) -> Access:
    """Read (list), write (add files and folders) and traverse for these principals."""
    names = tuple(principals)
    decided: dict[str, bool] = {}
    deciders: list[str] = []
    for ace in aces:
        if ace.inherit_only or not matches(ace.principal, names):
            continue
        for right in ace.rights:
            if right not in decided:
                decided[right] = not ace.deny
                if ace.text not in deciders:
                    deciders.append(ace.text.strip())
    read = decided.get("RD", False)
    write = decided.get("WD", False) and decided.get("AD", False)
    traverse = decided.get("X", False)
    return Access(read, write, traverse, "; ".join(deciders) or "no entry for this user")


def grant_command(path: str, user: str) -> str:
    """The command an admin types in cmd.exe to give ``user`` modify rights on a tree."""
    target = f'"{path}"' if " " in path else path
    return f"icacls {target} /grant {user}:(OI)(CI)M /T"
