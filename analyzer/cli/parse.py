"""Parse logs into normalized flows (Parquet or CSV), with rejects and a per-file summary.

Prints, per file, its format, lines, flows, rejects and the first reject's line number.
Exits 2 with one line on unreadable paths, unknown formats or a file where nothing parses.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .. import attribution
from ..output import FrameWriter, check_output_file, format_of, write_frame
from ..read import read_logs
from ..schema import FLOW_SCHEMA
from .common import (
    add_dns_window_argument,
    add_input_arguments,
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
        help="DNS evidence (dnscsv, Zeek dns.log) that ties IP-only flows to host names",
    )
    add_dns_window_argument(parser)


_BATCH_ROWS = 256 * 1024


def run(args) -> int:
    # Both outputs are checked before reading: the flows file must not be written only for the
    # rejects file to fail afterwards.
    check_output_file(args.output, "-o")
    if args.rejects:
        check_output_file(args.rejects, "--rejects")
    options = parse_options(args)
    window, use_ttl = attribution.dns_window(args.dns_window)
    dns = attribution.read_evidence(args.dns, options) if args.dns else None
    out = Path(args.output)
    # Flows stream to a temporary Parquet file chunk by chunk, so memory stays bounded whatever
    # the size of the logs. Only when some flows are IP-only does a second pass load them all:
    # attribution needs every flow and all evidence at once (a host seen through the proxy in
    # one file names an address in another).
    partial = out.with_name(f".{out.name}.partial.parquet")
    evidence: list[pl.DataFrame] = [dns.evidence["dns"]] if dns and "dns" in dns.evidence else []
    ip_only = carriers = 0

    def sink(kind: str, frame: pl.DataFrame) -> None:
        nonlocal ip_only, carriers
        if kind == "flows":
            counts = frame.select(
                attribution.IP_ONLY.sum().alias("ip_only"),
                attribution.CARRIES_EVIDENCE.sum().alias("carriers"),
            )
            ip_only += int(counts["ip_only"][0])
            carriers += int(counts["carriers"][0])
            writer.write(frame)
        else:
            evidence.append(frame)

    try:
        with FrameWriter(partial, FLOW_SCHEMA) as writer, progress_bar(args.quiet) as progress:
            result = read_logs(args.paths, format=args.format, options=options, progress=progress, sink=sink)
        if dns:
            result.files.extend(dns.files)
        # Evidence comes from DNS records or from flows that carry some (Squid next hops, PAN-OS
        # URL logs); without either, IP-only flows stay unattributed and need no second pass.
        wanted = bool(ip_only and (evidence or carriers))
        # What attribution needs from all flows is read from the streamed file (a few columns);
        # then the flows are attributed and written batch by batch, in bounded memory.
        found = pl.concat(evidence) if evidence else None
        idx = (
            attribution.index(pl.scan_parquet(partial, glob=False), found, window=window, use_ttl=use_ttl)
            if wanted
            else None
        )
        if idx is not None:
            counts = None
            with FrameWriter(out, FLOW_SCHEMA) as final:
                for batch in pl.scan_parquet(partial, glob=False).collect_batches(chunk_size=_BATCH_ROWS):
                    flows = attribution.attribute_batch(batch, idx)
                    final.write(flows)
                    counts = attribution.tally(flows, counts)
            attributed = attribution.summary_line(counts)
        elif wanted:  # evidence, but none about these flows
            attributed = attribution.summary_line(pl.DataFrame({"source": [None], "len": [ip_only]}))
            _move(partial, out)
        else:
            attributed = (
                f"no evidence to attribute {ip_only:,} IP-only flows (give DNS evidence with --dns)"
                if ip_only
                else "no IP-only flows to attribute"
            )
            _move(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    if args.rejects:
        write_frame(result.rejects, args.rejects)
    print_table(files_table(result), args.quiet)
    if not args.quiet:
        say(attributed)
        say(f"{writer.rows:,} flows written to {args.output}")
    return 0


def _move(partial: Path, out: Path) -> None:
    """Put the streamed flows at ``out``: a rename for Parquet, a batched conversion for CSV."""
    if format_of(out) == "parquet":
        partial.replace(out)
        return
    import pyarrow.parquet as pq

    with FrameWriter(out, FLOW_SCHEMA) as final:
        for batch in pq.ParquetFile(partial).iter_batches(batch_size=256 * 1024):
            final.write(pl.from_arrow(batch).cast(FLOW_SCHEMA))
