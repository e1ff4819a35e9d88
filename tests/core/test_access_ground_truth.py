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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from omero_tui.core.perms.check import path_access
from omero_tui.core.perms.server_user import lookup_user

# useradd/userdel lock /etc/passwd and fail at once when it is taken: every test that
# makes scratch users runs on one worker (with the tests that run servers).
pytestmark = pytest.mark.xdist_group("running-servers")

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


def can_create(user: str, path: str | Path) -> bool:
    """The kernel's answer to "may the user make (and remove) an entry in this directory"."""
    probe = os.path.join(str(path), f".otui-probe-{secrets.token_hex(4)}")
    result = subprocess.run(
        ["runuser", "-u", user, "--", "mkdir", probe],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )
    if result.returncode == 0:
        os.rmdir(probe)
    return result.returncode == 0


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
    # The owner entry decides for the owner, even when a group entry of theirs has more.
    cases["acl_owner_beats_group"] = make(root / "acl_owner_beats_group", u, g, 0o070)
    setfacl("-m", f"g:{g}:rwx", str(cases["acl_owner_beats_group"]))
    # A named user entry for the owner's own uid is never consulted.
    cases["acl_owner_named_entry"] = make(root / "acl_owner_named_entry", u, f, 0o500)
    setfacl("-m", f"u:{u}:rwx", str(cases["acl_owner_named_entry"]))
    # A supplementary group's named entry, masked: the mask takes the write away.
    cases["acl_group_masked"] = make(root / "acl_group_masked", o, f, 0o700)
    setfacl("-m", f"g:{g}:rwx,m::r-x", str(cases["acl_group_masked"]))
    # A matching group entry without the right does not fall through to "other".
    cases["acl_group_no_fallthrough"] = make(root / "acl_group_no_fallthrough", o, f, 0o757)
    setfacl("-m", f"g:{g}:---", str(cases["acl_group_no_fallthrough"]))
    # ...unless the mask is empty: then Linux skips the ACL and reads the mode bits, so
    # a named group or user entry of the user's falls through to "other" after all.
    cases["acl_empty_mask_group"] = make(root / "acl_empty_mask_group", o, f, 0o707)
    setfacl("-m", f"g:{g}:---", str(cases["acl_empty_mask_group"]))
    cases["acl_empty_mask_user"] = make(root / "acl_empty_mask_user", o, f, 0o705)
    setfacl("-m", f"u:{u}:rwx,m::---", str(cases["acl_empty_mask_user"]))
    # Two matching group entries, one with w, one with x: test -w and -x pass, but no
    # single entry grants both, so no file can be made there.
    cases["acl_two_groups_no_create"] = make(root / "acl_two_groups_no_create", o, f, 0o700)
    setfacl("-m", f"g:{g}:rw-,g:{u}:r-x", str(cases["acl_two_groups_no_create"]))
    # The same split in one entry each for owning group and a named group.
    cases["acl_one_group_creates"] = make(root / "acl_one_group_creates", o, g, 0o750)
    setfacl("-m", f"g:{u}:rwx", str(cases["acl_one_group_creates"]))
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
    user = lookup_user(scratch.user)
    dirs = {n: p for n, p in cases.items() if p.is_dir() and "closed" not in n}
    creates = {
        n: (path_access(str(p), user).create, can_create(scratch.user, p)) for n, p in dirs.items()
    }
    assert {n: pair for n, pair in creates.items() if pair[0] != pair[1]} == {}
    assert {pair[1] for pair in creates.values()} == {True, False}
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
    assert kernel[str(cases["acl_owner_beats_group"])] == "---"
    assert kernel[str(cases["acl_two_groups_no_create"])] == "rwx"
    assert kernel[str(cases["acl_group_no_fallthrough"])] == "---"
    assert kernel[str(cases["acl_empty_mask_group"])] == "rwx"
    assert kernel[str(cases["acl_empty_mask_user"])] == "r-x"
    # Creating an entry: one request for write and search together.
    user = lookup_user(scratch.user)
    creates = {
        name: (path_access(str(path), user).create, can_create(scratch.user, path))
        for name, path in cases.items()
    }
    assert {name: pair for name, pair in creates.items() if pair[0] != pair[1]} == {}
    assert creates["acl_two_groups_no_create"] == (False, False)
    assert creates["acl_one_group_creates"] == (True, True)


def test_a_symlinked_directory_is_judged_by_its_target_acl(scratch: Scratch) -> None:
    if not has_setfacl():
        pytest.skip("setfacl is not installed (apt-get install acl): ACL cases not checked")
    root = make(scratch.base / "symlinked", scratch.user, scratch.user, 0o755)
    target = make(root / "target", scratch.other, scratch.group, 0o770)
    setfacl("-m", f"u:{scratch.user}:---", str(target))  # the group bits alone say rwx
    link = root / "Pixels"
    link.symlink_to(target)
    assert truth(scratch.user, link) == "---"
    assert verdict(link, scratch.user) == "---"


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


# (setpriv arguments, what the process is): a process whose capabilities differ from
# what its uid suggests, as a systemd unit or a container sets them.
CAPABILITY_CASES = {
    "root without DAC override": [
        "--bounding-set=-dac_override,-dac_read_search",
        "--inh-caps=-dac_override,-dac_read_search",
    ],
    "user with CAP_DAC_READ_SEARCH": [
        "--init-groups",
        "--inh-caps=+dac_read_search",
        "--ambient-caps=+dac_read_search",
    ],
}
# access(2), so `test -r`, drops a non-root caller's capabilities; the server opens
# files, which honours them. So here the ground truth is the operations themselves:
# read = open a file or list a directory, enter = cd, and for a directory "w" = make
# an entry (write and search together), for a file "w" = open it for appending. A
# file's execute is not tried (the server runs none), shown as "?". Each path comes
# as "d:PATH" or "f:PATH": the process itself may not even be able to tell.
_OPS = (
    'for a do k=${a%%:*}; p=${a#?:}; r=-; w=-; x=-; if [ "$k" = d ]; then'
    ' ls -f -- "$p" >/dev/null 2>&1 && r=r; (cd -- "$p") 2>/dev/null && x=x;'
    ' mkdir -- "$p/.otui-probe" 2>/dev/null && rmdir -- "$p/.otui-probe" && w=w;'
    ' else head -c 0 -- "$p" >/dev/null 2>&1 && r=r; (: >> "$p") 2>/dev/null && w=w; x="?";'
    ' fi; printf "%s%s%s\\n" "$r" "$w" "$x"; done'
)


@pytest.mark.parametrize("case", sorted(CAPABILITY_CASES))
def test_a_running_process_is_judged_by_its_capabilities(scratch: Scratch, case: str) -> None:
    """The server user of a running server carries its CapEff, as the kernel does."""
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv (util-linux) to start a process with other capabilities")
    from omero_tui.core.perms.server_user import user_of_process
    from omero_tui.core.server.processes import ServerProcess

    args = list(CAPABILITY_CASES[case])
    if case.startswith("user"):
        args = [f"--reuid={scratch.user}", f"--regid={scratch.user}", *args]
    cases = build_cases(scratch, scratch.base / f"caps-{case.split()[0]}")
    paths = [str(p) for p in cases.values()]
    # What the console says for the process's real credentials, read from /proc.
    proc = subprocess.Popen(
        ["setpriv", *args, "--", "sleep", "60"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):  # setpriv execs sleep once the credentials are set
            if Path(f"/proc/{proc.pid}/comm").read_text().strip() == "sleep":
                break
            time.sleep(0.05)
        uid = os.stat(f"/proc/{proc.pid}").st_uid
        user = user_of_process(ServerProcess(proc.pid, "sleep", "Blitz-0", None, uid, ()), "")
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert user.caps is not None
    said = {}
    for path in paths:
        access = path_access(path, user)
        is_dir = os.path.isdir(path)
        write = access.create if is_dir else access.write
        x = ("x" if access.traverse else "-") if is_dir else "?"
        said[path] = ("r" if access.read else "-") + ("w" if write else "-") + x
    result = subprocess.run(
        ["setpriv", *args, "--", "sh", "-c", _OPS, "sh"]
        + [("d:" if os.path.isdir(p) else "f:") + p for p in paths],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=True,
    )
    kernel = dict(zip(paths, result.stdout.splitlines(), strict=True))
    assert {p: (said[p], kernel[p]) for p in paths if said[p] != kernel[p]} == {}
    assert len(set(kernel.values())) > 2  # the cases still differ under these capabilities
    if case.startswith("root"):
        assert not user.identity.is_root  # no override: the verdict is not "root can do all"
