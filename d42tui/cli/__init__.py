"""The command line: `main` parses and dispatches; one module per command group."""

from .main import main

__all__ = ["main"]
