"""config.xml: parse, regenerate and write it exactly as OMERO does, on real temp files."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from omero_tui.core.config.xml_file import (
    ACTIVE,
    PROFILE_KEY,
    VERSION_KEY,
    ConfigDocument,
    ConfigError,
    ConfigFormatError,
    new_config,
    parse_config,
    read_config,
    render_config,
    validate_key,
    with_changes,
    write_config,
)

# Copies of ../shared/reference/config-samples (written by OMERO itself), kept in the repo
# so the round-trip tests never skip on a machine without shared/.
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "config-samples"
STAMP = re.compile(rb"generated at [^\n]* by the OmeroConfig")
NO_ENV: dict[str, str] = {}


def samples() -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    return sorted(SAMPLES.glob("*.xml"))


def sample(name: str) -> bytes:
    path = SAMPLES / name
    return path.read_bytes()


def untimed(data: bytes) -> bytes:
    return STAMP.sub(b"generated at <time> by the OmeroConfig", data)


def config_file(tmp_path: Path, name: str = "linux-full.xml") -> Path:
    path = tmp_path / "config.xml"
    path.write_bytes(sample(name))
    return path


BACKUP = re.compile(r"config\.xml\.bak-\d{8}T\d{6}Z(-\d+)?")


def leftovers(directory: Path) -> list[str]:
    """Files a write must not leave behind: anything but config.xml and its backups."""
    names = (p.name for p in directory.iterdir())
    return sorted(n for n in names if n != "config.xml" and not BACKUP.fullmatch(n))


# ------------------------------------------------------------------ samples round trip


def test_all_reference_samples_are_in_the_repo() -> None:
    assert len(samples()) == 5, f"expected OMERO's 5 reference samples in {SAMPLES}"


@pytest.mark.parametrize("path", samples(), ids=lambda p: p.name)
def test_samples_round_trip_byte_identical(path: Path) -> None:
    data = path.read_bytes()
    doc = parse_config(data)
    rendered = render_config(doc)
    assert untimed(rendered) == untimed(data)
    assert rendered != untimed(rendered)  # the comment really carries a fresh time
    again = parse_config(rendered)
    assert again == doc
    stored = doc.properties(doc.stored_profile)
    active = {k: v for k, v in doc.active_block if k not in (PROFILE_KEY,)}
    assert active == stored


def test_sample_values() -> None:
    full = parse_config(sample("linux-full.xml"))
    props = full.properties(full.profile_for(NO_ENV))
    assert props["omero.data.dir"] == "/srv/omero-data"
    assert props["omero.fs.repo.path"] == "%user%_%userId%//%year%-%month%/%day%/%time%"
    assert props[VERSION_KEY] == "5.1.0"
    empty = parse_config(sample("empty-after-delete.xml"))
    assert empty.properties("default") == {VERSION_KEY: "5.1.0"}


def test_windows_paths_stay_escaped(tmp_path: Path) -> None:
    path = config_file(tmp_path, "windows-escaped.xml")
    doc = read_config(path)
    assert doc.properties("default")["omero.data.dir"] == "D:\\\\OMERO"  # two backslashes
    write_config(path, {"omero.db.name": "omero"}, env=NO_ENV)
    assert b'value="D:\\\\OMERO\\\\ManagedRepository"' in path.read_bytes()
    assert read_config(path).properties("default")["omero.data.dir"] == "D:\\\\OMERO"


def test_two_profiles_staging_untouched(tmp_path: Path) -> None:
    path = config_file(tmp_path, "two-profiles.xml")
    before = read_config(path)
    assert before.profile_names() == ["default", "staging"]
    assert before.profile_for({"OMERO_CONFIG": "staging"}) == "staging"
    assert before.profile_for({"OMERO_CONFIG": ""}) == "default"
    write_config(path, {"omero.data.dir": "/new"}, env=NO_ENV)
    after = read_config(path)
    assert after.properties("staging") == before.properties("staging")
    assert after.properties("default")["omero.data.dir"] == "/new"
    assert dict(after.active_block)["omero.data.dir"] == "/new"


# ---------------------------------------------------------------------------- changes


def test_set_in_place_keeps_order(tmp_path: Path) -> None:
    path = config_file(tmp_path)
    before = read_config(path)
    result = write_config(path, {"omero.db.name": "renamed", "omero.new.key": "x"}, env=NO_ENV)
    after = read_config(path)
    assert after == result.after and result.before == before
    keys_before = list(before.properties("default"))
    assert list(after.properties("default")) == [*keys_before, "omero.new.key"]
    assert after.properties("default")["omero.db.name"] == "renamed"
    assert after.active_block == (
        (PROFILE_KEY, "default"),
        *[(k, v) for k, v in dict(after.profiles)["default"]],
    )


def test_delete(tmp_path: Path) -> None:
    path = config_file(tmp_path, "linux-default.xml")
    write_config(path, {"omero.data.dir": None}, env=NO_ENV)
    assert untimed(path.read_bytes()) == untimed(sample("empty-after-delete.xml"))
    write_config(path, {"omero.absent": None}, env=NO_ENV)  # deleting nothing is fine
    assert read_config(path).properties("default") == {VERSION_KEY: "5.1.0"}


def test_omero_config_selects_profile_but_active_mirrors_stored(tmp_path: Path) -> None:
    path = config_file(tmp_path, "two-profiles.xml")
    env = {"OMERO_CONFIG": "staging"}
    write_config(path, {"omero.data.dir": "/staging2"}, env=env)
    doc = read_config(path)
    assert doc.stored_profile == "default"
    assert doc.properties("staging")["omero.data.dir"] == "/staging2"
    assert doc.properties("default")["omero.data.dir"] == "/OMERO"
    assert dict(doc.active_block)["omero.data.dir"] == "/OMERO"


def test_new_profile_via_omero_config(tmp_path: Path) -> None:
    path = config_file(tmp_path, "two-profiles.xml")
    write_config(path, {"omero.data.dir": "/qa"}, env={"OMERO_CONFIG": "qa"})
    doc = read_config(path)
    assert doc.profile_names() == ["default", "staging", "qa"]
    assert doc.properties("qa") == {VERSION_KEY: "5.1.0", "omero.data.dir": "/qa"}
    assert dict(doc.active_block)["omero.data.dir"] == "/OMERO"


def test_stored_profile_without_block_gets_one_after_active() -> None:
    doc = ConfigDocument("default", (("other", ((VERSION_KEY, "5.1.0"),)),), ())
    rendered = render_config(doc).decode()
    order = re.findall(r'<properties id="([^"]+)"', rendered)
    assert order == [ACTIVE, "default", "other"]
    assert parse_config(rendered) == with_changes(doc, "other", {})


def test_with_changes_is_pure_and_duplicates_collapse() -> None:
    text = (
        '<icegrid><properties id="default"><property name="a" value="1" />'
        '<property name="b" value="2" /><property name="a" value="3" /></properties></icegrid>'
    )
    doc = parse_config(text)
    assert doc.properties("default") == {"a": "3", "b": "2"}  # last wins, as in OMERO
    changed = with_changes(doc, "default", {"a": "9"})
    assert doc.properties("default")["a"] == "3"
    assert dict(changed.profiles)["default"] == (("a", "9"), ("b", "2"))


def test_special_values_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "config.xml"
    value = "a&b <c> \"d\" 'e'\ttab\nline\r\ncr é 日本 \U0001f600 ${x} @{y}"
    result = write_config(path, {"omero.odd": value}, env=NO_ENV)
    assert result.backup is None
    assert read_config(path).properties("default")["omero.odd"] == value
    assert b"\n" not in path.read_bytes().split(b"-->", 1)[1]  # still one line


def test_new_file_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "config.xml"
    with pytest.raises(ConfigError, match="not found"):
        read_config(path)
    write_config(path, {"omero.data.dir": "/d"}, env={"OMERO_CONFIG": "prod"})
    doc = read_config(path)
    assert doc.stored_profile == "prod" and doc.profile_names() == ["prod"]
    empty = tmp_path / "empty" / "config.xml"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    assert read_config(empty) == new_config()
    result = write_config(empty, {"omero.data.dir": "/e"}, env=NO_ENV)
    assert result.backup is not None and result.backup.read_bytes() == b""
    assert read_config(empty).properties("default")["omero.data.dir"] == "/e"
    with pytest.raises(ConfigError, match="directory not found"):
        write_config(tmp_path / "nowhere" / "config.xml", {"a": "b"}, env=NO_ENV)


# ---------------------------------------------------------------- backups and safety


def test_backup_equals_old_file_and_no_temp_left(tmp_path: Path) -> None:
    path = config_file(tmp_path)
    path.chmod(0o640)
    old = path.read_bytes()
    os.utime(path, (1_000_000_000, 1_000_000_000))
    first = write_config(path, {"omero.db.name": "one"}, env=NO_ENV)
    between = path.read_bytes()
    second = write_config(path, {"omero.db.name": "two"}, env=NO_ENV)
    assert first.backup is not None and second.backup is not None
    assert first.backup != second.backup  # unique even within one second
    assert BACKUP.fullmatch(first.backup.name) and BACKUP.fullmatch(second.backup.name)
    assert first.backup.read_bytes() == old
    assert first.backup.stat().st_mtime == 1_000_000_000  # copied with its metadata
    assert second.backup.read_bytes() == between
    assert read_config(second.backup) == first.after
    assert path.stat().st_mode & 0o777 == 0o640  # the server keeps the access it had
    assert leftovers(tmp_path) == []


def test_expect_refuses_concurrent_change(tmp_path: Path) -> None:
    path = config_file(tmp_path)
    seen = read_config(path)
    write_config(path, {"omero.db.name": "by-someone-else"}, env=NO_ENV)
    changed = path.read_bytes()
    with pytest.raises(ConfigError, match="changed since it was read; nothing written"):
        write_config(path, {"omero.db.name": "mine"}, env=NO_ENV, expect=seen)
    assert path.read_bytes() == changed
    ok = write_config(path, {"omero.db.name": "mine"}, env=NO_ENV, expect=read_config(path))
    assert ok.after.properties("default")["omero.db.name"] == "mine"
    path.write_bytes(b"")  # an empty file reads as new, whatever OMERO_CONFIG says
    write_config(path, {"omero.a": "1"}, env={"OMERO_CONFIG": "x"}, expect=read_config(path))
    assert read_config(path).properties("x")["omero.a"] == "1"
    path.unlink()
    with pytest.raises(ConfigError, match="changed since it was read"):
        write_config(path, {"omero.a": "1"}, env=NO_ENV, expect=new_config())
    assert not path.exists()


@pytest.mark.parametrize(
    "key", ["", "bad key", "omero.data.dir=", "caf\u00e9", "a/b", "x\n", "omero.data.dir\n"]
)
def test_bad_key_names(tmp_path: Path, key: str) -> None:
    path = config_file(tmp_path)
    old = path.read_bytes()
    with pytest.raises(ConfigError) as info:
        write_config(path, {key: "v"}, env=NO_ENV)
    assert "\n" not in str(info.value) and "invalid property name" in str(info.value)
    with pytest.raises(ConfigError):
        validate_key(key)
    assert path.read_bytes() == old and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"omero.x": "nul\x00"}, "XML cannot store"),
        ({"omero.x": "bell\x07"}, "XML cannot store"),
        ({"omero.x": "\ufffe"}, "XML cannot store"),
        ({"omero.x": "lone \ud800"}, "XML cannot store"),
        ({VERSION_KEY: "5.2.0"}, "managed by OMERO"),
        ({PROFILE_KEY: "staging"}, "managed by OMERO"),
        ({PROFILE_KEY: None}, "managed by OMERO"),
    ],
)
def test_refused_values(tmp_path: Path, changes: dict[str, str | None], match: str) -> None:
    path = config_file(tmp_path)
    old = path.read_bytes()
    with pytest.raises(ConfigError, match=match):
        write_config(path, changes, env=NO_ENV)
    assert path.read_bytes() == old


def test_refused_profiles() -> None:
    for profile in ("", ACTIVE, "bad\x01"):
        with pytest.raises(ConfigError, match="invalid profile name"):
            with_changes(new_config(), profile, {"a": "b"})


MALFORMED = {
    "not-xml": (b"<icegrid><properties id='default'>", "not well-formed"),
    "whitespace": (b"  \n", "not well-formed"),
    "root": (b"<config />", "root element is <config>"),
    "namespaced-root": (b'<icegrid xmlns="urn:x" />', "not <icegrid>"),
    "child": (b"<icegrid><server /></icegrid>", "unexpected element <server>"),
    "no-id": (b"<icegrid><properties /></icegrid>", "has no id"),
    "duplicate": (
        b'<icegrid><properties id="a" /><properties id="a" /></icegrid>',
        "profile 'a' twice",
    ),
    "two-active": (
        b'<icegrid><properties id="__ACTIVE__" /><properties id="__ACTIVE__" /></icegrid>',
        "more than one __ACTIVE__",
    ),
    "no-name": (
        b'<icegrid><properties id="a"><property value="1" /></properties></icegrid>',
        "no name",
    ),
    "odd-attribute": (
        b'<icegrid><properties id="a"><property name="x" value="1" note="n" />'
        b"</properties></icegrid>",
        "unexpected attribute 'note'",
    ),
    "odd-property": (
        b'<icegrid><properties id="a"><entry name="x" /></properties></icegrid>',
        "unexpected element <entry>",
    ),
    "old-version": (
        b'<icegrid><properties id="default"><property name="omero.config.version" value="4.2.1" />'
        b"</properties></icegrid>",
        "run `omero config` from the server's own CLI",
    ),
    "old-active": (
        b'<icegrid><properties id="__ACTIVE__">'
        b'<property name="omero.config.version" value="4.2.0" />'
        b"</properties></icegrid>",
        "'__ACTIVE__' has version '4.2.0'",
    ),
    "empty-stored": (
        b'<icegrid><properties id="__ACTIVE__"><property name="omero.config.profile" value="" />'
        b"</properties></icegrid>",
        "invalid profile",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_refused_and_untouched(tmp_path: Path, case: str) -> None:
    data, match = MALFORMED[case]
    path = tmp_path / "config.xml"
    path.write_bytes(data)
    os.utime(path, (1_000_000_000, 1_000_000_000))
    with pytest.raises(ConfigFormatError, match=re.escape(match)) as info:
        write_config(path, {"omero.data.dir": "/x"}, env=NO_ENV)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    with pytest.raises(ConfigFormatError):
        read_config(path)
    assert path.read_bytes() == data and path.stat().st_mtime == 1_000_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.xml"]


def test_tolerated_like_omero() -> None:
    # OMERO reads these and regenerates them cleanly: comments, whitespace, missing
    # __ACTIVE__, missing value, a block without a version, __ACTIVE__ out of place.
    text = (
        b'<icegrid>\n  <!-- hand edit -->\n  <properties id="default">\n'
        b'    <property name="omero.a" />\n  </properties>\n'
        b'  <include file="other.xml" />\n</icegrid>\n'
    )
    doc = parse_config(text)
    assert doc.stored_profile == "default" and doc.active_block == ()
    assert doc.properties("default") == {"omero.a": ""}
    assert parse_config(render_config(doc)).properties(ACTIVE) == {
        PROFILE_KEY: "default",
        VERSION_KEY: "5.1.0",
        "omero.a": "",
    }
    assert b'<include file="templates.xml" /></icegrid>' in render_config(doc)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_directory_and_file(tmp_path: Path) -> None:
    path = config_file(tmp_path)
    old = path.read_bytes()
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(ConfigError, match="Permission denied") as info:
            write_config(path, {"omero.db.name": "x"}, env=NO_ENV)
        assert "\n" not in str(info.value)
    finally:
        tmp_path.chmod(0o755)
    assert path.read_bytes() == old
    path.chmod(0o444)
    with pytest.raises(ConfigError, match="read-only"):
        write_config(path, {"omero.db.name": "x"}, env=NO_ENV)
    assert path.read_bytes() == old and leftovers(tmp_path) == []


def test_os_errors_are_one_line(tmp_path: Path) -> None:
    # Real filesystem failures that also happen as root: the lock file is a directory,
    # config.xml is a directory.
    path = config_file(tmp_path)
    old = path.read_bytes()
    (tmp_path / "config.xml.lock").mkdir()
    with pytest.raises(ConfigError, match="cannot update .*config.xml.lock") as info:
        write_config(path, {"omero.db.name": "x"}, env=NO_ENV)
    assert "\n" not in str(info.value) and path.read_bytes() == old
    weird = tmp_path / "sub" / "config.xml"
    weird.mkdir(parents=True)
    with pytest.raises(ConfigError, match="cannot"):
        read_config(weird)
    with pytest.raises(ConfigError, match="cannot update"):
        write_config(weird, {"omero.db.name": "x"}, env=NO_ENV)
    assert not (weird.parent / "config.xml.temp").exists()
