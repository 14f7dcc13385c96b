"""``DiffView``: the proposed patch, highlighted, with what the keys do."""

from __future__ import annotations

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from codeagent.agent.events import printable_text


class DiffView(Vertical, can_focus=True):
    """Hidden until there is a patch to review; focused then, so ``a``/``r``/``c`` reach the
    app instead of the input box."""

    def compose(self) -> ComposeResult:
        yield Label("proposed fix — [b]a[/] accept · [b]r[/] reject · [b]c[/] ask for changes",
                    classes="title")  # fmt: skip
        with VerticalScroll():
            yield Static("", id="patch")

    def on_mount(self) -> None:
        self.display = False

    def show(self, patch: str) -> None:
        """Show ``patch`` (highlighted as a diff, never read as markup; printable)."""
        self.query_one("#patch", Static).update(
            Syntax(
                printable_text(patch),
                "diff",
                theme="ansi_dark",
                word_wrap=True,
                background_color="default",
            )
        )
        self.display = True

    def hide(self) -> None:
        self.display = False
