"""PAN-OS web-UI "Export to CSV": header aliases, spreadsheet dates, multi-line records, chunks."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from analyzer.parsers import paloalto
from analyzer.parsers.base import ParseContext, ParseOptions
from analyzer.parsers.paloalto.export import header_fields
from analyzer.pipeline.read import read_logs
from tests.conftest import SAMPLES as ALL_SAMPLES

SAMPLES = ALL_SAMPLES / "paloalto"

# Internal names, odd case and punctuation, columns in another order than the syslog payload.
HEADER = (
    "receive_time,serial,TYPE,subtype,time_generated,SOURCE ADDRESS,destination address,rule,srcuser,app,"
    "sessionid,sport,dport,proto,action,bytes,Elapsed Time (sec),seqno,pkts_sent,pkts_received,URL"
)


def chunk(lines: list[str], first: int = 1) -> pl.DataFrame:
    return pl.DataFrame({"line_no": pl.Series(range(first, first + len(lines)), dtype=pl.Int64), "text": lines})


def parse_chunks(chunks: list[list[str]], tz: str = "UTC"):
    ctx = ParseContext(file="export.csv", options=ParseOptions(tz=tz))
    outs, first = [], 1
    for lines in chunks:
        out = paloalto.parse(chunk(lines, first), ctx)
        assert out.records.height + out.rejects.height + sum(out.skipped.values()) == len(lines)
        outs.append(out)
        first += len(lines)
    return outs


def test_sample_exports_are_read_by_header_name():
    result = read_logs([str(SAMPLES / "pa3220-export-traffic.csv"), str(SAMPLES / "pa3220-export-url.csv")])
    traffic, url = result.files
    assert (traffic.lines, traffic.records, traffic.rejects, traffic.skipped) == (7, 5, 1, {"header": 1})
    assert (url.lines, url.records, url.rejects, url.skipped) == (4, 3, 0, {"header": 1})
    flows = result.flows
    first = flows.row(0, named=True)
    assert (first["src_ip"], first["dst_ip"], first["dst_port"], first["session_id"]) == (
        "192.0.2.10",
        "203.0.113.50",
        80,
        "410001",
    )
    assert first["bytes"] == 5120 and first["device"] == "0123456789AB" and first["line_no"] == 2
    # "11/17/26 10:01" is a date a spreadsheet re-saved.
    assert flows["time"].to_list()[:2] == [
        datetime(2026, 11, 17, 10, 0, 4, tzinfo=UTC),
        datetime(2026, 11, 17, 10, 1, tzinfo=UTC),
    ]
    assert flows["action"].to_list()[:5] == ["allowed", "allowed", "blocked", "blocked", "allowed"]
    urls = flows.filter(pl.col("host_source") == "log")
    assert urls["dst_host"].to_list() == [
        "download.windowsupdate.com",
        "ctldl.windowsupdate.com",
        "www.update.microsoft.com",
    ]
    assert urls["vendor_action"].to_list() == ["alert", "alert", "block-url"]
    assert result.rejects["reason"].to_list() == [
        "columns cannot be made out: 'Destination address' is 'not-an-address', not an IP address"
    ]


def test_internal_names_multiline_records_and_chunks():
    row = (
        "2026/11/17 10:00:00,0123456789AB,THREAT,url,{t},192.0.2.10,203.0.113.52,r1,{user},ssl,{sid},"
        "51000,443,tcp,{a},,,,,,{u}"
    )
    chunks = [
        [
            "",
            HEADER,
            row.format(t="9/16/19 10:00", user="", sid="1", a="block-url", u="www.update.microsoft.com/"),
            row.format(
                t="2019/09/16 10:00:00", user='"corp\\svc,sccm"', sid="2", a="alert", u='"sws.update.microsoft.com/a'
            ),
            'b"',
            "",
        ],
        [
            row.format(t="2019/09/16 10:00", user="", sid="3", a="alert", u="fe2.update.microsoft.com/"),
            row.format(t="2019/09/16 10:00", user="", sid="4", a="alert", u='"a'),
        ],
        ['b",x', row.format(t="2019/09/16 10:00:01", user="", sid="5", a="alert", u="-/")],
    ]
    first, second, third = parse_chunks(chunks, tz="Europe/Berlin")
    assert first.skipped == {"header": 1, "continuation": 1, "blank": 2}
    r = first.records
    assert r["line_no"].to_list() == [3, 4]
    assert r["time"].to_list() == [datetime(2019, 9, 16, 8, 0, tzinfo=UTC)] * 2
    assert r["user"].to_list() == [None, "corp\\svc,sccm"]
    assert r["dst_host"].to_list() == ["www.update.microsoft.com", "sws.update.microsoft.com"]
    assert r["url_path"].to_list() == ["/", "/a\nb"]
    assert r["action"].to_list() == ["blocked", "allowed"]
    # A quoted field still open at a chunk's end is rejected, and so is its continuation.
    assert second.records["line_no"].to_list() == [7]
    assert second.rejects["line_no"].to_list() == [8]
    assert third.rejects["line_no"].to_list() == [9]
    assert third.records["line_no"].to_list() == [10] and third.records["dst_host"].to_list() == [None]


def test_header_recognition():
    assert header_fields(HEADER) is not None
    old = header_fields((SAMPLES / "pa3220-export-traffic.csv").read_text().splitlines()[0])
    assert old[:8] == ["future_use", "receive_time", "serial", "type", "subtype", None, "generated_time", "src"]
    assert old[-3:] == [None, "packets_sent", "packets_received"]  # cpadding, pkts_sent, pkts_received
    assert header_fields("time,src,dst") is None  # too few known names
    assert header_fields("1,2026/11/16 09:00:03,0123456789AB,TRAFFIC,end,2561,2026/11/16 09:00:03") is None
    fields = header_fields("Receive Time,Source address,Destination address,Destination Port,Action,Padding")
    assert fields == ["receive_time", "src", "dst", "dport", "action", None]


def test_export_without_type_or_required_columns():
    header = "Receive Time,Source address,Destination address,Destination Port,Source Port,Session ID,Action,URL"
    (out,) = parse_chunks([[header, '2026/11/17 10:00:00,192.0.2.10,203.0.113.50,80,51000,9,alert,"x.test/"']])
    assert out.rejects["reason"].to_list() == [
        "columns cannot be made out: protocol (no such column in the export header) is '', not a protocol"
    ]
    header2 = header + ",IP Protocol"
    (out,) = parse_chunks([[header2, '2026/11/17 10:00:00,192.0.2.10,203.0.113.50,80,51000,9,alert,"x.test/",tcp']])
    (flow,) = out.records.to_dicts()
    assert flow["dst_host"] == "x.test" and flow["action"] == "allowed"  # a URL column: a URL-filtering export


def test_a_stray_quote_costs_its_own_row_only(tmp_path):
    """Issue 13 item 1: a quote inside an unquoted field (row 3's Rule), or one that opens a field
    never closed (row 2), is a reject of that row; every other data row is still a flow."""
    lines = (SAMPLES / "pa3220-export-traffic.csv").read_text().splitlines()
    for row, damage in ((3, 'allow"updates'), (2, '"allow-updates')):
        damaged = list(lines)
        damaged[row - 1] = damaged[row - 1].replace("allow-updates", damage, 1)
        path = tmp_path / f"row{row}.csv"
        path.write_text("\n".join(damaged) + "\n")
        (f,) = read_logs([str(path)]).files
        assert (f.lines, f.records, f.rejects, f.skipped) == (7, 4, 2, {"header": 1}), row
        rejects = read_logs([str(path)]).rejects
        assert rejects["line_no"].to_list() == [row, 7]
        assert rejects["reason"][0].endswith("columns cannot be made out")


def test_a_multiline_field_is_joined_only_into_a_whole_record():
    """A field opened on one line and closed lines later is one record only when the joined
    record has the header's columns; otherwise the opening line alone is rejected."""
    row = (
        "2026/11/17 10:00:00,0123456789AB,THREAT,url,2026/11/17 10:00:00,192.0.2.10,203.0.113.52,r1,,ssl,{sid},"
        "51000,443,tcp,alert,,,,,,{u}"
    )
    (out,) = parse_chunks(
        [
            [
                HEADER,
                row.format(sid=1, u='"x.test/a'),  # opened, closed two lines below: one record
                "b",
                'c"',
                row.format(sid=2, u='"y.test/'),  # never closed into a record of 21 columns
                row.format(sid=3, u="z.test/"),
                row.format(sid=4, u='w.test/"'),  # this quote closes nothing and opens nothing
                row.format(sid=5, u="v.test/"),
            ]
        ]
    )
    assert out.records["line_no"].to_list() == [2, 6, 8]
    assert out.records["url_path"].to_list() == ["/a\nb\nc", "/", "/"]
    assert out.rejects["line_no"].to_list() == [5, 7]
    assert out.skipped == {"header": 1, "continuation": 2}
