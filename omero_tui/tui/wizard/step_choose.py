"""Step 1: what to move (the whole data dir, or the managed repository only) and where."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Static

from omero_tui.core.config.windows_paths import (
    cmd_line,
    config_value,
    normalise_windows_path,
    posix_shell_line,
    powershell_line,
)
from omero_tui.core.config.xml_file import ConfigError
from omero_tui.core.discovery import ServerLocation
from omero_tui.core.relocation.plan import RelocationRefused, check_target_text
from omero_tui.core.relocation.target_choice import TargetChoice
from omero_tui.tui.wizard.path_suggester import DirectorySuggester

DATA_KEY, MANAGED_KEY = "omero.data.dir", "omero.managed.dir"


def target_refusal(text: str) -> str | None:
    """Why the typed text cannot be a target at all (relative, pasted quotes...), or None.

    Pure text checks, cheap enough for every key and for the footer."""
    if not text.strip():
        return "Type the directory the repository should live in."
    try:
        check_target_text(text)
    except RelocationRefused as err:
        return str(err)
    return None


class TargetInput(Input):
    """The target box: Enter goes on, and the footer says so only when it would."""

    BINDINGS = [Binding("enter", "submit", "Next")]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "submit":
            return target_refusal(self.value) is None
        return True


def what_paths(location: ServerLocation) -> Text:
    text = Text()
    text.append("data dir     ", style="dim")
    text.append(location.data_dir.value or "—")
    text.append("\nmanaged dir  ", style="dim")
    text.append(location.managed_dir.value or "—")
    return text


class ChoosePage(VerticalScroll):
    class Changed(Message):
        def __init__(self, what: str, target: str) -> None:
            super().__init__()
            self.what, self.target = what, target

    class Submitted(Message):
        """Enter in the target field: go on to the preflight."""

    def __init__(
        self, location: ServerLocation, what: str, target: str, copy: bool = False
    ) -> None:
        super().__init__(id="page-choose", classes="page")
        self.location = location
        self.what = what
        self.initial_target = target
        self.initial_copy = copy

    def compose(self) -> ComposeResult:
        yield Static("What moves?", classes="page-heading")
        with RadioSet(id="choose-what"):
            yield RadioButton(
                "The whole data dir (omero.data.dir)", value=self.what == "data", id="what-data"
            )
            yield RadioButton(
                "Only the managed repository (omero.managed.dir)",
                value=self.what == "managed",
                id="what-managed",
            )
        # The paths under the choice, each whole on its own line: a one-line radio label
        # cut a long managed dir mid-path at 80 columns.
        yield Static(what_paths(self.location), id="choose-paths")
        yield Static("Where to? (a full path; → completes, ctrl+o browses)", classes="page-heading")
        yield TargetInput(
            value=self.initial_target,
            # Back on this page, typing goes on at the end of the path rather than
            # replacing it all (Input selects everything on focus by default).
            select_on_focus=False,
            placeholder="/mnt/new-volume/OMERO",
            suggester=DirectorySuggester(),
            id="choose-target",
        )
        yield Static(id="choose-info", classes="section")
        yield Checkbox(
            "Copy even on the same filesystem (keep the old copy as a fallback)",
            value=self.initial_copy,
            id="choose-copy",
        )
        yield Static(id="choose-windows", classes="section")

    def on_mount(self) -> None:
        self.focus_target()

    def focus_target(self, typed_ahead: str = "") -> None:
        """The box has the keyboard whenever this page shows; ``typed_ahead`` is what
        was typed while the wizard was still opening."""
        field = self.query_one("#choose-target", Input)
        if typed_ahead:
            field.insert_text_at_cursor(typed_ahead)
        field.cursor_position = len(field.value)
        field.focus()

    def refuse(self, why: str) -> None:
        self.query_one("#choose-info", Static).update(Text(f"✗ {why}", style="red"))
        self.focus_target()

    @property
    def target(self) -> str:
        return self.query_one("#choose-target", Input).value

    @property
    def copy(self) -> bool:
        """Copy and verify where one rename would do: the old copy stays until removed."""
        return self.query_one("#choose-copy", Checkbox).value

    def set_target(self, path: str) -> None:
        field = self.query_one("#choose-target", Input)
        field.value = path
        field.cursor_position = len(path)
        field.focus()

    @on(RadioSet.Changed, "#choose-what")
    def _what(self, event: RadioSet.Changed) -> None:
        self.what = "managed" if event.pressed.id == "what-managed" else "data"
        self.post_message(self.Changed(self.what, self.target))

    @on(Input.Changed, "#choose-target")
    def _typed(self, event: Input.Changed) -> None:
        self.post_message(self.Changed(self.what, event.value))
        event.input.refresh_bindings()  # Enter's "Next" shows once the text could be a target

    @on(Input.Submitted, "#choose-target")
    def _submitted(self) -> None:
        self.post_message(self.Submitted())

    def show_choice(self, choice: TargetChoice | None) -> None:
        info = self.query_one("#choose-info", Static)
        if choice is None or not choice.text.strip():
            info.update(Text("Type the directory the repository should live in.", style="dim"))
            self.query_one("#choose-windows", Static).update("")
            return
        if choice.problem:
            info.update(Text(f"✗ {choice.problem}", style="red"))
        else:
            doubtful = choice.state == "not empty" or choice.fs_kind != "local" or choice.warnings
            style = "yellow" if doubtful else ""
            text = Text(f"{choice.path}\n", style="bold")
            text.append(choice.summary(), style=style)
            for warning in choice.warnings:
                text.append(f"\n! {warning}", style="bold yellow")
            if choice.fs_kind and choice.fs_kind != "local":
                text.append(
                    f"\n! a {choice.fs_kind} filesystem: OMERO needs proper locking "
                    "(the preflight probes it)",
                    style="yellow",
                )
            info.update(text)
        self.query_one("#choose-windows", Static).update(
            windows_notations(choice.text, DATA_KEY if self.what == "data" else MANAGED_KEY)
            if choice.windows
            else ""
        )


def windows_notations(text: str, key: str) -> Text:
    """The target as config.xml stores it and as each shell must be given it."""
    try:
        path = normalise_windows_path(text)
        rows = [
            ("config.xml value", config_value(path)),
            ("cmd.exe", cmd_line(key, path)),
            ("PowerShell", powershell_line(key, path)),
            ("POSIX shell", posix_shell_line(key, path)),
        ]
    except (ValueError, ConfigError) as err:
        return Text(f"✗ {err}", style="red")
    out = Text("For this Windows path, set it on the Windows server (backslashes escaped):\n")
    for label, value in rows:
        out.append(f"  {label:<17}", style="dim")
        out.append(f"{value}\n")
    return out
