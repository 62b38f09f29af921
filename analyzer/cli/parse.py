"""Parse logs into normalized flows (Parquet or CSV), with rejects and a per-file summary.

Prints, per file, its format, lines, flows, rejects and the first reject's line number.
Exits 2 with one line on unreadable paths, unknown formats or a file where nothing parses.
"""

from __future__ import annotations

import polars as pl

from .. import attribution
from ..output import FrameWriter, format_of, write_frame
from ..read import read_logs
from ..schema import FLOW_SCHEMA
from .common import add_input_arguments, files_table, parse_options, print_table, progress_bar


def add_arguments(parser) -> None:
    add_input_arguments(parser)
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="flows file: .parquet or .csv")
    parser.add_argument("--rejects", metavar="FILE", help="write rejected lines (file, line, reason, raw) here")
    parser.add_argument(
        "--dns",
        nargs="+",
        default=[],
        metavar="PATH",
        help="DNS evidence (dnscsv, Zeek dns.log) that ties IP-only flows to host names",
    )


def run(args) -> int:
    format_of(args.output)
    if args.rejects:
        format_of(args.rejects)
    options = parse_options(args)
    dns = attribution.read_evidence(args.dns, options) if args.dns else None
    with progress_bar(args.quiet) as progress:
        result = read_logs(args.paths, format=args.format, options=options, progress=progress)
    # Attribution needs every flow and all evidence at once (a host seen through the proxy in one
    # file names an address in another), so flows are attributed in memory, then written.
    evidence = [e for e in (result.evidence.get("dns"), dns.evidence.get("dns") if dns else None) if e is not None]
    flows = attribution.attribute(result.flows, pl.concat(evidence) if evidence else None)
    if dns:
        result.files.extend(dns.files)
    with FrameWriter(args.output, FLOW_SCHEMA) as writer:
        writer.write(flows)
    if args.rejects:
        write_frame(result.rejects, args.rejects)
    print_table(files_table(result), args.quiet)
    if not args.quiet:
        print(attribution.summary(flows))
        print(f"{writer.rows:,} flows written to {args.output}")
    return 0
