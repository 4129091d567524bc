"""A crash of the console never prints local variables (a frame may hold a secret)."""

from __future__ import annotations

from d42tui.tui.app import ConsoleApp

from ..conftest import load_sim_config


async def test_crash_report_has_no_locals(sim, tmp_path):
    config = load_sim_config(sim, tmp_path)
    app = ConsoleApp(config)
    secret = "hunter2-in-a-local-variable"

    def explode() -> None:
        password = secret  # noqa: F841  (what a crash report must not show)
        raise RuntimeError("boom")

    async with app.run_test():
        try:
            explode()
        except RuntimeError:
            app._fatal_error()  # what Textual calls on an unhandled exception
        rendered = "".join(seg.text for r in app._exit_renderables for seg in r.segments)
    assert "RuntimeError" in rendered and "boom" in rendered
    assert secret not in rendered  # the source line may show, the value may not
