"""`python -m d42tui.simulator` is `d42tui simulate`."""

import sys

from .run import main

raise SystemExit(main(sys.argv[1:]))
