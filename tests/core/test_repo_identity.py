"""The repository identity file: Java writeUTF bytes and the .omero directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from omero_tui.core.layout.identity import (
    decode_repo_uuid,
    encode_repo_uuid,
    read_identity,
)

UUID = "3b2c6d5e-1f1a-4b8e-9c6d-2a7b8c9d0e1f"
DB = "8f0c2c8e-6b36-4b8c-9e87-0d3b1c2a4f5e"


def write_identity(repo: Path, db_uuid: str = DB, data: bytes | None = None) -> Path:
    db_dir = repo / ".omero" / "repository" / db_uuid
    db_dir.mkdir(parents=True)
    (db_dir / "repo_uuid").write_bytes(encode_repo_uuid(UUID) if data is None else data)
    return db_dir


# --- writeUTF bytes ---------------------------------------------------------------


def test_uuid_is_length_prefixed_ascii() -> None:
    data = encode_repo_uuid(UUID)
    assert data[:2] == (36).to_bytes(2, "big")
    assert data[2:] == UUID.encode("ascii")
    assert decode_repo_uuid(data) == UUID


def test_modified_utf8_matches_java_bytes() -> None:
    # What Java's DataOutputStream.writeUTF("A\u0000é😀") writes: NUL as C0 80, the
    # emoji as two 3-byte surrogates, never a 4-byte sequence.
    java = bytes.fromhex("000b41c080c3a9eda0bdedb880")
    assert encode_repo_uuid("A\x00é😀") == java
    assert decode_repo_uuid(java) == "A\x00é😀"


@pytest.mark.parametrize("text", ["", "中文-uuid", "\u07ff\u0800\uffff", "x" * 1000])
def test_round_trip(text: str) -> None:
    assert decode_repo_uuid(encode_repo_uuid(text)) == text


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "too short"),
        (b"\x00", "too short"),
        (b"\x00\x05abc", "truncated"),
        (b"\x00\x02abc", "unexpected bytes"),
        (b"\x00\x04\xf0\x9f\x98\x80", "malformed"),  # 4-byte UTF-8 is not modified UTF-8
        (b"\x00\x01\x80", "malformed"),  # a stray continuation byte
        (b"\x00\x02\xc3\x41", "malformed"),  # a bad continuation byte
        (b"\x00\x01\xc3", "malformed"),  # a sequence cut short by the length
        (b"\x00\x03\xed\xa0\xbd", "surrogate"),  # half of a pair
    ],
)
def test_decode_rejects_bad_data(data: bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        decode_repo_uuid(data)


def test_encode_refuses_what_writeutf_cannot_write() -> None:
    with pytest.raises(ValueError):
        encode_repo_uuid("é" * 40000)  # 80000 bytes


# --- the .omero directory ------------------------------------------------------------


def test_no_identity_is_an_empty_tuple(tmp_path: Path) -> None:
    identity = read_identity(tmp_path, "data dir")
    assert identity.entries == ()
    assert identity.error is None
    assert identity.role == "data dir"
    assert identity.repo_dir == str(tmp_path)


def test_missing_repo_dir_does_not_raise(tmp_path: Path) -> None:
    assert read_identity(tmp_path / "nowhere", "data dir").entries == ()


def test_reads_uuid_and_lock_files(tmp_path: Path) -> None:
    db_dir = write_identity(tmp_path)
    (db_dir / ".lock").write_bytes(b"")
    (db_dir / "other.lock").write_bytes(b"")
    (db_dir / "unrelated").write_bytes(b"")
    identity = read_identity(tmp_path, "managed dir")
    (entry,) = identity.entries
    assert entry.db_uuid == DB
    assert entry.repo_uuid == UUID
    assert entry.error is None
    assert entry.lock_files == (str(db_dir / ".lock"), str(db_dir / "other.lock"))


def test_several_databases_are_sorted_and_files_ignored(tmp_path: Path) -> None:
    write_identity(tmp_path, "b-db")
    write_identity(tmp_path, "a-db")
    (tmp_path / ".omero" / "repository" / "stray-file").write_text("x")
    identity = read_identity(tmp_path, "data dir")
    assert [e.db_uuid for e in identity.entries] == ["a-db", "b-db"]


def test_corrupt_and_missing_repo_uuid_become_errors(tmp_path: Path) -> None:
    write_identity(tmp_path, "corrupt", data=b"\x00\x24short")
    (tmp_path / ".omero" / "repository" / "empty-dir").mkdir()
    write_identity(tmp_path, "zero-length", data=encode_repo_uuid(""))
    entries = {e.db_uuid: e for e in read_identity(tmp_path, "data dir").entries}
    assert entries["corrupt"].repo_uuid is None
    assert "corrupt repo_uuid" in (entries["corrupt"].error or "")
    assert entries["empty-dir"].error == "no repo_uuid file"
    assert "empty" in (entries["zero-length"].error or "")
    assert not any(e.denied for e in entries.values())


def test_repository_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / ".omero").mkdir()
    (tmp_path / ".omero" / "repository").write_text("not a directory")
    identity = read_identity(tmp_path, "data dir")
    assert identity.entries == ()
    assert "not a directory" in (identity.error or "")


def test_repo_uuid_that_is_a_directory(tmp_path: Path) -> None:
    db_dir = tmp_path / ".omero" / "repository" / DB
    (db_dir / "repo_uuid").mkdir(parents=True)
    (entry,) = read_identity(tmp_path, "data dir").entries
    assert entry.repo_uuid is None
    assert entry.error and "cannot read" in entry.error


@pytest.mark.skipif(
    getattr(os, "geteuid", lambda: -1)() == 0, reason="root reads everything: no permission error"
)
def test_permission_denied_is_marked(tmp_path: Path) -> None:
    db_dir = write_identity(tmp_path)
    (db_dir / "repo_uuid").chmod(0)
    (entry,) = read_identity(tmp_path, "data dir").entries
    assert entry.denied
    assert "permission denied" in (entry.error or "")
