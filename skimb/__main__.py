"""``python -m skimb``: see :mod:`skimb.cli`."""

import sys

from .cli import main

sys.exit(main())
