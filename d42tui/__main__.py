"""`python -m d42tui` is the `d42tui` command."""

import sys

from .cli.main import main

sys.exit(main())
