"""zeekdns: Zeek dns.log TSV with its #fields header."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from analyzer.flows import EVIDENCE_SCHEMA
from analyzer.parsers.base import ParseContext, ParseOptions
from analyzer.parsers.dns import zeekdns
from analyzer.pipeline.read import read_logs
from tests.conftest import SAMPLES

HEAD = [
    "#separator \\x09",
    "#set_separator\t,",
    "#empty_field\t(empty)",
    "#unset_field\t-",
    "#path\tdns",
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name"
    "\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected",
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring"
    "\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool",
]


def row(ts, query, answers, ttls, qtype="A"):
    conn = ["CHhAvVGS1DHFjwGM9", "192.0.2.53", "41233", "198.51.100.53", "53", "udp", "4711", "0.01"]
    flags = ["0", "NOERROR", "F", "F", "T", "T", "0"]
    return "\t".join([ts, *conn, query, "1", "C_INTERNET", "1", qtype, *flags, answers, ttls, "F"])


def parse(lines: list[str], state=None):
    frame = pl.DataFrame({"line_no": pl.Series(range(1, len(lines) + 1), dtype=pl.Int64), "text": lines})
    ctx = ParseContext(file="dns.log", options=ParseOptions(), state=state)
    out = zeekdns.parse(frame, ctx)
    assert out.records.height + out.rejects.height + sum(out.skipped.values()) == len(lines)
    assert out.records.schema == EVIDENCE_SCHEMA
    return out


def test_vectors_unset_and_empty():
    out = parse(
        [
            *HEAD,
            row(
                "1793696405.880000",
                "Download.WindowsUpdate.com",
                "download.windowsupdate.com.edgesuite.net,a767.dspw65.akamai.net,198.51.100.61",
                "3600.000000,21600.000000,20.000000",
            ),
            row("1793696406.000000", "wpad.corp.example.com", "-", "-"),
            row("1793696407.000000", "_ldap._tcp.example.com", "(empty)", "(empty)", qtype="SRV"),
            "#close\t2026-11-04-00-00-00",
        ]
    )
    r = out.records
    assert r["time"][0] == datetime(2026, 11, 3, 9, 0, 5, 880000, tzinfo=UTC)
    assert r["query"][0] == "download.windowsupdate.com"
    assert r["answers"].to_list() == [
        ["download.windowsupdate.com.edgesuite.net", "a767.dspw65.akamai.net", "198.51.100.61"],
        [],
        [],
    ]
    assert r["ttls"].to_list() == [[3600, 21600, 20], [], []]
    assert r["type"].to_list() == ["A", "A", "SRV"]
    assert r["client"].to_list() == ["192.0.2.53"] * 3
    assert out.skipped == {"header": len(HEAD) + 1}


def test_wrong_field_count_and_bad_ts_are_rejects():
    out = parse([*HEAD, row("1793696405.88", "a.example.com", "-", "-")[:40], row("soon", "a.example.com", "-", "-")])
    assert out.rejects["reason"].to_list()[0].startswith("24 fields expected by #fields, ")
    assert out.rejects["reason"].to_list()[1] == "ts is not epoch seconds: 'soon'"


def test_lines_before_fields_and_header_across_chunks():
    out = parse([row("1793696405.88", "a.example.com", "-", "-")])
    assert out.rejects["reason"].to_list() == ["no #fields header before this line"]
    state = zeekdns.Settings()  # what one file's chunks share
    parse(HEAD, state=state)
    assert parse([row("1793696405.88", "a.example.com", "203.0.113.1", "60.0")], state=state).records.height == 1


def test_sniff():
    assert zeekdns.sniff(HEAD, ParseOptions())
    assert not zeekdns.sniff(["#separator \\x09", "#path\tconn", "#fields\tts\tuid\tid.orig_h"], ParseOptions())


def test_sample():
    result = read_logs([str(SAMPLES / "zeekdns")])
    (f,) = result.files
    assert (f.format, f.kind, f.rejects) == ("zeekdns", "dns", 0)
    assert result.evidence["dns"].height == f.records
