"""`python -m digest` is the `digestbot` command."""

import sys

from .cli import main

sys.exit(main())
