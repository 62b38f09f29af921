"""Parse logs into normalized flows (Parquet or CSV), with rejects and a per-file summary.

Prints, per file, its format, lines, flows, rejects and the first reject's line number.
Exits 2 with one line on unreadable paths, unknown formats or a file where nothing parses.
"""

from __future__ import annotations

from ..output import check_output_file, write_frame
from ..pipeline.stream import parse_to_file
from .common import (
    add_dns_window_argument,
    add_input_arguments,
    dns_formats,
    files_table,
    parse_options,
    print_table,
    progress_bar,
    say,
)


def add_arguments(parser) -> None:
    add_input_arguments(parser)
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="flows file: .parquet or .csv")
    parser.add_argument("--rejects", metavar="FILE", help="write rejected lines (file, line, reason, raw) here")
    parser.add_argument(
        "--dns",
        nargs="+",
        default=[],
        metavar="PATH",
        help=f"DNS evidence ({', '.join(dns_formats())}) that ties IP-only flows to host names",
    )
    add_dns_window_argument(parser)


def run(args) -> int:
    # Both outputs are checked before reading: the flows file must not be written only for the
    # rejects file to fail afterwards.
    check_output_file(args.output, "-o")
    if args.rejects:
        check_output_file(args.rejects, "--rejects")
    with progress_bar(args.quiet) as progress:
        done = parse_to_file(
            args.paths,
            args.output,
            format=args.format,
            options=parse_options(args),
            dns=args.dns,
            dns_window=args.dns_window,
            progress=progress,
        )
    if args.rejects:
        write_frame(done.read.rejects, args.rejects)
    print_table(files_table(done.read), args.quiet)
    if not args.quiet:
        say(done.attributed)
        say(f"{done.rows:,} flows written to {args.output}")
    return 0
