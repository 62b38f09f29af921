"""``python -m analyzer``: the same as the ``analyzer`` command."""

import sys

from .cli import main

sys.exit(main())
