"""Help for each panel and the wizard: plain words, what OMERO's documentation says, commands.

Quotations are from the OMERO.server documentation on the binary repository
(sysadmins/unix/server-binary-repository) and on moving it (sysadmins/repository-move).
"""

from __future__ import annotations

KEYS = """
## Keys everywhere

| key | does |
|---|---|
| `1`…`6` | Overview, Layout, Disk usage, Lock health, Permissions, Database |
| `w` | the relocation wizard |
| `r` | re-read the visible panel |
| `?` / `F1` | this help |
| `ctrl+p` | every action by name (command palette) |
| `q` | quit (asks first while a relocation runs) |

A footer too long for the terminal drops `q`, `w`, `r` and `ctrl+p` first: they work
all the same.
"""

HELP: dict[str, str] = {
    "tab-overview": """
# Overview

One line per area, each with its verdict and the one finding that matters most.
Enter opens the area's panel. What you see first is the last check on record (its
age is shown); a fresh check of everything cheap runs at once in the background. The
slow checks stay on their panels: a full disk-usage scan (`3`, then `s`) and the lock
probe (`4`, then `p`).

The same answer for monitoring: `omero-tui check` (exit code 0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN; `--json`, `--prometheus FILE`).
""",
    "tab-layout": """
# Layout

What is where: the data dir (`omero.data.dir`) and its subdirectories (Pixels, Files,
Thumbnails, FullText, ManagedRepository, BioFormatsCache), the managed dir
(`omero.managed.dir`) when it lives elsewhere, and the repository identity
(`.omero/repository/<database uuid>/repo_uuid`).

OMERO's documentation: the repository is *not* the database, the OMERO.server install
dir, an OMERO client's dir or the PostgreSQL data directory, and none may contain
another. The hidden `.omero` directory is how the server recognises its repository:
a move that skips it makes the server register a new, empty one.

Relevant commands: `omero config get omero.data.dir`, `omero config get
omero.managed.dir`, `omero fs repos`.
""",
    "tab-usage": """
# Disk usage

Where the space goes, per subdirectory, with exactly `du`'s figures (allocated and
apparent bytes, hard links once), free space and inodes per volume, and how long
until full at the recent rate.

OMERO's documentation asks for a repository "comfortably larger than the images and
other files that users may be uploading to it"; the server itself has no guard
against a full disk.

`s` full scan · `u` quick rescan (reuses directories whose mtime is unchanged, so a
file rewritten in place is not seen) · `c` cancel · `Enter` drills down · `Backspace` or `Esc` up ·
`o` sort · `e` full scan that also writes an ncdu export (`ncdu -f FILE` browses it).
Headless: `omero-tui usage --json`, `--export FILE` for ncdu.
""",
    "tab-locks": """
# Lock health

Whether file locking can be trusted on each directory of the repository.

OMERO's documentation: "The OMERO server requires proper locking semantics on all
files in the binary repository. In practice, this means that remotely mounted shares
such as AFS, CIFS, and NFS can cause issues." Symptoms in `var/log/*.log` are
`NullPointerException` and "Bad file descriptor".

And: "If your binary repository is a remote share and mounting the share fails or is
dismounted, OMERO will continue operating using the mount point instead! To prevent
this, make the mount point read-only for the OMERO user."

`p` probes flock and fcntl locks between two processes in each directory (one hidden
probe file, removed after) · `c` cancels the probe · `x` removes stale lock files, only
with the server proven stopped. One host cannot prove that locks work between two
clients of a share.
Headless: `omero-tui locks --probe --json`.
""",
    "tab-perms": """
# Permissions

Whether the *server's* user (not you) can read, write and enter everything it needs,
every directory above included.

OMERO's documentation: "Your repository should be owned or accessible by the same user
that is starting your OMERO.server instance which may be different from the user you
use to start OMERO." `omero admin start` only checks that the data dir is readable: a
repository the server cannot write runs read-only without saying so.

`u` picks another user · `d` deep check (every entry) · `D` deep check of the
highlighted directory only · `c` cancels · `f` shows the exact fix
commands and applies them after you confirm · `y` copies those commands to your
clipboard (OSC 52, over SSH too) · `z` undoes the last fix. On Windows the
documentation's fix is `icacls OMERO /grant omeservice:RW`.
Headless: `omero-tui perms [--fix --yes] [--undo]`.
""",
    "tab-database": """
# Database

OMERO's own records, read from its PostgreSQL (`omero.db.*` in config.xml) in
read-only transactions, against the files on disk: files the database knows that are
missing or changed (CRITICAL), files no row knows (orphans, a WARNING), the repository
roots it records, and the space each OMERO user and group uses. The console never
writes the database and never opens a path taken from a row.

Enter on an area or a user lists their files · `h` checks content against the
recorded checksums (SHA1-160, MD5-128, File-Size-64) · `c` cancels.
Headless: `omero-tui db [--missing] [--orphans] [--by-user] [--verify-hash] [--json]`.
""",
    "wizard": """
# Relocation wizard

Moves the repository the way OMERO's documentation describes: stop the server, move
the repository (all of it, hidden files included), set `omero.data.dir` (and
`omero.managed.dir` if it was set), start the server, check with `omero fs repos`.
"Changing the configuration does not move the repository for you."
`omero.managed.dir` "may be adjusted similarly, even to a directory outside".

Nothing changes before the confirm step. A copy goes file by file to a temporary name,
verified byte for byte, journalled; killed at any moment, it can be resumed or rolled
back (the console offers both when it starts). The source is never changed, and kept
until you remove it (`x` on the last step, which re-verifies first).

On Windows the documented command is `bin\\omero config set omero.data.dir D:\\\\OMERO`:
backslashes are escaped in config.xml.

`n` next · `b` back · `ctrl+o` browse for the target · `c` cancel a move at a safe
point · `r` resume · `u` roll back · `x` remove the old copy · `k` clear the stale
Bio-Formats cache · `y` copy the commands the page shows (OSC 52, over SSH too) · `Esc`
close. Headless: `omero-tui relocate`.
""",
}


def help_for(where: str) -> str:
    return HELP.get(where, HELP["tab-overview"]).strip() + "\n" + KEYS
