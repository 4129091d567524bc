"""VerdictBanner: the pair verdict in words, above the cards (never by colour alone)."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from ..boardtext import BannerModel
from ._tones import TONE_CLASSES, TONE_STYLE


class VerdictBanner(Widget):
    """The verdict word with its glyph, the roles, and up to three reasons."""

    DEFAULT_CSS = """
    VerdictBanner {
        height: auto;
        max-height: 5;
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

    def render(self) -> Content:
        model = self.model
        if model is None:
            return Content("")
        head_style = {"ok": "$success bold", "warning": "$warning bold reverse",
                      "critical": "$error bold reverse", "unknown": "bold"}[model.tone]
        parts = [Content.assemble((f" {model.headline} ", head_style), "  ",
                                  (model.detail, "dim"))]
        parts += [Content.styled(text, TONE_STYLE.get(tone, "")) for text, tone in model.reasons]
        return Content("\n").join(parts)
