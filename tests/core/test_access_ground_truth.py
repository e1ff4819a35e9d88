"""Every access verdict against the kernel's own: ``runuser -u USER -- test -r|-w|-x PATH``.

Runs as root with real, throw-away users and groups (``otui_*``), removed at the end.
The scratch users and the tree builder are imported by the CLI and panel tests too, so
all three check the same cases against the same ground truth.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from omero_tui.core.perms_check import path_access
from omero_tui.core.server_user import lookup_user

TOOLS = ("useradd", "userdel", "groupadd", "groupdel", "runuser")


@dataclass(frozen=True)
class Scratch:
    user: str  # the "server user": member of `group`
    other: str  # another user who owns things
    group: str  # a supplementary group of `user`
    foreign: str  # a group `user` is not in
    base: Path  # a directory everyone can enter, for the trees


def skip_unless_root_with_tools() -> None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root to create scratch users (useradd) and to run runuser")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} to compare with the kernel's verdicts")


def _run(*args: str) -> None:
    subprocess.run(
        list(args), check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=30
    )


@contextlib.contextmanager
def scratch_users() -> Iterator[Scratch]:
    skip_unless_root_with_tools()
    tag = secrets.token_hex(3)
    user, other = f"otui_u{tag}", f"otui_o{tag}"
    group, foreign = f"otui_g{tag}", f"otui_f{tag}"
    made: list[tuple[str, str]] = []
    base = Path(tempfile.mkdtemp(prefix=f"otui-perms-{tag}-", dir="/tmp"))
    try:
        for name in (group, foreign):
            _run("groupadd", name)
            made.append(("groupdel", name))
        for name, extra in ((user, ["--groups", group]), (other, [])):
            _run(
                "useradd", "--no-create-home", "--user-group", "--shell", "/bin/false", *extra, name
            )
            made.append(("userdel", name))
        base.chmod(0o755)
        yield Scratch(user, other, group, foreign, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
        for tool, name in reversed(made):
            subprocess.run(
                [tool, name], capture_output=True, stdin=subprocess.DEVNULL, timeout=30, check=False
            )


def truth(user: str, path: str | Path) -> str:
    """The kernel's answer as "rwx"-style text, one ``runuser ... test`` per right."""
    text = ""
    for flag, letter in (("-r", "r"), ("-w", "w"), ("-x", "x")):
        result = subprocess.run(
            ["runuser", "-u", user, "--", "test", flag, str(path)],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
        text += letter if result.returncode == 0 else "-"
    return text


# One runuser for many paths (runuser opens a PAM session: the slow part). $0 is
# coreutils' test, run by the user for each path and right, exactly as above.
_BATCH = (
    'for p do r=; for f in -r -w -x; do if "$0" "$f" "$p"; then r="$r${f#-}";'
    ' else r="$r-"; fi; done; printf "%s\\n" "$r"; done'
)


def truths(user: str, paths: list[str] | list[Path]) -> dict[str, str]:
    """``truth`` for many paths at once: {path: "rwx"-style text}."""
    if not paths:
        return {}
    test = shutil.which("test") or "/usr/bin/test"
    result = subprocess.run(
        ["runuser", "-u", user, "--", "sh", "-c", _BATCH, test, *map(str, paths)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=True,
    )
    answers = result.stdout.splitlines()
    assert len(answers) == len(paths), result.stderr
    return dict(zip(map(str, paths), answers, strict=True))


def has_setfacl() -> bool:
    return shutil.which("setfacl") is not None


def setfacl(*args: str) -> None:
    _run("setfacl", *args)


def make(path: Path, owner: str, group: str, mode: int, *, is_dir: bool = True) -> Path:
    if is_dir:
        path.mkdir(parents=True, exist_ok=True)
    else:
        path.write_bytes(b"pixels")
    shutil.chown(path, owner, group)
    os.chmod(path, mode)  # after chown: chown clears set-id bits
    return path


def build_cases(s: Scratch, root: Path) -> dict[str, Path]:
    """One directory or file per rule of the access check; names say the case."""
    u, o, g, f = s.user, s.other, s.group, s.foreign
    make(root, u, u, 0o755)
    cases = {
        "owner_rwx": make(root / "owner_rwx", u, u, 0o700),
        "owner_rx": make(root / "owner_rx", u, u, 0o500),
        "owner_none_group_rwx": make(root / "owner_none_group_rwx", u, g, 0o070),
        "group_rwx": make(root / "group_rwx", o, g, 0o770),
        "group_rx": make(root / "group_rx", o, g, 0o750),
        "group_none_other_rwx": make(root / "group_none_other_rwx", o, g, 0o707),
        "other_rx": make(root / "other_rx", o, f, 0o705),
        "other_none": make(root / "other_none", o, f, 0o700),
        "setgid_group_rwx": make(root / "setgid_group_rwx", o, g, 0o2770),
        "world_writable": make(root / "world_writable", o, f, 0o777),
        "file_owner_rw": make(root / "file_owner_rw", u, u, 0o600, is_dir=False),
        "file_group_r": make(root / "file_group_r", o, g, 0o640, is_dir=False),
        "file_other_none": make(root / "file_other_none", o, f, 0o600, is_dir=False),
    }
    blocked = make(root / "closed", o, f, 0o700)
    cases["closed"] = blocked
    cases["below_closed"] = make(blocked / "open", u, u, 0o777)
    cases["below_group_rx"] = make(cases["group_rx"] / "mine", u, u, 0o700)
    return cases


def build_acl_cases(s: Scratch, root: Path) -> dict[str, Path]:
    u, o, g, f = s.user, s.other, s.group, s.foreign
    make(root, u, u, 0o755)
    cases = {}
    cases["acl_user_rwx"] = make(root / "acl_user_rwx", o, f, 0o700)
    setfacl("-m", f"u:{u}:rwx", str(cases["acl_user_rwx"]))
    cases["acl_user_masked"] = make(root / "acl_user_masked", o, f, 0o700)
    setfacl("-m", f"u:{u}:rwx,m::r-x", str(cases["acl_user_masked"]))
    cases["acl_group_rx"] = make(root / "acl_group_rx", o, f, 0o700)
    setfacl("-m", f"g:{g}:r-x", str(cases["acl_group_rx"]))
    cases["acl_user_beats_group"] = make(root / "acl_user_beats_group", o, g, 0o770)
    setfacl("-m", f"u:{u}:---", str(cases["acl_user_beats_group"]))
    cases["acl_groups_union"] = make(root / "acl_groups_union", o, g, 0o710)
    setfacl("-m", f"g:{u}:rw-", str(cases["acl_groups_union"]))
    cases["acl_mask_limits_group"] = make(root / "acl_mask_limits_group", o, g, 0o770)
    setfacl("-m", f"u:{o}:rwx,m::r-x", str(cases["acl_mask_limits_group"]))
    cases["acl_owner_ignores_mask"] = make(root / "acl_owner_ignores_mask", u, f, 0o700)
    setfacl("-m", f"u:{o}:rwx,m::---", str(cases["acl_owner_ignores_mask"]))
    cases["acl_other_only"] = make(root / "acl_other_only", o, f, 0o705)
    setfacl("-m", f"u:{o}:rwx", str(cases["acl_other_only"]))
    return cases


def verdict(path: Path, user: str) -> str:
    access = path_access(str(path), lookup_user(user))
    return "".join(
        c if ok else "-"
        for c, ok in (("r", access.read), ("w", access.write), ("x", access.traverse))
    )


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    with scratch_users() as s:
        yield s


def test_mode_bit_cases_match_the_kernel(scratch: Scratch) -> None:
    cases = build_cases(scratch, scratch.base / "modes")
    kernel = truths(scratch.user, list(cases.values()))
    mismatches = {
        name: (verdict(path, scratch.user), kernel[str(path)])
        for name, path in cases.items()
        if verdict(path, scratch.user) != kernel[str(path)]
    }
    assert mismatches == {}
    # The cases really cover different answers (a test that cannot fail proves nothing).
    assert set(kernel.values()) >= {"rwx", "r-x", "---", "rw-"}
    # The batched ground truth is the one-path-at-a-time one.
    assert kernel[str(cases["group_rx"])] == truth(scratch.user, cases["group_rx"])


def test_acl_cases_match_the_kernel(scratch: Scratch) -> None:
    if not has_setfacl():
        pytest.skip("setfacl is not installed (apt-get install acl): ACL cases not checked")
    cases = build_acl_cases(scratch, scratch.base / "acls")
    kernel = truths(scratch.user, list(cases.values()))
    mismatches = {
        name: (verdict(path, scratch.user), kernel[str(path)])
        for name, path in cases.items()
        if verdict(path, scratch.user) != kernel[str(path)]
    }
    assert mismatches == {}
    assert truth(scratch.user, cases["acl_user_masked"]) == "r-x"
    assert truth(scratch.user, cases["acl_user_beats_group"]) == "---"


def test_read_only_mount_denies_writing_to_everyone(scratch: Scratch) -> None:
    if shutil.which("mount") is None or shutil.which("umount") is None:
        pytest.skip("needs mount/umount to make a read-only tmpfs")
    point = make(scratch.base / "ro", scratch.user, scratch.user, 0o755)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m,mode=0777", "tmpfs", str(point)],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        assert truth(scratch.user, point) == "r-x"
        assert verdict(point, scratch.user) == "r-x"
        assert verdict(point, "root") == "r-x"  # read-only beats root too
    finally:
        subprocess.run(["umount", str(point)], capture_output=True, timeout=30, check=False)


def test_root_can_do_everything_but_run_unrunnable_files(scratch: Scratch) -> None:
    cases = build_cases(scratch, scratch.base / "root")
    for path in cases.values():
        expected = "".join(
            c if os.access(path, m) else "-"
            for c, m in (("r", os.R_OK), ("w", os.W_OK), ("x", os.X_OK))
        )
        assert verdict(path, "root") == expected, path
