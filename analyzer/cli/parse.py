"""Parse logs into normalized flows (Parquet or CSV), with rejects and a per-file summary.

Prints, per file, its format, lines, flows, rejects and the first reject's line number.
Exits 2 with one line on unreadable paths, unknown formats or a file where nothing parses.
"""

from __future__ import annotations

from ..output import FrameWriter, format_of, write_frame
from ..read import read_logs
from ..schema import FLOW_SCHEMA
from .common import add_input_arguments, files_table, parse_options, print_table, progress_bar


def add_arguments(parser) -> None:
    add_input_arguments(parser)
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="flows file: .parquet or .csv")
    parser.add_argument("--rejects", metavar="FILE", help="write rejected lines (file, line, reason, raw) here")


def run(args) -> int:
    format_of(args.output)
    if args.rejects:
        format_of(args.rejects)
    options = parse_options(args)
    with FrameWriter(args.output, FLOW_SCHEMA) as writer, progress_bar(args.quiet) as progress:
        result = read_logs(
            args.paths,
            format=args.format,
            options=options,
            progress=progress,
            sink=lambda kind, frame: writer.write(frame) if kind == "flows" else None,
        )
    if args.rejects:
        write_frame(result.rejects, args.rejects)
    print_table(files_table(result), args.quiet)
    if not args.quiet:
        print(f"{writer.rows:,} flows written to {args.output}")
    return 0
