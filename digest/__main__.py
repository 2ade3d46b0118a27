"""`python -m digest`: the library's commands alone; `digestbot` (bot.cli) adds `run`."""

import sys

from .cli import main

sys.exit(main())
