"""``python -m analyzer`` and the ``analyzer`` command.

The process settings (allocator tuning, :mod:`analyzer.pipeline.process`) are applied here,
first, before polars is loaded; a library user's ``import analyzer`` changes nothing in the
process.
"""

from __future__ import annotations


def main() -> None:
    """Apply the process settings, then run the command line (and exit)."""
    from .pipeline import process

    process.configure()
    from .cli import entry  # imports polars: after the settings

    entry()


if __name__ == "__main__":
    main()
