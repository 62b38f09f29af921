"""dnscsv: the documented DNS evidence CSV."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from analyzer.flows import EVIDENCE_SCHEMA
from analyzer.parsers.base import ParseContext, ParseOptions
from analyzer.parsers.dns import dnscsv
from analyzer.pipeline.read import read_logs
from tests.conftest import SAMPLES

HEADER = "time,client,query,type,answer,ttl"


def parse(lines: list[str], tz: str = "UTC", state=None):
    frame = pl.DataFrame({"line_no": pl.Series(range(1, len(lines) + 1), dtype=pl.Int64), "text": lines})
    ctx = ParseContext(file="dns.csv", options=ParseOptions(tz=tz), state=state)
    out = dnscsv.parse(frame, ctx)
    assert out.records.height + out.rejects.height + sum(out.skipped.values()) == len(lines)
    assert out.records.schema == EVIDENCE_SCHEMA
    return out


def test_rows_are_normalized():
    out = parse(
        [
            HEADER,
            "2026-11-03T08:58:12.118Z,192.0.2.10,WWW.Update.Microsoft.com.,CNAME,Update.Microsoft.com.nsatc.net.,3600",
            '"2026-11-03T09:58:12+01:00","192.0.2.10","www.update.microsoft.com","1","::ffff:203.0.113.50","186"',
            "2026-11-03 09:58:12,,dl.delivery.mp.microsoft.com,28,2001:DB8:4001:0::50,",
            "2026-11-03T08:58:13Z,192.0.2.10,nothing.example.com,A,,",
        ],
        tz="Europe/Berlin",
    )
    r = out.records
    assert r["time"].to_list() == [datetime(2026, 11, 3, 8, 58, 12, 118000, tzinfo=UTC)] + [
        datetime(2026, 11, 3, 8, 58, 12, tzinfo=UTC)
    ] * 2 + [datetime(2026, 11, 3, 8, 58, 13, tzinfo=UTC)]
    assert r["query"].to_list()[:2] == ["www.update.microsoft.com"] * 2
    assert r["type"].to_list() == ["CNAME", "A", "AAAA", "A"]
    assert r["answers"].to_list() == [["update.microsoft.com.nsatc.net"], ["203.0.113.50"], ["2001:db8:4001::50"], []]
    assert r["ttls"].to_list() == [[3600], [186], [None], []]
    assert r["client"].to_list() == ["192.0.2.10", "192.0.2.10", None, "192.0.2.10"]
    assert r["host_source"].to_list() == ["dns"] * 4


def test_header_order_is_free_and_extra_columns_ignored():
    out = parse(["answer,Type,query,time,comment", "203.0.113.9,A,host.example.com,2026-11-03T08:00:00Z,seen"])
    assert out.records["answers"].to_list() == [["203.0.113.9"]]
    assert out.records["query"].to_list() == ["host.example.com"]


def test_bad_lines_are_rejects_with_reasons():
    out = parse(
        [
            "2026-11-03T08:00:00Z,192.0.2.10,a.example.com,A,203.0.113.1,60",
            HEADER,
            "yesterday,192.0.2.10,a.example.com,A,203.0.113.1,60",
            "2026-11-03T08:00:00Z,192.0.2.10,a.example.com,A,203.0.113.1",
            "2026-11-03T08:00:00Z,192.0.2.10,a.example.com,A,203.0.113.1,soon",
            "2026-11-03T08:00:00Z,192.0.2.10,,A,203.0.113.1,60",
            "# a comment",
            "",
        ]
    )
    assert out.rejects["reason"].to_list() == [
        "no header line (time,client,query,type,answer,ttl) before this line",
        "time is not ISO 8601 (or does not exist in UTC): 'yesterday'",
        "not 6 comma-separated fields as the header names",
        "ttl is not a number of seconds: 'soon'",
        "query is empty",
    ]
    assert out.skipped == {"header": 1, "comment": 1, "blank": 1}


def test_header_carries_across_chunks():
    state = dnscsv.HeaderState()  # what one file's chunks share
    parse([HEADER], state=state)
    out = parse(["2026-11-03T08:00:00Z,192.0.2.10,a.example.com,A,203.0.113.1,60"], state=state)
    assert out.records.height == 1


def test_sniff():
    assert dnscsv.sniff(["# export", HEADER], ParseOptions())
    assert dnscsv.sniff(['"time","client","query","type","answer","ttl"'], ParseOptions())
    assert not dnscsv.sniff(["time,src,dst"], ParseOptions())


def test_sample():
    result = read_logs([str(SAMPLES / "dnscsv")])
    (f,) = result.files
    assert (f.format, f.kind, f.rejects) == ("dnscsv", "dns", 0)
    ev = result.evidence["dns"]
    assert ev.height == f.records
    assert "www.update.microsoft.com" in ev["query"].to_list()


def test_lines_split_on_commas_equal_the_quote_aware_reading():
    # Lines without quotes are split on commas; the others go through the quote-aware regex.
    # Both must give the same fields, whatever the spacing and the number of fields.
    from analyzer.parsers.dns.dnscsv import _fields, _split_fields

    texts = [
        "2026-11-03T09:00:00Z,192.0.2.10,download.windowsupdate.com,A,203.0.113.60,30",
        "  2026-11-03T09:00:00Z , 192.0.2.10 ,x.test, A ,203.0.113.60 , 30  ",
        "2026-11-03T09:00:00Z,,x.test,A,,",
        "2026-11-03T09:00:00Z,192.0.2.10,x.test,A,203.0.113.60",  # five fields
        "2026-11-03T09:00:00Z,192.0.2.10,x.test,A,203.0.113.60,30,extra",  # seven
        '2026-11-03T09:00:00Z,192.0.2.10,"x, quoted.test",A,"203.0.113.60",30',
        "",
    ]
    frame = pl.DataFrame({"line_no": pl.Series(range(1, len(texts) + 1), dtype=pl.Int64), "text": texts})
    by_regex = frame.with_columns(_fields(pl.col("text"), 6).alias("_g")).unnest("_g")
    stripped = [pl.col(c).str.strip_chars() for c in by_regex.columns if c not in ("line_no", "text")]
    assert _split_fields(frame, 6).select("line_no", *stripped).equals(by_regex.select("line_no", *stripped))
