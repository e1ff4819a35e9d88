"""Our config.xml against OMERO's own ConfigXml (omero-py ``omero/config.py``).

omero-py needs Ice, so it is not installed: its published archive is downloaded once
(cached) and only ``omero/config.py`` and the pure-Python ``omero_ext/path.py`` it
imports are loaded, under a stand-in ``omero_ext`` package, so ``omero/__init__.py``
never runs. Its other imports (portalocker, stdlib) are the real ones.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tarfile
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import portalocker
import pytest

from omero_tui.core.config.lock import exclusive_lock
from omero_tui.core.config.xml_file import (
    ACTIVE,
    ConfigError,
    ConfigLockedError,
    parse_config,
    read_config,
    render_config,
    with_changes,
    write_config,
)
from omero_tui.core.config.xml_losses import save_losses
from tests.core.test_config_xml_losses import ADMIN_EDITED

pytestmark = pytest.mark.xdist_group("omero_compat")  # one worker downloads and loads it

# Copies of ../shared/reference/config-samples (written by OMERO itself), kept in the repo
# so the round-trip tests never skip on a machine without shared/.
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "config-samples"
STAMP = re.compile(rb"generated at [^\n]* by the OmeroConfig")
WANTED = {"config.py": "omero/config.py", "path.py": "omero_ext/path.py"}
ODD = 'a&b <c> "q" \ttab\nnl\r\ncr \\\\srv\\x é 日本 ${x}'


def untimed(data: bytes) -> bytes:
    return STAMP.sub(b"generated at <time> by the OmeroConfig", data)


# ------------------------------------------------------------ fetching OMERO's code


def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = Path.home() / ".cache" / "omero-tui-tests"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        return cache
    except OSError:
        return tmp_path_factory.getbasetemp() / "omero-py-cache"


def find_archive(cache: Path) -> Path | None:
    found = sorted(cache.glob("omero_py-*.whl")) or sorted(cache.glob("omero[-_]py-*.tar.gz"))
    return found[-1] if found else None


def download(cache: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":none:"]
    command += ["--retries", "0", "--timeout", "15", "omero-py", "-d", str(cache)]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    try:
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=180
        )
    except subprocess.TimeoutExpired:
        skip("pip download omero-py timed out (offline?)")
    archive = find_archive(cache)
    if done.returncode != 0 or archive is None:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        skip(f"pip download omero-py failed (offline?): {last}")
    return archive


def skip(reason: str) -> None:
    print(f"skipping OMERO compatibility tests: {reason}")
    pytest.skip(reason)


def extract(archive: Path, target: Path) -> dict[str, Path]:
    """Write OMERO's two modules out of the wheel or sdist, nothing else."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            blobs = {name: wheel.read(member) for name, member in WANTED.items()}
    else:
        with tarfile.open(archive) as sdist:
            members = {m.name: m for m in sdist.getmembers()}
            blobs = {}
            for name, member in WANTED.items():
                # The sdist has had its sources under src/ and under target/.
                found = [n for n in members if n.endswith(f"/{member}")]
                assert found, f"{member} is not in {archive.name}: its layout changed"
                match = members[min(found, key=len)]
                reader = sdist.extractfile(match)
                assert reader is not None
                blobs[name] = reader.read()
    paths = {}
    for name, blob in blobs.items():
        paths[name] = target / name
        paths[name].write_bytes(blob)
    return paths


def load_module(name: str, source: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_omero_config(sources: dict[str, Path]) -> types.ModuleType:
    """omero/config.py with ``import omero_ext.path`` served from a stand-in package."""
    names = ("omero_ext", "omero_ext.path", "omero_compat_config")
    saved = {name: sys.modules.get(name) for name in names}
    try:
        stand_in = types.ModuleType("omero_ext")
        stand_in.__path__ = []  # a package, so "omero_ext.path" resolves
        sys.modules["omero_ext"] = stand_in
        stand_in.path = load_module("omero_ext.path", sources["path.py"])  # type: ignore[attr-defined]
        return load_module("omero_compat_config", sources["config.py"])
    finally:
        for name, module in saved.items():  # leave sys.modules as we found it
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


@pytest.fixture(scope="session")
def omero_config(tmp_path_factory: pytest.TempPathFactory) -> types.ModuleType:
    cache = cache_dir(tmp_path_factory)
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".download.lock", "a+") as guard:
        portalocker.lock(guard, portalocker.LOCK_EX)  # other test runs share the cache
        archive = find_archive(cache) or download(cache)
    target = tmp_path_factory.mktemp("omero-py")
    return load_omero_config(extract(archive, target))


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv("OMERO_CONFIG", raising=False)  # ConfigXml reads os.environ
    yield tmp_path


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def omero_view(cfg: Any, names: list[str]) -> dict[str, dict[str, str]]:
    return {name: cfg.props_to_dict(cfg.properties(name)) for name in names}


# -------------------------------------------------------------------------- the tests


CASES = [
    ("linux-full.xml", None, {"omero.db.name": "renamed", "omero.web.prefix": None}),
    ("two-profiles.xml", "staging", {"omero.data.dir": "/s2", "omero.odd": ODD}),
    ("two-profiles.xml", "qa", {"omero.data.dir": "/qa"}),  # a new profile
    ("windows-escaped.xml", None, {"omero.data.dir": "E:\\\\OMERO"}),
    ("linux-default.xml", None, {"omero.data.dir": None}),
]


@pytest.mark.parametrize(("name", "profile", "changes"), CASES)
def test_omero_reads_what_we_write(
    omero_config: types.ModuleType,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    profile: str | None,
    changes: dict[str, str | None],
) -> None:
    path = config_dir / "config.xml"
    path.write_bytes(sample(name))
    env = {"OMERO_CONFIG": profile} if profile else {}
    ours = write_config(path, changes, env=env).after
    written = path.read_bytes()
    if profile:
        monkeypatch.setenv("OMERO_CONFIG", profile)
    cfg = omero_config.ConfigXml(str(path), exclusive=False, read_only=True)
    try:
        names = [ACTIVE, *ours.profile_names()]
        assert omero_view(cfg, names) == {n: ours.properties(n) for n in names}
        assert [k for k, _ in cfg.properties(None, True)] == ours.profile_names()
        assert cfg.as_map() == ours.properties(ours.profile_for(env))
    finally:
        cfg.close()
    assert path.read_bytes() == written


@pytest.mark.parametrize(("name", "profile", "changes"), CASES)
def test_we_read_what_omero_writes(
    omero_config: types.ModuleType,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    profile: str | None,
    changes: dict[str, str | None],
) -> None:
    path = config_dir / "config.xml"
    original = sample(name)
    path.write_bytes(original)
    if profile:
        monkeypatch.setenv("OMERO_CONFIG", profile)
    cfg = omero_config.ConfigXml(str(path))
    for key, value in changes.items():
        if value is None:
            del cfg[key]
        else:
            cfg[key] = value
    cfg.close()
    doc = read_config(path)
    before = parse_config(original)
    expected = with_changes(before, before.profile_for({"OMERO_CONFIG": profile or ""}), changes)
    assert doc == expected
    assert untimed(path.read_bytes()) == untimed(render_config(expected))  # same bytes


def test_new_file_same_as_omero(
    omero_config: types.ModuleType, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs, ours = config_dir / "theirs" / "config.xml", config_dir / "ours" / "config.xml"
    theirs.parent.mkdir()
    ours.parent.mkdir()
    monkeypatch.setenv("OMERO_CONFIG", "prod")
    cfg = omero_config.ConfigXml(str(theirs))
    cfg["omero.data.dir"] = "/d"
    cfg.close()
    write_config(ours, {"omero.data.dir": "/d"}, env={"OMERO_CONFIG": "prod"})
    assert untimed(ours.read_bytes()) == untimed(theirs.read_bytes())


def test_lock_interoperates(omero_config: types.ModuleType, config_dir: Path) -> None:
    path = config_dir / "config.xml"
    path.write_bytes(sample("linux-default.xml"))
    cfg = omero_config.ConfigXml(str(path))  # holds config.xml.lock, as the CLI does
    try:
        with pytest.raises(ConfigLockedError, match=f"pid {os.getpid()}"):
            write_config(path, {"omero.a": "1"}, env={}, lock_timeout=0.3)
    finally:
        cfg.close()
    ours_held = exclusive_lock(config_dir / "config.xml.lock", timeout=1)
    with ours_held, pytest.raises(portalocker.LockException):
        omero_config.ConfigXml(str(path))
    write_config(path, {"omero.a": "1"}, env={}, lock_timeout=1)
    assert read_config(path).properties("default")["omero.a"] == "1"


def test_omero_drops_what_the_plan_says_a_rewrite_drops(
    omero_config: types.ModuleType, config_dir: Path
) -> None:
    theirs, ours = config_dir / "theirs" / "config.xml", config_dir / "ours" / "config.xml"
    for path in (theirs, ours):
        path.parent.mkdir()
        path.write_bytes(ADMIN_EDITED)
    assert save_losses(ADMIN_EDITED)  # named in the plan
    cfg = omero_config.ConfigXml(str(theirs))
    cfg["omero.data.dir"] = "/data/OMERO"
    cfg.close()
    write_config(ours, {"omero.data.dir": "/data/OMERO"}, env={})
    assert untimed(ours.read_bytes()) == untimed(theirs.read_bytes())
    assert b"ticket 4711" not in theirs.read_bytes() and b"owner=" not in theirs.read_bytes()


def test_omero_keeps_a_profiles_own_attributes_so_we_refuse_them(
    omero_config: types.ModuleType, config_dir: Path
) -> None:
    path = config_dir / "config.xml"
    path.write_bytes(
        ADMIN_EDITED.replace(b'<properties id="default">', b'<properties id="default" x="1">')
    )
    cfg = omero_config.ConfigXml(str(path))
    cfg["omero.data.dir"] = "/data/OMERO"
    cfg.close()
    assert b'<properties id="default" x="1">' in path.read_bytes()  # OMERO kept it
    with pytest.raises(ConfigError, match="unexpected attribute 'x'"):
        read_config(path)
