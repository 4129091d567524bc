"""`python -m d42tui` is the `d42tui` command."""

import sys

from .cli import main

sys.exit(main())
