"""``python -m analyzer``: the same as the ``analyzer`` command."""

from .cli import entry

entry()
