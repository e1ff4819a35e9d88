r"""Windows repository paths: judged by Windows rules, written for OMERO; pure functions.

``omero config set`` stores its text in config.xml; IceGrid copies it verbatim into the
server's Ice configuration file, whose parser reads ``\\`` as ``\``, ``\#`` as ``#``,
``\ `` as a space, an unescaped ``#`` as the start of a comment (cutting the path short),
and trims unescaped end spaces. ``config_value`` escapes exactly those. It keeps forward
slashes as given (Windows, Java and Ice accept ``D:/OMERO``), so it is lossless; pass
``normalise_windows_path(text)`` to store OMERO's documented form, ``D:\\OMERO``.
"""

from __future__ import annotations

import re
import shlex
from typing import Literal

from omero_tui.core.config.xml_file import validate_key
from omero_tui.core.record import frozen

Level = Literal["error", "warning"]
MAX_PATH = 260  # counts the terminating NUL: a plain path holds at most 259 characters
MAX_COMPONENT = 255  # NTFS, in UTF-16 code units
MAX_EXTENDED = 32767  # with the \\?\ prefix
INVALID_CHARACTERS = '<>:"|?*'
RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{n}" for port in ("COM", "LPT") for n in "123456789\u00b9\u00b2\u00b3"}
)
EXTENDED_PREFIX = "\\\\?\\"
_DRIVE = re.compile(r"[A-Za-z]:")
_ROOT = re.compile(r"(\\\\\?\\)?[A-Za-z]:\\|\\+")  # D:\  \\?\D:\  and bare backslashes
# cmd.exe gives these a meaning outside double quotes (",;=" split batch arguments).
_CMD_SPECIAL = frozenset(" \t&|<>^%(),;=")
_POWERSHELL_QUOTES = "'\u2018\u2019\u201a\u201b"  # PowerShell ends '...' at any of them
_POWERSHELL_BARE = re.compile(r"[A-Za-z0-9_.:\\/-]+")
_FULL = "write it in full, like D:\\OMERO"
WARNINGS = frozenset({"unc_share", "extended_prefix", "max_path", "max_path_contents"})
# Every message is one sentence that says why it matters; fields are filled per path.
MESSAGES = {
    "empty": "No path was given.",
    "control_character": "The path contains control characters ({chars}), which Windows"
    " does not allow in names.",
    "relative": "{path} is a relative path, which the server would resolve against its"
    f" working folder; {_FULL}.",
    "root_relative": "{path} has no drive letter, so it would land on whichever drive the"
    f" server starts from; {_FULL}.",
    "drive_relative": "{path} is relative to the current folder of drive {drive}, which"
    f" differs between programs; {_FULL}.",
    "device_namespace": "{path} is a device or volume path, not a folder; use one like D:\\OMERO.",
    "unc_incomplete": "{path} does not name both a server and a share; a network path"
    " has the form \\\\server\\share\\folder.",
    "unc_share": "{path} is a network share, which OMERO strongly discourages for the"
    " repository because file locking over the network can fail and corrupt data.",
    "extended_prefix": "The \\\\?\\ prefix turns off Windows' path conversion, so any part"
    " of OMERO that joins paths with '/' would fail; prefer a plain path like D:\\OMERO.",
    "empty_component": "{path} has two separators in a row; if you copied the doubled"
    " form from config.xml, enter the plain path instead.",
    "invalid_characters": "{path} contains {chars}, which Windows does not allow in file"
    " or folder names.",
    "dot_component": "'{name}' in {path} would be resolved away by Windows, so the folder"
    " used would not be the one written; leave it out.",
    "reserved_name": "'{name}' in {path} is a name Windows reserves for a device (even"
    " with an extension), so no folder can be created with it.",
    "trailing_dot_or_space": "'{name}' in {path} ends in {end}, which Windows silently"
    " drops, so the folder created would not match the configuration.",
    "component_too_long": "A folder name is {length} characters long, more than NTFS allows (255).",
    "ice_variable": "{path} contains '${{', which IceGrid reads as a variable reference,"
    " so the server would see a different path.",
    "too_long": "The path is {length} characters, over the 32767 Windows allows even with \\\\?\\.",
    "max_path": "The path is {length} characters long, over Windows' 259-character limit"
    " (MAX_PATH), so many programs, backup tools included, could not open anything in it.",
    "max_path_contents": "The deepest repository file would get a {length}-character path"
    " under {path}, over Windows' 259-character limit (MAX_PATH), so programs without"
    " long-path support could not open it.",
}


@frozen
class PathProblem:
    severity: Level
    message: str  # one plain sentence, fit to show an administrator
    code: str = ""  # stable id, "windows_path.<key of MESSAGES>"


def _problem(code: str, **fields: object) -> PathProblem:
    severity: Level = "warning" if code in WARNINGS else "error"
    return PathProblem(severity, MESSAGES[code].format(**fields), f"windows_path.{code}")


def looks_like_windows_path(text: str) -> bool:
    """True for ``D:\\...``, ``D:/...`` and ``\\\\host\\...`` (``//host`` is POSIX too)."""
    return bool(_DRIVE.match(text)) or text.startswith("\\\\")


def normalise_windows_path(text: str) -> str:
    r"""``/`` as ``\`` and no trailing separator (the roots ``D:\`` and ``\\?\D:\`` keep theirs)."""
    if not text.startswith(EXTENDED_PREFIX):  # after \\?\ Windows takes "/" literally
        text = text.replace("/", "\\")
    if text.endswith("\\") and not _ROOT.fullmatch(text):
        text = text[:-1]
    return text


def _utf16_length(text: str) -> int:  # as Windows counts: U+10000 and above take two
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _split_root(path: str) -> tuple[str, list[str], list[PathProblem]]:
    """(kind, components below the root, problems with the root itself)."""
    extended = path.startswith(EXTENDED_PREFIX)
    body = path[len(EXTENDED_PREFIX) :] if extended else path
    notes = [_problem("extended_prefix")] if extended else []
    if extended and body[:4].upper() == "UNC\\":
        body = "\\\\" + body[4:]
    if path.startswith("\\\\.\\") or (extended and not (_DRIVE.match(body) or body[:2] == "\\\\")):
        return "device", [], [_problem("device_namespace", path=path)]
    if body.startswith("\\\\"):
        host, _, share = body[2:].partition("\\")
        if not host or not share.partition("\\")[0]:
            return "unc", [], [_problem("unc_incomplete", path=path)]
        return "unc", _parts(body[2:]), [*notes, _problem("unc_share", path=path)]
    if _DRIVE.match(body):
        if body[2:3] != "\\":
            notes.append(_problem("drive_relative", path=path, drive=body[:2]))
        return "drive", _parts(body[2:].removeprefix("\\")), notes
    code = "root_relative" if body.startswith("\\") else "relative"
    return "relative", _parts(body.removeprefix("\\")), [_problem(code, path=path)]


def _parts(below_root: str) -> list[str]:
    return below_root.split("\\") if below_root else []


def _component_problems(name: str, path: str) -> list[PathProblem]:
    if name in (".", ".."):
        return [_problem("dot_component", name=name, path=path)]
    found = []
    if name.split(".")[0].rstrip(" ").upper() in RESERVED_NAMES:  # "nul .txt" too
        found.append(_problem("reserved_name", name=name, path=path))
    if name.endswith((".", " ")):
        end = "a dot" if name.endswith(".") else "a space"
        found.append(_problem("trailing_dot_or_space", name=name, path=path, end=end))
    if _utf16_length(name) > MAX_COMPONENT:
        found.append(_problem("component_too_long", path=path, length=_utf16_length(name)))
    return found


def validate_windows_path(text: str, longest_relative: int | None = None) -> list[PathProblem]:
    r"""Problems with ``text`` as a repository path on Windows, errors first; [] if none.

    ``longest_relative``: length of the longest path below the repository root (of the
    files that will move there), to tell whether they would outgrow MAX_PATH.
    """
    if not text:
        return [_problem("empty")]
    problems: list[PathProblem] = []
    controls = sorted({f"U+{ord(ch):04X}" for ch in text if ord(ch) < 0x20})
    if controls:
        problems.append(_problem("control_character", chars=", ".join(controls)))
        text = "".join(ch if ord(ch) >= 0x20 else "_" for ch in text)
    path = normalise_windows_path(text)
    kind, components, root_problems = _split_root(path)
    problems += root_problems
    if "" in components:
        problems.append(_problem("empty_component", path=path))
    bad = sorted({ch for part in components for ch in part if ch in INVALID_CHARACTERS})
    if bad:
        problems.append(_problem("invalid_characters", path=path, chars=" ".join(bad)))
    for index, name in enumerate(components):
        if name and not (kind == "unc" and index == 0):  # a server name is no folder
            problems += _component_problems(name, path)
    if "${" in path:
        problems.append(_problem("ice_variable", path=path))
    length = _utf16_length(path)
    if path.startswith(EXTENDED_PREFIX):
        if length > MAX_EXTENDED:
            problems.append(_problem("too_long", length=length))
    elif length >= MAX_PATH:
        problems.append(_problem("max_path", length=length))
    elif longest_relative and length + 1 + longest_relative >= MAX_PATH:
        total = length + 1 + longest_relative
        problems.append(_problem("max_path_contents", path=path, length=total))
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda problem: problem.severity != "error")


def config_value(path: str) -> str:
    r"""The value to store in config.xml so Ice hands the server ``path``: ``D:\\OMERO``."""
    if any(ord(ch) < 0x20 for ch in path):
        raise ValueError("a path with control characters cannot be stored in config.xml")
    value = path.replace("\\", "\\\\").replace("#", "\\#")
    body = value.strip(" ")  # Ice trims unescaped spaces at either end of a value
    lead = len(value) - len(value.lstrip(" "))
    return "\\ " * lead + body + "\\ " * (len(value) - lead - len(body))


def _line_value(key: str, path: str) -> str:
    validate_key(key)  # ConfigError for a name OMERO would refuse
    if not path:  # `omero config set KEY` with no value DELETES the key: never print that
        raise ValueError("no path given; an empty value would delete the setting")
    if '"' in path:  # no Windows path holds one, and cmd.exe could not pass it safely
        raise ValueError('a path with " cannot be a Windows path')
    return config_value(path)


def _cmd_quote(text: str) -> str:
    if text and not _CMD_SPECIAL.intersection(text):
        return text  # cmd.exe and the C runtime pass it through unchanged
    # Inside "..." cmd.exe leaves & | < > ^ alone but still expands %NAME%, so each % stands
    # outside the quotes and is followed by one: no variable's name starts with a quote.
    # The C runtime reads backslashes right before a quote as escapes: those are doubled.
    out = ['"']
    backslashes = 0
    for ch in text:
        out.append("\\" * backslashes + '"%"' if ch == "%" else ch)
        backslashes = backslashes + 1 if ch == "\\" else 0
    out.append("\\" * backslashes + '"')
    return "".join(out)


def cmd_line(key: str, path: str, *, program: str = "bin\\omero") -> str:
    r"""For the cmd.exe prompt: ``bin\omero config set omero.data.dir D:\\OMERO``.

    Typed at the prompt, not in a .bat file (a batch file needs ``%%`` for ``%``).
    """
    value = _cmd_quote(_line_value(key, path))
    return f"{_cmd_quote(program)} config set {key} {value}"


def posix_shell_line(key: str, path: str, *, program: str = "bin/omero") -> str:
    r"""For sh/bash/zsh: ``bin/omero config set omero.data.dir 'D:\\OMERO'``."""
    value = _line_value(key, path).replace("'", "'\\''")
    return f"{shlex.quote(program)} config set {key} '{value}'"


def powershell_line(key: str, path: str, *, program: str = "bin\\omero") -> str:
    r"""For PowerShell: ``bin\omero config set omero.data.dir 'D:\\OMERO'``.

    Pass a path without a trailing backslash (``normalise_windows_path``): Windows
    PowerShell 5.1 does not escape one when it adds quotes around a value with spaces.
    """
    value = _line_value(key, path)
    command = program if _POWERSHELL_BARE.fullmatch(program) else f"& {_ps_quote(program)}"
    return f"{command} config set {key} {_ps_quote(value)}"


def _ps_quote(text: str) -> str:
    return "'" + "".join(ch * 2 if ch in _POWERSHELL_QUOTES else ch for ch in text) + "'"
