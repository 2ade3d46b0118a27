"""`python -m bot`: the bot's entry point. Until the runtime lands it shows the command help."""

import sys

from digest.cli import main

sys.exit(main(sys.argv[1:] or ["--help"]))
