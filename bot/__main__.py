"""`python -m bot`: run the bot (the same as `digestbot run`)."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:] or ["run"]))
