"""`python -m bot` is the same as the `okr-bot` command."""

import sys

from bot.cli import main

sys.exit(main())
