"""The four error classes of the analyzer.

Library code raises these; the CLI turns each into one line on stderr and exit code 2.
Every error carries where it happened, so the message alone tells the user what to fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AnalyzerError(Exception):
    """Base class of every error the analyzer reports to its user.

    Example: ``except AnalyzerError as exc: print(exc)`` prints one line that says what to fix.
    """


class InputError(AnalyzerError):
    """A log file that cannot be read or parsed (file, optionally line).

    Example: ``InputError("no such file", file="access.log")``.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        self.file = file
        self.line = line
        where = file or ""
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}" if where else message)


class PolicyError(AnalyzerError):
    """A policy, profile or site file that is wrong (file, key, what is wrong).

    Example: ``PolicyError("unknown upstream 'X'", file="site.toml", key="server[0].upstream")``.
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None):
        self.file = file
        self.key = key
        parts = [p for p in (file, key) if p]
        super().__init__(f"{': '.join(parts)}: {message}" if parts else message)


class UnknownNameError(AnalyzerError):
    """A name (format, profile, server) that does not exist, with "did you mean".

    Example: ``UnknownNameError("format", "squidd", ["squid", "paloalto"])``.
    """

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        close = difflib.get_close_matches(name, self.known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        super().__init__(f"unknown {kind} '{name}'{hint} (known: {', '.join(self.known)})")
