"""Pick the target from a directory browser; free space and filesystem shown as you go."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Static

from omero_tui.core.relocation.target_choice import TargetChoice, describe_choice
from omero_tui.tui.widgets.fitting_footer import FittingFooter
from omero_tui.tui.wizard.messages import ChoiceDescribed


class DirectoriesOnly(DirectoryTree):
    def filter_paths(self, paths):  # noqa: ANN001, ANN201 - Textual's signature
        return [p for p in paths if p.is_dir()]


class DirectoryPicker(ModalScreen[str | None]):
    """Returns the chosen directory, or None when dismissed."""

    BINDINGS = [
        Binding("escape", "dismiss_picker", "Cancel"),
        Binding("enter", "choose", "Choose this directory", priority=True),
        Binding("backspace", "parent", "Parent"),
    ]

    def __init__(self, start: str, describe=describe_choice) -> None:  # noqa: ANN001
        super().__init__()
        self.start = start
        self.describe = describe
        self.current = start

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static("Pick the directory to move the repository into", id="picker-title")
            yield DirectoriesOnly(self.start, id="picker-tree")
            yield Static(id="picker-info")
        yield FittingFooter()

    def on_mount(self) -> None:
        self.query_one(DirectoriesOnly).focus()
        self._describe(self.start)

    @on(DirectoryTree.NodeHighlighted)
    def _highlighted(self, event: DirectoryTree.NodeHighlighted) -> None:
        data = event.node.data
        if data is not None:
            self.current = str(data.path)
            self._describe(self.current)

    @work(thread=True, exclusive=True, group="picker")
    def _describe(self, path: str) -> None:
        self.post_message(ChoiceDescribed(self.describe(path)))

    @on(ChoiceDescribed)
    def _described(self, message: ChoiceDescribed) -> None:
        choice: TargetChoice = message.choice
        if choice.text == self.current:
            self.query_one("#picker-info", Static).update(f"{choice.text}\n{choice.summary()}")

    def action_choose(self) -> None:
        self.dismiss(self.current)

    def action_parent(self) -> None:
        tree = self.query_one(DirectoriesOnly)
        parent = Path(str(tree.path)).parent
        tree.path = parent
        self.current = str(parent)
        self._describe(self.current)

    def action_dismiss_picker(self) -> None:
        self.dismiss(None)
