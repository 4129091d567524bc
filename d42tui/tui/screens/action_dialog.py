"""ActionDialog: one guarded action — the plan, a typed confirmation, progress, the result.

Cancel has the focus and Escape cancels; the confirm button stays disabled until the
target's name is typed. A refused plan that may be forced offers "Force…", which opens
a second dialog. The dialog only asks and shows: the app runs the plan (messages up,
method calls down), so closing it never stops an action half-way.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Key, Paste
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from ...actions.planner import Plan, picture_changes, picture_of
from ...engine.pair import PairSnapshot
from ..pairview import PairView
from ..text.actiontext import (
    PlanContext,
    confirm_text,
    force_text,
    name_prompt,
    needs_name,
    plan_lines,
    progress_line,
    title,
    wrong_name_prompt,
)
from ..text.boardtext import Line
from ..text.wrap import wrap_line
from ..timeline_events import TimelineEvent
from ..widgets._tones import lines_content
from ..widgets.name_field import NameField

Phase = str  # "confirm" -> "running" -> "result"


def type_into(screen: ModalScreen, event: Key, field: Input) -> None:
    """Cancel keeps the focus, yet typing a confirmation needs no Tab first: a printable key
    pressed on a button (or before anything has the focus) goes to the field; space still
    presses the button."""
    focused = screen.focused
    if ((focused is None or isinstance(focused, Button)) and event.is_printable
            and event.character and event.character != " "):
        field.focus()
        field.insert_text_at_cursor(event.character)
        event.stop()
        event.prevent_default()


def paste_into(screen: ModalScreen, event: Paste, field: Input) -> None:
    """A pasted name goes to the field too (its first line, as the field itself takes it)."""
    if not isinstance(screen.focused, Input):
        text = event.text.splitlines()[0] if event.text else ""
        field.focus()
        field.insert_text_at_cursor(text)
        event.stop()
        event.prevent_default()


class ActionDialog(ModalScreen[None], PairView):
    """The confirmation, progress and result of one plan."""

    BINDINGS = [Binding("escape", "escape", "cancel / close")]
    AUTO_FOCUS = "#cancel"

    DEFAULT_CSS = """
    ActionDialog { align: center middle; }
    ActionDialog > #box {
        width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: heavy $warning; border-title-style: bold; background: $surface; padding: 0 1;
    }
    ActionDialog #body { height: auto; }
    ActionDialog #body Static { height: auto; }
    ActionDialog .-hidden { display: none; }
    ActionDialog #changed { color: $error; text-style: bold; }
    ActionDialog .row { height: 1; margin-top: 1; }
    ActionDialog .row Label { width: auto; margin-right: 1; }
    ActionDialog .row Input { width: 1fr; background: $panel; }
    ActionDialog .row Input > .input--cursor { text-style: reverse; }
    ActionDialog #buttons { height: 1; margin-top: 1; align-horizontal: right; }
    ActionDialog #buttons Button { margin-left: 2; min-width: 10; }
    """

    class Confirmed(Message):
        """The operator confirmed (and, for `force`, typed FORCE in the second dialog)."""

        def __init__(self, dialog: ActionDialog, plan: Plan, force: bool) -> None:
            super().__init__()
            self.dialog = dialog
            self.plan = plan
            self.force = force

    class ForceAsked(Message):
        def __init__(self, dialog: ActionDialog, plan: Plan) -> None:
            super().__init__()
            self.dialog = dialog
            self.plan = plan

    class Ended(Message):
        """Closed before anything ran: to be recorded as cancelled (or refused)."""

        def __init__(self, plan: Plan, outcome: str, detail: str) -> None:
            super().__init__()
            self.plan = plan
            self.outcome = outcome
            self.detail = detail

    def __init__(self, plan: Plan | None, context: PlanContext | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.context = context  # the snapshot the plan was made from, to word its data age
        self.phase: Phase = "confirm"
        self._progress: list[str] = []
        self._wrong = False  # Enter was pressed on a name that does not match

    # --- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="box") as box:
            box.border_title = title(self.plan) if self.plan else "action"
            yield from self.compose_top()
            with VerticalScroll(id="body"):
                # Above the plan: when it shows, it matters more than the plan does.
                yield Static(id="changed", classes="-hidden", markup=False)
                yield Static(id="plan", markup=False)
                yield Static(id="progress", classes="-hidden", markup=False)
                yield Static(id="result", classes="-hidden", markup=False)
            yield NameField("", id="name-row", field_id="name", label_id="name-label")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Confirm", id="confirm", variant="error", compact=True,
                             disabled=True)
                yield Button("Force…", id="force", variant="warning", compact=True,
                             disabled=True)
                yield Button("Hide", id="hide", compact=True, classes="-hidden")
                yield Button("Close", id="close", compact=True, classes="-hidden")

    def compose_top(self) -> ComposeResult:
        """Extra rows above the plan (the DNS editor's target)."""
        yield from ()

    # Rows of the box that are not the plan: borders, the name row and the buttons (with
    # their margins); subclasses add their own rows above the plan.
    FIXED_ROWS = 6

    def on_mount(self) -> None:
        self._fit()
        self.first_plan()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The plan scrolls (Tab onto it, then arrows) rather than push the buttons off the
        screen at 80x24."""
        self.query_one("#body").styles.max_height = max(3, self.app.size.height - self.FIXED_ROWS)

    def first_plan(self) -> None:
        self.show_plan(self.plan)

    def _wrapped(self, lines: tuple[Line, ...]) -> tuple[Line, ...]:
        """Each line wrapped under its own text (a step's rest under the step, not at the
        left edge); the box is 78 wide at most, its border and padding take 4."""
        width = min(78, self.app.size.width) - 4
        out: list[Line] = []
        for line in lines:
            text = "".join(t for t, _ in line)
            lead = len(text) - len(text.lstrip())
            indent = lead + (3 if text.lstrip()[:1].isdigit() else 2)
            out += wrap_line(line, width, indent)
        return tuple(out)

    def _static(self, name: str) -> Static:
        return self.query_one(f"#{name}", Static)

    def _show(self, selector: str, shown: bool) -> None:
        self.query_one(selector).set_class(not shown, "-hidden")

    def show_plan(self, plan: Plan | None, problem: str | None = None) -> None:
        """(Re)draw the plan; the typed name is kept when the target stays the same."""
        self.plan = plan
        if plan is None:
            self._static("plan").update(lines_content((((problem or "no plan", "critical"),),)))
        else:
            self._static("plan").update(lines_content(self._wrapped(plan_lines(plan,
                                                                            self.context))))
        ask_name = plan is not None and needs_name(plan) and not (plan.refused and
                                                                  not plan.forceable)
        self._show("#name-row", ask_name)
        self._wrong = False
        if plan is not None:
            self.query_one(NameField).prompt(name_prompt(plan))
        runnable = plan is not None and bool(plan.steps) and not plan.refused
        self._show("#confirm", runnable)
        self._show("#force", plan is not None and plan.refused and plan.forceable)
        self._match()

    # --- the typed confirmation ---------------------------------------------------------

    def _typed_ok(self) -> bool:
        plan = self.plan
        return plan is not None and self.query_one("#name", Input).value.strip() == plan.target

    def _match(self) -> None:
        ok = self._typed_ok() and self.phase == "confirm"
        confirm, force = self.query_one("#confirm", Button), self.query_one("#force", Button)
        confirm.disabled = force.disabled = not ok
        if self.plan is not None:
            # In words, not only dimmed: a disabled button has no colour under NO_COLOR.
            confirm.label = confirm_text(self.plan, ok, self.context is not None
                                         and self.context.scheduled is not None)
            force.label = force_text(self.plan, ok)

    @on(Input.Changed, "#name")
    def _name_changed(self) -> None:
        self._match()
        if self._wrong and self.plan is not None and self._typed_ok():
            self._wrong = False
            self.query_one(NameField).prompt(name_prompt(self.plan))

    @on(Input.Submitted, "#name")
    def _name_submitted(self) -> None:
        if self.phase != "confirm" or self.plan is None:
            return
        if not self._typed_ok():
            # Enter must never do nothing silently: say what it wants.
            self._wrong = True
            self.query_one(NameField).prompt(wrong_name_prompt(self.plan), "critical")
        elif not self.query_one("#confirm").has_class("-hidden"):
            self._confirm()
        elif not self.query_one("#force").has_class("-hidden"):
            self._force()

    def _typing(self) -> bool:
        return self.phase == "confirm" and not self.query_one("#name-row").has_class("-hidden")

    def on_key(self, event: Key) -> None:
        if self._typing():
            type_into(self, event, self.query_one("#name", Input))

    def on_paste(self, event: Paste) -> None:
        if self._typing():
            paste_into(self, event, self.query_one("#name", Input))

    # --- buttons ------------------------------------------------------------------------

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        if self.phase == "confirm" and self.plan is not None and self._typed_ok():
            self.show_running()
            self.post_message(self.Confirmed(self, self.plan, False))

    @on(Button.Pressed, "#force")
    def _force(self) -> None:
        if self.phase == "confirm" and self.plan is not None and self._typed_ok():
            self.post_message(self.ForceAsked(self, self.plan))

    def forced(self) -> None:
        """The second dialog was confirmed with FORCE."""
        if self.phase == "confirm" and self.plan is not None:
            self.show_running()
            self.post_message(self.Confirmed(self, self.plan, True))

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_escape()

    @on(Button.Pressed, "#hide,#close")
    def _close_pressed(self) -> None:
        self.dismiss(None)

    def action_escape(self) -> None:
        if self.phase == "confirm":
            plan = self.plan
            if plan is not None:
                if plan.refused:
                    self.post_message(self.Ended(plan, "refused", f"{plan.refusal} (shown in "
                                                 "the console; nothing was sent)"))
                elif plan.steps:
                    self.post_message(self.Ended(plan, "cancelled",
                                                 "cancelled in the console: nothing was sent"))
        self.dismiss(None)

    # --- progress and the result (called by the app) ------------------------------------

    def show_running(self) -> None:
        self.phase = "running"
        for selector in ("#name-row", "#cancel", "#confirm", "#force", "#changed"):
            self._show(selector, False)
        self._show("#hide", True)
        self._show("#progress", True)
        self.query_one("#hide", Button).focus()
        self._render_progress()

    def progress(self, text: str) -> None:
        self._progress.append(text)
        self._render_progress()

    def _render_progress(self) -> None:
        over = self.phase == "result"
        lines: list[Line] = [progress_line(t, done=True) for t in self._progress[:-1]]
        if self._progress:
            lines.append(progress_line(self._progress[-1], done=over))
        else:
            lines.append(progress_line("starting"))
        if self.phase == "running":
            lines.append((("Esc hides this window; the action goes on and its result "
                           "goes to the timeline.", "dim"),))
        self._static("progress").update(lines_content(tuple(lines)))
        self._to_end()

    def _to_end(self) -> None:
        """The newest progress or the result in view (after the new text is laid out)."""
        body = self.query_one("#body", VerticalScroll)
        self.call_after_refresh(body.scroll_end, animate=False)

    def show_result(self, lines: tuple[Line, ...]) -> None:
        self.phase = "result"
        self._render_progress()
        self._show("#hide", False)
        self._show("#close", True)
        self._show("#result", True)
        self._static("result").update(lines_content(lines))
        self.query_one("#close", Button).focus()
        self._to_end()

    # --- the live picture (PairView) ----------------------------------------------------

    def show_snapshot(self, snap: PairSnapshot) -> None:
        plan = self.plan
        if self.phase != "confirm" or plan is None or snap.pair != plan.pair or \
                not plan.picture.appliances:
            return
        if not self.query("#changed"):
            return  # a snapshot that arrives while the dialog is still being composed
        changes = picture_changes(plan.picture, picture_of(snap))
        text = ("The situation changed since this opened: " + "; ".join(changes)
                + ". Confirming now will be cancelled; close and look again.") if changes else ""
        self._static("changed").update(text)
        self._show("#changed", bool(changes))

    def add_events(self, events: list[TimelineEvent]) -> None:
        return None
