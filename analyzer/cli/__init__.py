"""The command line: a thin layer over the library.

Each command is a module with ``add_arguments(parser)`` and ``run(args) -> int``, registered in
``COMMANDS``. Errors of the library become one line on stderr and exit code 2; no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from types import MappingProxyType

from .. import __version__
from ..controls import inert
from ..errors import AnalyzerError
from . import check, formats, parse, policy, profiles, remediate, whatif

COMMANDS = MappingProxyType(
    {
        "parse": parse,
        "formats": formats,
        "check": check,
        "profiles": profiles,
        "policy": policy,
        "remediate": remediate,
        "whatif": whatif,
    }
)

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors exit 2 with one line, like ours
        self.exit(EXIT_USAGE, f"{inert(self.prog)}: error: {inert(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="analyzer", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.description = "Compliance analysis of firewall and proxy logs around software update servers."
    parser.add_argument("--version", action="version", version=f"analyzer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, module in COMMANDS.items():
        doc = (module.__doc__ or "").strip().splitlines()
        p = sub.add_parser(name, help=doc[0] if doc else None, description=(module.__doc__ or "").strip())
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 findings at --fail-on, 2 bad input)."""
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):  # plain `analyzer`: what it can do
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    try:
        return args._run(args)
    except AnalyzerError as exc:
        print(f"analyzer: error: {inert(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("analyzer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # the disk filled up, a file vanished: what and where, in one line
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"analyzer: error: {inert(where)}{inert(exc.strerror or exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug: still one line, with the traceback on request
        if os.environ.get("ANALYZER_DEBUG"):
            raise
        print(
            f"analyzer: internal error: {type(exc).__name__}: {inert(str(exc).splitlines()[0] if str(exc) else '')} "
            "(set ANALYZER_DEBUG=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_USAGE


def entry() -> None:
    """The ``analyzer`` command and ``python -m analyzer``: :func:`main`, then exit at once.

    Every output is written and closed when ``main`` returns, so the interpreter's teardown
    (freeing each module and buffer, up to 0.15 s after a big run) is skipped.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more can be said
            stream.flush()
    os._exit(code)
