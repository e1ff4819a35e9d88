r"""Windows repository paths: validation rules and the four notations of one path.

Pure functions, so these run on any host. The POSIX line goes through real shells. cmd.exe
and PowerShell do not exist here: their lines are checked against small models of how
cmd.exe, the Microsoft C runtime and PowerShell read a command line (tests named
``..._simulated``); Ice's property parser is modelled from Ice's PropertiesI.cpp.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path, PureWindowsPath

import pytest

from omero_tui.core.config.ice_values import unescape
from omero_tui.core.config.windows_paths import (
    MESSAGES,
    RESERVED_NAMES,
    cmd_line,
    config_value,
    looks_like_windows_path,
    normalise_windows_path,
    posix_shell_line,
    powershell_line,
    validate_windows_path,
)
from omero_tui.core.config.xml_file import (
    ACTIVE,
    ConfigError,
    new_config,
    parse_config,
    read_config,
    render_config,
    with_changes,
    write_config,
)

KEY = "omero.data.dir"

# path | config.xml value | cmd.exe argument | PowerShell argument | POSIX shell argument
RENDERING = [
    (r"D:\OMERO", r"D:\\OMERO", r"D:\\OMERO", r"'D:\\OMERO'", r"'D:\\OMERO'"),
    ("D:/OMERO", "D:/OMERO", "D:/OMERO", "'D:/OMERO'", "'D:/OMERO'"),
    (r"c:\omero", r"c:\\omero", r"c:\\omero", r"'c:\\omero'", r"'c:\\omero'"),
    (r"D:\OMERO" "\\", r"D:\\OMERO\\", r"D:\\OMERO\\", r"'D:\\OMERO\\'", r"'D:\\OMERO\\'"),
    ("D:\\", r"D:\\", r"D:\\", r"'D:\\'", r"'D:\\'"),
    (
        r"D:\Microscopy Data\OMERO",
        r"D:\\Microscopy Data\\OMERO",
        r'"D:\\Microscopy Data\\OMERO"',
        r"'D:\\Microscopy Data\\OMERO'",
        r"'D:\\Microscopy Data\\OMERO'",
    ),
    # The C runtime would read \\" as one backslash and a closing quote: 4 before it.
    (
        r"D:\my data" "\\",
        r"D:\\my data\\",
        r'"D:\\my data\\\\"',
        r"'D:\\my data\\'",
        r"'D:\\my data\\'",
    ),
    (
        r"D:\Lab's data",
        r"D:\\Lab's data",
        r'"D:\\Lab' "'" r's data"',
        r"'D:\\Lab''s data'",
        r"'D:\\Lab'\''s data'",
    ),
    (
        "D:\\Lab\u2019s data",
        "D:\\\\Lab\u2019s data",
        '"D:\\\\Lab\u2019s data"',
        "'D:\\\\Lab\u2019\u2019s data'",
        "'D:\\\\Lab\u2019s data'",
    ),
    (r"D:\50% off", r"D:\\50% off", r'"D:\\50"%" off"', r"'D:\\50% off'", r"'D:\\50% off'"),
    (r"D:\100%", r"D:\\100%", r'"D:\\100"%""', r"'D:\\100%'", r"'D:\\100%'"),
    (
        r"D:\%PATH%\omero",
        r"D:\\%PATH%\\omero",
        r'"D:\\\\"%"PATH"%"\\omero"',
        r"'D:\\%PATH%\\omero'",
        r"'D:\\%PATH%\\omero'",
    ),
    (
        r"D:\R&D\OMERO",
        r"D:\\R&D\\OMERO",
        r'"D:\\R&D\\OMERO"',
        r"'D:\\R&D\\OMERO'",
        r"'D:\\R&D\\OMERO'",
    ),
    (r"D:\a^b", r"D:\\a^b", r'"D:\\a^b"', r"'D:\\a^b'", r"'D:\\a^b'"),
    (
        r"D:\data (old)",
        r"D:\\data (old)",
        r'"D:\\data (old)"',
        r"'D:\\data (old)'",
        r"'D:\\data (old)'",
    ),
    (r"D:\a;b,c=d", r"D:\\a;b,c=d", r'"D:\\a;b,c=d"', r"'D:\\a;b,c=d'", r"'D:\\a;b,c=d'"),
    (
        "E:\\données\\顕微鏡",
        "E:\\\\données\\\\顕微鏡",
        "E:\\\\données\\\\顕微鏡",
        "'E:\\\\données\\\\顕微鏡'",
        "'E:\\\\données\\\\顕微鏡'",
    ),
    (
        "D:\\photos\U0001f52c",
        "D:\\\\photos\U0001f52c",
        "D:\\\\photos\U0001f52c",
        "'D:\\\\photos\U0001f52c'",
        "'D:\\\\photos\U0001f52c'",
    ),
    (
        r"\\fileserver\omero\data",
        r"\\\\fileserver\\omero\\data",
        r"\\\\fileserver\\omero\\data",
        r"'\\\\fileserver\\omero\\data'",
        r"'\\\\fileserver\\omero\\data'",
    ),
    # An unescaped # would start an Ice comment and cut the path short.
    (r"D:\run#1", r"D:\\run\#1", r"D:\\run\#1", r"'D:\\run\#1'", r"'D:\\run\#1'"),
    (r"D:\$HOME`x", r"D:\\$HOME`x", r"D:\\$HOME`x", r"'D:\\$HOME`x'", r"'D:\\$HOME`x'"),
    (
        "D:/mixed\\sep/",
        "D:/mixed\\\\sep/",
        "D:/mixed\\\\sep/",
        "'D:/mixed\\\\sep/'",
        "'D:/mixed\\\\sep/'",
    ),
    (r"D:\a\%x", r"D:\\a\\%x", r'"D:\\a\\\\"%"x"', r"'D:\\a\\%x'", r"'D:\\a\\%x'"),
]
PATHS = [row[0] for row in RENDERING]


# -------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(("path", "value", "cmd", "ps", "posix"), RENDERING)
def test_rendering_table(path: str, value: str, cmd: str, ps: str, posix: str) -> None:
    assert config_value(path) == value
    assert cmd_line(KEY, path) == rf"bin\omero config set {KEY} {cmd}"
    assert powershell_line(KEY, path) == rf"bin\omero config set {KEY} {ps}"
    assert posix_shell_line(KEY, path) == f"bin/omero config set {KEY} {posix}"


def test_documented_form() -> None:
    assert config_value(normalise_windows_path("D:/OMERO")) == r"D:\\OMERO"
    assert cmd_line(KEY, r"D:\OMERO") == r"bin\omero config set omero.data.dir D:\\OMERO"


@pytest.mark.parametrize("path", [*PATHS, " lead", "trail  ", "   ", "a # b", "x=y", r"\#"])
def test_config_value_round_trips(path: str) -> None:
    assert unescape(config_value(path)) == path
    assert ice_property_value(config_value(path)) == path


def test_ice_model_can_fail() -> None:
    # What the escaping is for: Ice cuts at an unescaped # and trims end spaces.
    assert ice_property_value(r"D:\\run#1") == "D:\\run"
    assert ice_property_value(r"  D:\\x  ") == "D:\\x"
    assert ice_property_value(r"D:\OMERO") == r"D:\OMERO"  # Ice keeps \O; doubled is safe


@pytest.mark.parametrize("path", PATHS)
def test_round_trip_through_config_xml(path: str) -> None:
    doc = with_changes(new_config(), "default", {KEY: config_value(path)})
    back = parse_config(render_config(doc))
    assert unescape(back.properties("default")[KEY]) == path
    assert unescape(back.properties(ACTIVE)[KEY]) == path


def test_round_trip_through_a_written_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.xml"
    for path in PATHS:
        write_config(config, {KEY: config_value(path)}, env={})
        assert unescape(read_config(config).properties("default")[KEY]) == path


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_posix_line_through_a_real_shell(shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    # One shell run for the whole table: `argv` prints each argument it receives.
    script = "argv() { for a in \"$@\"; do printf '%s\\037' \"$a\"; done; printf '\\036'; }\n"
    script += "\n".join(posix_shell_line(KEY, path, program="argv") for path in PATHS)
    result = subprocess.run(
        [shell, "-c", script], capture_output=True, timeout=30, check=True, stdin=subprocess.DEVNULL
    )
    calls = result.stdout.decode().split("\036")[:-1]
    assert [call.split("\037")[:-1] for call in calls] == [
        ["config", "set", KEY, config_value(path)] for path in PATHS
    ]


@pytest.mark.parametrize("resume_after_first", [True, False])
@pytest.mark.parametrize("path", PATHS)
def test_cmd_line_simulated(path: str, resume_after_first: bool) -> None:
    argv = crt_argv(cmd_phase2(cmd_percent(cmd_line(KEY, path), resume_after_first)))
    assert argv == ["bin\\omero", "config", "set", KEY, config_value(path)]


def test_cmd_model_can_fail_simulated() -> None:
    naive = rf'bin\omero config set {KEY} "D:\\%PATH%"'
    assert crt_argv(cmd_phase2(cmd_percent(naive, True)))[-1] != r"D:\\%PATH%"
    with pytest.raises(AssertionError):
        cmd_phase2(rf"bin\omero config set {KEY} D:\\R&D")
    assert crt_argv(r'x "D:\\my data\\"')[-1] == "D:\\\\my data\\"  # \\" is \ + quote


@pytest.mark.parametrize("path", PATHS)
def test_powershell_line_simulated(path: str) -> None:
    assert powershell_tokens(powershell_line(KEY, path)) == [
        "bin\\omero", "config", "set", KEY, config_value(path)
    ]  # fmt: skip


def test_powershell_model_can_fail_simulated() -> None:
    with pytest.raises(AssertionError):
        powershell_tokens("bin\\omero config set k 'D:\\\\Lab\u2019s data'")


def test_program_with_spaces_is_quoted() -> None:
    program = r"C:\Program Files\OMERO.server\bin\omero"
    assert cmd_line(KEY, r"D:\OMERO", program=program) == (
        rf'"C:\Program Files\OMERO.server\bin\omero" config set {KEY} D:\\OMERO'
    )
    line = powershell_line(KEY, r"D:\OMERO", program=program)
    assert line == rf"& 'C:\Program Files\OMERO.server\bin\omero' config set {KEY} 'D:\\OMERO'"
    assert powershell_tokens(line)[0] == program
    assert posix_shell_line(KEY, "D:/OMERO", program="/opt/my omero/bin/omero") == (
        f"'/opt/my omero/bin/omero' config set {KEY} 'D:/OMERO'"
    )
    assert powershell_line(KEY, "D:/x", program="omero").startswith("omero config set")


@pytest.mark.parametrize("render", [cmd_line, posix_shell_line, powershell_line])
def test_renderers_refuse_what_no_line_can_carry(render: Callable[..., str]) -> None:
    with pytest.raises(ValueError, match="delete"):
        render(KEY, "")  # `omero config set KEY` with no value deletes the key
    with pytest.raises(ValueError):
        render(KEY, 'D:\\a"b')
    with pytest.raises(ValueError):
        render(KEY, "D:\\a\nb")
    with pytest.raises(ConfigError):
        render("omero.data.dir; rm -rf /", r"D:\OMERO")


# ------------------------------------------------------------------------- validation

# text -> the codes it must raise (without the "windows_path." prefix), exactly.
LONG_NAME = "a" * 255
RULES: list[tuple[str, set[str]]] = [
    ("", {"empty"}),
    ("D:\\a\tb", {"control_character"}),
    ("D:\\a\nb\x00", {"control_character"}),
    ("OMERO", {"relative"}),
    (r".\OMERO", {"relative", "dot_component"}),
    ("OMERO/data", {"relative"}),
    (r"\OMERO", {"root_relative"}),
    ("/OMERO", {"root_relative"}),  # a POSIX path is no Windows path
    ("D:OMERO", {"drive_relative"}),
    ("D:", {"drive_relative"}),
    (r"\\.\PhysicalDrive0", {"device_namespace"}),
    ("//./COM1", {"device_namespace"}),
    (r"\\?\Volume{1b3a}\OMERO", {"device_namespace"}),
    (r"\\server", {"unc_incomplete"}),
    ("\\\\server\\", {"unc_incomplete"}),
    ("\\\\", {"unc_incomplete"}),
    (r"\\server\share", {"unc_share"}),
    (r"\\server\share\OMERO", {"unc_share"}),
    ("//server/share/OMERO", {"unc_share"}),
    (r"\\host\D$\OMERO", {"unc_share"}),
    (r"\\fileserver.lab.\share\OMERO", {"unc_share"}),  # a server name is no folder name
    (r"\\?\UNC\server\share\OMERO", {"unc_share", "extended_prefix"}),
    (r"\\?\D:\OMERO", {"extended_prefix"}),
    (r"D:\\OMERO", {"empty_component"}),  # the doubled config.xml form, pasted
    (r"D:\a\\b", {"empty_component"}),
    ("D:\\OMERO\\\\", {"empty_component"}),
    (r"D:\a\.\b", {"dot_component"}),
    (r"D:\a\..\b", {"dot_component"}),
    (r"D:\CON", {"reserved_name"}),
    (r"D:\nul.txt\OMERO", {"reserved_name"}),
    (r"D:\data\Com1.tar.gz", {"reserved_name"}),
    ("D:\\LPT\u00b3", {"reserved_name"}),
    (r"D:\NUL .txt", {"reserved_name"}),
    (r"D:\CON ", {"reserved_name", "trailing_dot_or_space"}),
    (r"D:\data.", {"trailing_dot_or_space"}),
    (r"D:\data \OMERO", {"trailing_dot_or_space"}),
    ("D:\\" + LONG_NAME + "b", {"component_too_long"}),
    ("D:\\" + "\U0001f52c" * 128, {"component_too_long"}),  # 256 UTF-16 units
    (r"D:\${omero.data.dir}", {"ice_variable"}),
    ("\\\\?\\D:\\" + "\\".join([LONG_NAME] * 129), {"extended_prefix", "too_long"}),
    ("D:\\" + "\\".join([LONG_NAME] * 2), {"max_path"}),
    (r"\\server\share\CON", {"unc_share", "reserved_name"}),
    ("1:\\x", {"relative", "invalid_characters"}),
]
RULES += [(f"D:\\a{ch}b", {"invalid_characters"}) for ch in '<>:"|?*']
VALID = [
    r"D:\OMERO", "d:\\omero", "D:/OMERO", "D:\\OMERO\\", "D:\\", "D:/",
    r"C:\Program Files\OMERO\data", "E:\\données\\顕微鏡", r"D:\run#1", r"D:\50% off",
    r"D:\Lab's data", r"D:\.omero-data", r"D:\CONSOLE\COM10\LPT0\NULL\aux_data\COM",
    r"D:\$data", "D:\\" + LONG_NAME, r"D:\a.b\c..d",
]  # fmt: skip


WARNING_CODES = ("unc_share", "extended_prefix", "max_path", "max_path_contents")


@pytest.mark.parametrize(("text", "codes"), RULES)
def test_validation_rules(text: str, codes: set[str]) -> None:
    problems = validate_windows_path(text)
    assert {p.code.removeprefix("windows_path.") for p in problems} == codes
    for problem in problems:
        expected = "warning" if problem.code.endswith(WARNING_CODES) else "error"
        assert problem.severity == expected, problem
        assert problem.message.endswith(".") and "\n" not in problem.message


def test_every_rule_is_exercised() -> None:
    seen = {code for _, codes in RULES for code in codes} | {"max_path_contents"}
    assert seen == set(MESSAGES)


@pytest.mark.parametrize("text", VALID)
def test_valid_paths_raise_nothing(text: str) -> None:
    assert validate_windows_path(text) == []


def test_errors_come_before_warnings() -> None:
    severities = [p.severity for p in validate_windows_path(r"\\?\UNC\server\share\CON")]
    assert severities == ["error", "warning", "warning"]


def test_max_path_boundary() -> None:
    at_limit = "D:\\" + "a" * 200 + "\\" + "b" * 55
    assert len(at_limit) == 259 and validate_windows_path(at_limit) == []
    [problem] = validate_windows_path(at_limit + "c")
    assert problem.code == "windows_path.max_path" and "260 characters" in problem.message
    assert validate_windows_path("\\\\?\\" + at_limit + "c") != []  # only the prefix warning
    assert all("max_path" not in p.code for p in validate_windows_path("\\\\?\\" + at_limit + "c"))


def test_longest_relative_path_against_max_path() -> None:
    target = "D:\\" + "x" * 97  # 100 characters; + "\" + 158 = 259, the most allowed
    assert validate_windows_path(target, longest_relative=158) == []
    [problem] = validate_windows_path(target, longest_relative=159)
    assert problem.code == "windows_path.max_path_contents" and problem.severity == "warning"
    assert "260-character path" in problem.message
    assert validate_windows_path("\\\\?\\" + target, longest_relative=500)[0].code.endswith(
        "extended_prefix"
    )
    assert validate_windows_path(target, longest_relative=None) == []


def test_reserved_names_agree_with_pathlib() -> None:
    names = [*RESERVED_NAMES, "CONSOLE", "COM10", "LPT0", "NULL", "aux_data", "COM", "PRN1"]
    variants = [v for n in names for v in (n, n.lower(), n + ".txt", n + " .log", n.title())]
    for name in variants:
        ours = any(p.code.endswith("reserved_name") for p in validate_windows_path("D:\\" + name))
        assert ours == PureWindowsPath(name).is_reserved(), name


def test_absolute_paths_agree_with_pathlib() -> None:
    root_codes = ("relative", "root_relative", "drive_relative", "unc_incomplete")
    for text in [*VALID, r"\\server\share\x", "OMERO", r"\OMERO", "D:OMERO", r"\\server"]:
        ours = not any(p.code.endswith(root_codes) for p in validate_windows_path(text))
        assert ours == PureWindowsPath(text).is_absolute(), text


def test_normalise() -> None:
    assert normalise_windows_path("D:/a/b/") == r"D:\a\b"
    assert normalise_windows_path("D:/") == "D:\\"
    assert normalise_windows_path("D:\\") == "D:\\"
    assert normalise_windows_path("//host/share/") == r"\\host\share"
    assert normalise_windows_path("\\\\?\\D:\\") == "\\\\?\\D:\\"
    assert normalise_windows_path("\\\\?\\D:/x") == "\\\\?\\D:/x"  # Windows keeps / there


def test_looks_like_windows_path() -> None:
    assert all(map(looks_like_windows_path, [r"D:\OMERO", "d:/omero", r"\\srv\share", "D:"]))
    assert not any(map(looks_like_windows_path, ["/OMERO", "//srv/x", "OMERO", "./D:"]))


# --------------------------------------------------------------- models of the parsers


def ice_property_value(text: str) -> str:
    """The value part of Ice's PropertiesI::parseLine, as IceGrid's config file is read."""
    value, whitespace, escaped = "", "", ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            i += 1
            ch = text[i]
            if ch == " ":
                whitespace += ch
                escaped += ch
            else:
                value += whitespace if value else escaped
                whitespace = escaped = ""
                value += ch if ch in "\\#=" else "\\" + ch
        elif ch in " \t\r\n":
            whitespace += ch if value else ""
        elif ch == "#":
            break  # the rest of the line is a comment
        else:
            value += (whitespace if value else escaped) + ch
            whitespace = escaped = ""
        i += 1
    return value + escaped


def cmd_percent(line: str, resume_after_first: bool) -> str:
    """cmd.exe's %VAR% expansion at the prompt, in the most hostile environment: every
    name is defined except one that starts with a double quote, which `set` cannot make.
    An undefined name is left as written; Windows versions differ in where the scan
    resumes, so both are modelled."""
    out, i = [], 0
    while i < len(line):
        end = line.find("%", i + 1) if line[i] == "%" else -1
        if end == -1:
            out.append(line[i])
            i += 1
        elif line[i + 1 : end] and not line[i + 1].startswith('"'):
            out.append("<EXPANDED>")
            i = end + 1
        else:
            out.append("%" if resume_after_first else line[i : end + 1])
            i = i + 1 if resume_after_first else end + 1
    return "".join(out)


def cmd_phase2(line: str) -> str:
    """cmd.exe's quote and caret pass: outside quotes & | < > would end the command."""
    out, quoted, i = [], False, 0
    while i < len(line):
        ch = line[i]
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "^":
            i += 1
            ch = line[i]
        elif not quoted:
            assert ch not in "&|<>", f"cmd.exe would act on {ch!r} in {line}"
        out.append(ch)
        i += 1
    return "".join(out)


def crt_argv(line: str) -> list[str]:
    """The Microsoft C runtime's (2008+) split of a command line into argv."""
    args, i = [], 0
    while True:
        while i < len(line) and line[i] in " \t":
            i += 1
        if i >= len(line):
            return args
        arg, quoted = [], False
        while i < len(line) and (quoted or line[i] not in " \t"):
            if line[i] == "\\":
                j = i
                while j < len(line) and line[j] == "\\":
                    j += 1
                before_quote = j < len(line) and line[j] == '"'
                arg.append("\\" * ((j - i) // 2 if before_quote else j - i))
                if before_quote and (j - i) % 2:
                    arg.append('"')
                    j += 1
                i = j
            elif line[i] == '"':
                if quoted and line[i + 1 : i + 2] == '"':
                    arg.append('"')
                    i += 1
                else:
                    quoted = not quoted
                i += 1
            else:
                arg.append(line[i])
                i += 1
        args.append("".join(arg))


PS_QUOTES = "'\u2018\u2019\u201a\u201b"


def powershell_tokens(line: str) -> list[str]:
    """PowerShell's argument-mode tokens: bare words and '...' strings (quote doubled)."""
    tokens, i = [], 0
    if line.startswith("& "):
        i = 2  # the call operator, for a quoted program
    while i < len(line):
        if line[i] == " ":
            i += 1
        elif line[i] in PS_QUOTES:
            buf, i = [], i + 1
            while True:
                assert i < len(line), f"unterminated string in {line}"
                if line[i] in PS_QUOTES and line[i + 1 : i + 2] and line[i + 1] in PS_QUOTES:
                    buf.append(line[i + 1])
                    i += 2
                elif line[i] in PS_QUOTES:
                    i += 1
                    break
                else:
                    buf.append(line[i])
                    i += 1
            assert line[i : i + 1] in ("", " "), f"text glued to a string in {line}"
            tokens.append("".join(buf))
        else:
            end = line.find(" ", i)
            word = line[i : None if end == -1 else end]
            assert not set(word) & set('$`@(){};,|&<>#"' + PS_QUOTES), word
            tokens.append(word)
            i += len(word)
    return tokens
