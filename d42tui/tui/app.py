"""ConsoleApp: the Textual console over the engine's poller.

The poller runs in a worker on Textual's loop; each snapshot becomes a
`SnapshotArrived` message, and the app hands it to its screens, which repaint only
what changed. Read-only refusals are decided in one place (`ActionPolicy`); guarded
actions go through `ActionDesk` to the engine's runner, DNS answers come from `DnsWatch`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from rich.segment import Segments
from textual import events
from textual.actions import ActionParseResult
from textual.actions import parse as parse_action
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import Theme

from ..actions.kinds import ACTIONS
from ..config.durations import format_duration
from ..config.models import Config, PairConfig
from ..engine.audit import JsonlLog, audit_path, events_path
from ..engine.dnscheck import pair_dns_problem
from ..engine.pair import AssertedMode, PairSnapshot
from ..engine.poller import Poller
from ..engine.state import StateStore
from .actionkeys import ActionKeys
from .demo import DemoControl, FaultChoice
from .desk import ActionDesk
from .dnswatch import DnsWatch
from .eventfold import EventFold
from .eventlog import EventRecorder
from .keyqueue import KeyHandled, KeyQueue
from .pairview import PairView
from .policy import ActionPolicy
from .screens.board import BoardScreen
from .screens.confirm_quit import ConfirmQuitScreen
from .screens.help import HelpScreen
from .screens.too_small import TooSmallScreen
from .signals import SignalExits
from .text.boardtext import Line
from .themes import DEFAULT_THEME, load_themes
from .timeline_events import TimelineEvent, console_event

if TYPE_CHECKING:
    from ..dns import DnsAnswer, DnsProblem
    from ..watch.status import AutomationState
    from .screens.pairs import PairsScreen

MIN_SIZE = (80, 24)
MAX_EVENTS = 2000
AUTOMATION_MIN_GAP = 1.0  # seconds: the state file and heartbeat are read at most this often
AUTOMATION_EVERY = 5.0  # seconds: re-read even when no snapshot arrives (polling paused)
THEME_ORDER = ("dark", "light", "high-contrast")


class SnapshotArrived(Message):
    """The poller finished a round of one pair."""

    def __init__(self, snapshot: PairSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class PollerStopped(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class ConsoleApp(ActionKeys, App[int]):
    """The live pair board. `clock` is injectable so tests see stable countdowns."""

    TITLE = "d42tui"

    BINDINGS = [
        Binding("question_mark,f1", "help", "help", tooltip="show every key"),
        Binding("r", "poll_now", "poll", tooltip="poll every appliance now"),
        Binding("p", "toggle_pause", "pause", tooltip="pause / resume polling"),
        Binding("t", "cycle_theme", "theme", tooltip="switch to the next theme"),
        Binding("q", "request_quit", "quit",
                tooltip="quit (asks first only if an action is in flight)"),
        Binding("ctrl+q", "request_quit", "quit", show=False, priority=True,
                tooltip="quit (asks first only if an action is in flight)"),
        # Mutating keys (the table in actions/kinds.py): each opens a guarded dialog;
        # ActionPolicy refuses them read-only.
        *(Binding(spec.key, spec.name, spec.label, show=False) for spec in ACTIONS),
    ]

    CSS = """
    Screen { background: $background; }
    Footer { background: $panel; }
    /* With no colours (NO_COLOR) Textual draws buttons with a tall border that fills a
       one-row button and hides its label; the focused one is reversed instead. */
    Button.-textual-compact:ansi { border: none !important; height: 1; }
    Button.-textual-compact:ansi:focus { text-style: bold reverse; }
    """

    status_line: reactive[Line] = reactive(())
    paused: reactive[bool] = reactive(False)

    def _fatal_error(self) -> None:
        """A crash report without local variables: Textual's default shows them, and a frame
        of the engine may hold a password or a TSIG secret (rule 7: never in a traceback)."""
        from rich.traceback import Traceback

        self.bell()
        report = Traceback(show_locals=False, width=None)
        self._exit_renderables.append(Segments(self.console.render(report, self.console.options)))
        self._close_messages_no_wait()

    def __init__(self, config: Config, *, poller: Poller | None = None,
                 store: StateStore | None = None, clock: Callable[[], float] = time.time,
                 read_only: bool = False, theme: str | None = None,
                 themes: dict[str, Theme] | None = None, theme_problems: Iterable[str] = (),
                 demo: DemoControl | None = None, local_tz: tzinfo | None = None,
                 notices: Iterable[str] = (), min_size: tuple[int, int] = MIN_SIZE) -> None:
        self.no_color = "NO_COLOR" in os.environ
        # Native ANSI colours make Textual install its NoColor filter: no colour codes at all.
        super().__init__(ansi_color=True if self.no_color else None)
        self.config = config
        self.poller = poller
        self.store = store
        self.clock = clock
        self.local_tz = local_tz
        self.policy = ActionPolicy(read_only=read_only)
        self.demo = demo
        self.min_size = min_size
        self.snapshots: dict[str, PairSnapshot] = {}
        self.events: list[TimelineEvent] = []  # oldest first
        self.fold = EventFold(local_tz)  # flapping and the console's own actions, folded
        self.in_flight: list[str] = []  # actions running now (the desk fills it)
        audit, events = self._log_paths()
        self.audit_log = JsonlLog(audit)
        # Watch-mode automation per pair, read from the state dir (only with a store).
        self.automation: dict[str, AutomationState] = {}
        self._automation_read: dict[str, float] = {}  # pair -> monotonic time of the last read
        runner = None
        if poller is not None and store is not None:
            from ..actions.runner import ActionRunner

            runner = ActionRunner(config, poller, store, self.audit_log, read_only=read_only,
                                  clock=clock)
        self.desk = ActionDesk(self, runner)
        self.signal_exits = SignalExits(self)
        self.keys = KeyQueue(self, super().on_event)
        # Only a live console asks DNS servers (a console fed by hand, as in tests, does not).
        self.dns_watch = DnsWatch(self, config.pairs if poller is not None else [],
                                  self.show_dns)
        self.dns_follow: dict[str, tuple[str, float]] = {}  # pair -> (row text, until)
        self.dns_problems: dict[str, DnsProblem] = {}  # pair -> what is wrong with its service name
        self.recorder = EventRecorder(JsonlLog(events) if poller is not None else None)
        self.poller_error: str | None = None
        if themes is None:
            themes, problems = load_themes()
            theme_problems = [*theme_problems, *problems]
        self.theme_problems = list(theme_problems)
        self.notices = list(notices)  # config warnings: said once at start, kept in the timeline
        for item in themes.values():
            self.register_theme(item)
        self.theme_names = [n for n in THEME_ORDER if n in themes] + \
                           [n for n in themes if n not in THEME_ORDER]
        wanted = theme or (DEFAULT_THEME if DEFAULT_THEME in themes else None)
        if wanted is not None:
            self.theme = wanted
        self._update_status()

    def _log_paths(self) -> tuple[Path, Path]:
        """The audit log and events.jsonl; the demo keeps both in its temporary state dir."""
        if self.demo is not None and self.store is not None:
            return self.store.directory / "audit.jsonl", self.store.directory / "events.jsonl"
        return audit_path(self.config), events_path(self.config)

    # --- screens ----------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        if len(self.config.pairs) == 1:
            return BoardScreen(self.config.pairs[0])
        from .screens.pairs import PairsScreen  # DataTable is costly to import: only when needed

        return PairsScreen()

    def open_pair(self, name: str) -> None:
        self.push_screen(BoardScreen(self.config.pair(name)))

    def on_pairs_screen_open_pair(self, message: PairsScreen.OpenPair) -> None:
        self.open_pair(message.pair)

    def on_mount(self) -> None:
        for problem in self.theme_problems:
            self.notify(problem, title="theme file skipped", severity="warning", timeout=10)
        if self.notices:
            self.add_events([console_event(self.clock(), f"config: {text}", "warning")
                             for text in self.notices])
            self.notify("\n".join(self.notices), title="config warnings", severity="warning",
                        timeout=10)
        self.recorder.start(self)
        if self.store is not None:
            self.refresh_all_automation()
            self.set_interval(AUTOMATION_EVERY, self.refresh_all_automation)
        if self.poller is not None:
            self.poller.subscribe(self._from_poller)
            self.run_worker(self._poll_forever(), name="poller", group="poller",
                            exit_on_error=False)
        self.call_after_refresh(self._check_size)
        if not self.is_headless:
            # SIGTERM / SIGHUP (the SSH session dropped) quit like `q`, after any action in
            # flight has finished: the terminal is restored, the demo cleans up.
            self.signal_exits.install()

    async def _poll_forever(self) -> None:
        assert self.poller is not None
        try:
            await self.poller.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the board must say it, not die
            self.post_message(PollerStopped(f"{exc.__class__.__name__}: {exc}"))

    def _from_poller(self, snap: PairSnapshot) -> None:
        self.post_message(SnapshotArrived(snap))

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        self.show_snapshot(message.snapshot)

    def on_poller_stopped(self, message: PollerStopped) -> None:
        self.poller_error = message.error
        self.add_events([console_event(self.clock(), f"polling stopped: {message.error}",
                                       "critical")])
        self._update_status()

    def show_snapshot(self, snap: PairSnapshot) -> None:
        """Take a snapshot (from the poller, or from a test) and show it everywhere."""
        prev = self.snapshots.get(snap.pair)
        self.snapshots[snap.pair] = snap
        dns_events = self._judge_dns(snap.pair)
        for screen in self.screen_stack:
            # a screen still being composed takes the app's snapshots when it mounts
            if isinstance(screen, PairView) and screen.is_mounted:
                screen.show_snapshot(snap)
        events, records = self.fold.take(prev, snap, acting=self.desk.running.get(snap.pair))
        self.add_events(events + dns_events)
        for record in records:  # for `d42tui audit export --markdown`
            self.recorder.record(record)
        self.dns_watch.tick(snap.pair)
        self.refresh_automation(snap.pair)

    # --- watch-mode automation ----------------------------------------------------------

    def refresh_automation(self, pair: str, *, force: bool = False) -> AutomationState | None:
        """Re-read the pair's automation state (at most once a second unless forced) and hand
        it to the screens only when what they show changed."""
        if self.store is None:
            return None
        mono = time.monotonic()
        last = self._automation_read.get(pair)
        if not force and last is not None and mono - last < AUTOMATION_MIN_GAP:
            return self.automation.get(pair)
        self._automation_read[pair] = mono
        from ..watch.status import read_automation

        try:
            state = read_automation(self.store, self.config.pair(pair), self.clock())
        except (OSError, ValueError, KeyError, TypeError):  # a damaged record: keep the last state
            return self.automation.get(pair)
        from .text.autotext import automation_text

        old = self.automation.get(pair)
        self.automation[pair] = state
        if old is None or automation_text(old, self.local_tz) != automation_text(
                state, self.local_tz) or old.kind != state.kind:
            for screen in self.screen_stack:
                show = getattr(screen, "show_automation", None)
                if show is not None:
                    show(pair, state)
        return state

    def refresh_all_automation(self) -> None:
        for pair in self.config.pairs:
            self.refresh_automation(pair.name)

    def show_dns(self, pair: str, answer: DnsAnswer) -> None:
        """A DNS answer (from the watch, or from a test) for every screen that shows it."""
        self.dns_watch.answers[pair] = answer
        events = self._judge_dns(pair)
        for screen in self.screen_stack:
            show = getattr(screen, "show_dns", None)
            if show is not None:
                show(pair, answer)
        self.add_events(events)

    def _judge_dns(self, pair: str) -> list[TimelineEvent]:
        """Re-judge the pair's service name against its latest poll and DNS answer (kept in
        `dns_problems` for the headlines); a timeline event when the judgement changes: a
        name that goes wrong, comes right, or points somewhere else while wrong."""
        config = self.config.pair(pair)
        problem = pair_dns_problem(config, self.snapshots.get(pair),
                                   self.dns_watch.answers.get(pair))
        before = self.dns_problems.pop(pair, None)
        if problem:
            self.dns_problems[pair] = problem
        if (problem.kind if problem else None) == (before.kind if before else None) and (
                problem is None or not problem.misdirects or problem == before):
            return []
        if problem is None:
            text = f"{pair}: DNS {config.dns.name if config.dns else ''} points at production again"
            return [console_event(self.clock(), text, "ok", pair=pair)]
        return [console_event(self.clock(), f"{pair}: {problem}", problem.level, pair=pair)]

    def dns_switched(self, pair: str, ttl: int) -> None:
        """After a verified DNS switch: a countdown row until every client must follow."""
        follow = (f"DNS switched: clients follow within ≤ {ttl} s", self.clock() + ttl)
        self.dns_follow[pair] = follow
        for screen in self.screen_stack:
            if isinstance(screen, BoardScreen):
                screen.show_follow(pair, *follow)

    def add_events(self, events: list[TimelineEvent]) -> None:
        if not events:
            return
        for event in events:
            # a keyed event (a flapping line) replaces its earlier self where it stands
            index = next((i for i in range(len(self.events) - 1, -1, -1)
                          if self.events[i].key == event.key), None) if event.key else None
            if index is None:
                self.events.append(event)
            else:
                self.events[index] = event
        del self.events[:-MAX_EVENTS]
        for screen in self.screen_stack:
            if isinstance(screen, PairView):
                screen.add_events(events)

    def show_acting(self) -> None:
        """An action started or ended: the boards' next step says so."""
        for screen in self.screen_stack:
            if isinstance(screen, BoardScreen) and screen.is_mounted:
                screen.refresh_banner()

    def declared_mode(self, pair: PairConfig, name: str) -> AssertedMode:
        if self.store is not None:
            return self.store.roles(pair)[1][name]
        return AssertedMode("production" if name == pair.production else "standby")

    # --- the keyboard ------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            await self.keys.arrive(event)  # in order, each to the focus once the last is handled
            return
        await super().on_event(event)

    async def on_key_handled(self, marker: KeyHandled) -> None:
        await self.keys.came_back(marker)

    # --- terminal size ----------------------------------------------------------------

    def on_resize(self) -> None:
        self.call_after_refresh(self._check_size)

    def _check_size(self) -> None:
        have = (self.size.width, self.size.height)
        small = have[0] < self.min_size[0] or have[1] < self.min_size[1]
        top = self.screen
        if small:
            if isinstance(top, TooSmallScreen):
                top.update_size(have)
            else:
                self.push_screen(TooSmallScreen(self.min_size, have))
        elif isinstance(top, TooSmallScreen):
            self.pop_screen()

    # --- the central action check ------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.screen, TooSmallScreen) and action != "request_quit":
            return False
        return self.policy.state(action)

    async def run_action(self, action: str | ActionParseResult, default_namespace=None,
                         namespaces=None) -> bool:
        name = (parse_action(action) if isinstance(action, str) else action)[1]
        if (why := self.policy.refusal(name)) is not None:
            self.notify(why, title="refused", severity="warning")
            return True
        return await super().run_action(action, default_namespace, namespaces)

    # --- actions ----------------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_poll_now(self) -> None:
        if self.poller is None:
            self.notify("no poller in this console", severity="warning")
            return
        if self.paused:
            self.notify("polling is paused: p resumes it", severity="warning")
            return
        self.poller.poll_now()
        self.notify("polling now", timeout=2)

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        text = "polling paused: the board shows the last poll" if self.paused else "polling resumed"
        self.add_events([console_event(self.clock(), text, "warning" if self.paused else "dim")])

    def watch_paused(self, paused: bool) -> None:
        if self.poller is not None:
            self.poller.paused = paused
            if not paused:
                self.poller.poll_now()
        self._update_status()

    def action_cycle_theme(self) -> None:
        if self.no_color:
            self.notify("NO_COLOR is set: no colours to switch", timeout=3)
            return
        if not self.theme_names:
            return
        index = self.theme_names.index(self.theme) if self.theme in self.theme_names else -1
        self.theme = self.theme_names[(index + 1) % len(self.theme_names)]
        self.notify(f"theme: {self.theme}", timeout=2)

    def action_request_quit(self) -> None:
        if not (self.in_flight or self.desk.busy()):
            self.exit(0)
            return

        def answered(quit_anyway: bool | None) -> None:
            if quit_anyway:
                self.exit(0)

        if not isinstance(self.screen, ConfirmQuitScreen):
            self.push_screen(ConfirmQuitScreen(list(self.in_flight) or ["an action"]), answered)

    # --- the status line and the palette ----------------------------------------------

    def _update_status(self) -> None:
        intervals = sorted({p.poll.interval for p in self.config.pairs})
        every = format_duration(intervals[0]) + (
            f"–{format_duration(intervals[-1])}" if len(intervals) > 1 else "")
        line: list[tuple[str, str]] = []
        if self.poller_error:
            line.append((f"✖ polling stopped: {self.poller_error}", "critical"))
        elif self.paused:
            line.append(("❚❚ PAUSED", "warning"))
            line.append((" · p resumes", ""))
        else:
            line.append((f"polling every {every}", "dim"))
        if self.policy.read_only:
            line.append(("  READ-ONLY", "strong"))
        if self.demo is not None:
            line.append(("  DEMO · x injects faults", "strong"))
        self.status_line = tuple(line)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from .palette import system_commands

        return system_commands(self, screen)

    # --- demo faults (the keys exist only in DemoConsoleApp) ---------------------------

    def inject_fault(self, choice: FaultChoice | None) -> None:
        if choice is None or self.demo is None:
            return
        demo = self.demo
        targets = [choice.appliance] if choice.appliance else list(demo.appliances)
        from .demo import FLIP_MODE, SLOW_MS

        who = choice.appliance or "every appliance"
        if choice.kind == FLIP_MODE and choice.appliance is not None:
            # The opposite of what the console asserts, as a person in the appliance's own
            # UI would do it: the console sends nothing and only a mode probe can notice.
            pair = self.config.pair_of_appliance(choice.appliance)
            asserted = self.declared_mode(pair, choice.appliance).mode
            mode = "standby" if asserted == "production" else "production"
            text = f"demo: {choice.appliance} set to {mode} by hand, outside the console"

            def work() -> None:
                demo.set_mode_by_hand(choice.appliance, mode)
        else:
            text = f"demo: cleared faults on {who}" if choice.kind == "none" else \
                f"demo: injected fault '{choice.kind}' into {who}"

            def work() -> None:
                for name in targets:
                    demo.set_fault(name, choice.kind, SLOW_MS if choice.kind == "slow" else None)

        self.add_events([console_event(self.clock(), text, "strong")])
        self.run_worker(work, thread=True, group="demo", exit_on_error=False)


class DemoConsoleApp(ConsoleApp):
    """The console on the built-in simulator: adds the fault keys (and only here)."""

    BINDINGS = [Binding("x", "fault_menu", "faults", tooltip="inject a fault (demo)")]

    def action_fault_menu(self) -> None:
        from .screens.fault_menu import FaultMenuScreen

        if self.demo is not None and not isinstance(self.screen, FaultMenuScreen):
            self.push_screen(FaultMenuScreen(list(self.demo.appliances)), self.inject_fault)
