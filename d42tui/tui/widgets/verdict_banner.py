"""VerdictBanner: the pair verdict in words, above the cards (never by colour alone).

Under the headline: the next step (with its key) and the reasons, each wrapped to the
banner's width rather than cut; what does not fit in `MAX_LINES` is counted, and the
timeline has it whole.
"""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from ..text.boardtext import BannerModel, Line
from ..text.wrap import wrap_line
from ._tones import TONE_CLASSES, line_content

MAX_LINES = 6


def banner_rows(model: BannerModel, width: int) -> tuple[Line, ...]:
    """The rows under the headline at `width` cells: the next step first (it is what to
    do), then the reasons; the last row says how many did not fit."""
    rows: list[Line] = []
    if model.next_step:
        rows += wrap_line((("▶ next: ", "strong"), (model.next_step, "strong")), width, 2)
    shown = 0
    for text, tone in model.reasons:
        wrapped = wrap_line(((text, tone),), width, 2)
        if len(rows) + len(wrapped) > MAX_LINES - 1:
            break
        rows += wrapped
        shown += 1
    left = len(model.reasons) - shown
    if left:
        more: Line = ((f"· and {left} more (see the timeline)", "dim"),)
        rows = rows[:MAX_LINES - 2] + [more]
    return tuple(rows)


class VerdictBanner(Widget):
    """The verdict word with its glyph, the roles, the next step and the reasons."""

    DEFAULT_CSS = """
    VerdictBanner {
        height: auto;
        max-height: 6;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    VerdictBanner.-ok { border-left: outer $success; }
    VerdictBanner.-warning { border-left: outer $warning; }
    VerdictBanner.-critical { border-left: outer $error; }
    VerdictBanner.-unknown { border-left: outer $foreground 50%; }
    """

    model: reactive[BannerModel | None] = reactive(None, layout=True)

    def watch_model(self, model: BannerModel | None) -> None:
        self.remove_class(*TONE_CLASSES)
        if model is not None:
            self.add_class(f"-{model.tone}")

    def on_resize(self) -> None:
        self.refresh(layout=True)  # rows wrap to the new width

    def _width(self) -> int:
        width = self.content_region.width
        return width if width > 0 else max(20, self.app.size.width - 3)

    def render(self) -> Content:
        model = self.model
        if model is None:
            return Content("")
        head_style = {"ok": "$success bold", "warning": "$warning bold reverse",
                      "critical": "$error bold reverse", "unknown": "bold"}[model.tone]
        parts = [Content.assemble((f" {model.headline} ", head_style), "  ",
                                  (model.detail, "dim"))]
        parts += [line_content(row) for row in banner_rows(model, self._width())]
        return Content("\n").join(parts)
