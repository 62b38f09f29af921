"""PAN-OS syslog: header forms, every version's column count, quoting, anchors, actions, hosts, time."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from analyzer.parsers import REGISTRY, paloalto
from analyzer.parsers.base import ParseContext, ParseOptions
from analyzer.parsers.paloalto import csvsplit as paloalto_csv
from analyzer.parsers.paloalto import syslog
from analyzer.pipeline.read import read_logs
from analyzer.sources import LineChunk
from tests.conftest import SAMPLES

# PAN-OS 8.1 lines as Elastic's test data has them (65 and 76 columns), the base of the lines
# built below; positions are set by index and lines padded to each version's column count.
TRAFFIC_81 = (
    "1,2026/11/16 09:00:03,0123456789AB,TRAFFIC,end,2561,2026/11/16 09:00:03,192.0.2.10,203.0.113.50,"
    "203.0.113.1,203.0.113.50,allow-updates,,,ms-update,vsys1,trust,untrust,ethernet1/2,ethernet1/1,fwd,"
    "2026/11/16 09:00:03,400117,1,51001,80,51001,80,0x400053,tcp,allow,7734,1758,5976,36,2026/11/16 08:59:04,"
    "586,computer-and-internet-info,0,32091112,0x0,192.0.2.0-192.0.2.255,United States,0,16,20,tcp-fin,0,0,0,0,"
    ",PA-3220,from-policy,,,0,,0,,N/A,0,0,0,0"
)
URL_81 = (
    "1,2026/11/16 09:00:01,0123456789AB,THREAT,url,2561,2026/11/16 09:00:01,192.0.2.10,203.0.113.50,"
    "203.0.113.1,203.0.113.50,allow-updates,,,ms-update,vsys1,trust,untrust,ethernet1/2,ethernet1/1,fwd,"
    '2026/11/16 09:00:01,400117,1,51001,80,51001,80,0x403000,tcp,alert,"download.windowsupdate.com/msdownload/a.cab",'
    "(9999),computer-and-internet-info,informational,client-to-server,7726,0x0,192.0.2.0-192.0.2.255,"
    "United States,0,,0,,,0,,,,,,,,0,0,0,0,0,,PA-3220,,,,,0,,0,,N/A,N/A,AppThreat-0-0,0x0,0,4294967295,,"
)


def payload(base: str, n: int | None = None, **at: str) -> str:
    """``base`` with columns set (``c30="deny"``) and cut or padded to ``n`` columns."""
    cols = next(csv.reader([base]))
    if n is not None:
        cols = (cols + [""] * n)[:n]
    for key, value in at.items():
        cols[int(key[1:])] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cols)
    return out.getvalue()


def parse(lines: list[str], tz: str = "UTC"):
    """Parse ``lines`` from their text and, as the reader does, from their bytes: both must give
    the same output."""
    ctx = ParseContext(file="pan.log", options=ParseOptions(tz=tz))
    frame = pl.DataFrame({"line_no": pl.Series(range(1, len(lines) + 1), dtype=pl.Int64), "text": lines})
    out = paloalto.parse(frame, ctx)
    assert out.records.height + out.rejects.height + sum(out.skipped.values()) == len(lines)
    assert out.records["line_no"].is_sorted() and out.rejects["line_no"].is_sorted()
    data = "\n".join(lines).encode()
    if not any(line.count('"') % 2 for line in lines):  # quotes all closed: the bytes are read at once
        assert syslog._split_bytes(data, frame) is not None
    from_bytes = paloalto.parse_chunk(LineChunk(frame, 0, data), ctx)
    assert from_bytes.records.equals(out.records) and from_bytes.rejects.equals(out.rejects)
    assert (from_bytes.skipped, from_bytes.notes) == (out.skipped, out.notes)
    return out


def reasons(out) -> dict[int, str]:
    return dict(zip(out.rejects["line_no"].to_list(), out.rejects["reason"].to_list(), strict=True))


@pytest.mark.parametrize(
    "header",
    [
        "<14>Nov 16 09:00:03 PA-3220 ",  # BSD with PRI and host
        "Nov 16 09:00:03 PA-3220 ",  # no PRI
        "<14>Nov  6 09:00:03 ",  # space-padded day, no host
        "<14>1 2026-11-16T09:00:03+01:00 PA-3220 - - - - ",  # RFC 5424
        "2026-11-16T09:00:03+01:00 relay.corp.example.com ",  # relay-rewritten ISO header
        '<14>1 2026-11-16T09:00:03Z pa,3220 - - [meta a="1,2"] ',  # commas and quotes in the header
        "",  # no header at all
    ],
)
def test_any_header_form(header):
    out = parse([header + TRAFFIC_81])
    assert out.rejects.height == 0
    (flow,) = out.records.to_dicts()
    assert (flow["src_ip"], flow["dst_ip"], flow["dst_port"], flow["session_id"]) == (
        "192.0.2.10",
        "203.0.113.50",
        80,
        "400117",
    )
    assert flow["device"] == "0123456789AB" and flow["rule"] == "allow-updates" and flow["app"] == "ms-update"


@pytest.mark.parametrize("n", [46, 65, 76, 115, 117])
def test_traffic_at_every_column_count(n):
    hires = {"c102": "2026-11-16T09:00:03.250+01:00"} if n > 102 else {}
    out = parse(["<14>Nov 16 09:00:03 PA-3220 " + payload(TRAFFIC_81, n, **hires)], tz="Europe/Berlin")
    (flow,) = out.records.to_dicts()
    assert flow["bytes"] == 7734 and flow["protocol"] == "tcp" and flow["scheme"] == "http"
    assert flow["end_reason"] == (None if n <= 46 else "tcp-fin")
    assert flow["dst_host"] is None and flow["host_source"] is None  # TRAFFIC has no names
    expected_ms = 250_000 if n > 102 else 0  # the high-resolution stamp where the version has one
    assert flow["time"] == datetime(2026, 11, 16, 8, 0, 3, expected_ms, tzinfo=UTC)
    extra = json.loads(flow["extra"])
    assert extra["type"] == "TRAFFIC" and extra["subtype"] == "end" and extra["bytes_sent"] == 1758
    assert extra["device_name"] == (None if n <= 52 else "PA-3220")


@pytest.mark.parametrize("n", [42, 45, 76, 121, 123])
def test_url_logs_at_every_column_count(n):
    hires = {"c107": "2026-11-16T09:00:01.500+01:00"} if n > 107 else {}
    out = parse([payload(URL_81, n, **hires)], tz="Europe/Berlin")
    (flow,) = out.records.to_dicts()
    assert flow["dst_host"] == "download.windowsupdate.com" and flow["host_source"] == "log"
    assert flow["url_path"] == "/msdownload/a.cab" and flow["dst_port"] == 80 and flow["scheme"] == "http"
    assert flow["action"] == "allowed" and flow["vendor_action"] == "alert" and flow["bytes"] is None
    assert flow["time"] == datetime(2026, 11, 16, 8, 0, 1, 500_000 if n > 107 else 0, tzinfo=UTC)
    extra = json.loads(flow["extra"])
    assert extra["subtype"] == "url" and extra["direction"] == "client-to-server" and extra["threat"] == "(9999)"


@pytest.mark.parametrize(
    ("url", "host", "url_port", "path"),
    [
        ("www.sekoia.io:443/catalog/integrations?query=this", "www.sekoia.io", 443, "/catalog/integrations?query=this"),
        ("Test.FR.:9999/", "test.fr", 9999, "/"),
        ("-/", None, None, "/"),
        ("[2001:db8::1]:8443/x", "2001:db8::1", 8443, "/x"),
        ("ctldl.windowsupdate.com/a,b", "ctldl.windowsupdate.com", None, "/a,b"),
        ('download.microsoft.com/say"hi"', "download.microsoft.com", None, '/say"hi"'),
        ("", None, None, None),
    ],
)
def test_url_host_port_path(url, host, url_port, path):
    (flow,) = parse([payload(URL_81, c31=url)]).records.to_dicts()
    assert (flow["dst_host"], flow["dst_port"], flow["url_path"]) == (host, 80, path)
    assert flow["host_source"] == ("log" if host else None)
    assert json.loads(flow["extra"])["url_port"] == url_port


def test_addresses_out_of_range_are_rejects():
    """Issue 13 item 11: one definition of an address for every parser (octets up to 255)."""
    out = parse([payload(TRAFFIC_81, c8="203.0.113.256"), payload(TRAFFIC_81, c7="x.x.x.79")])
    assert out.records.height == 0
    assert [r.split(",")[0] for r in out.rejects["reason"]] == [
        "columns cannot be made out: destination address (column 8) is '203.0.113.256'",
        "columns cannot be made out: source address (column 7) is 'x.x.x.79'",
    ]


def test_url_log_port_is_the_sessions_column_not_the_urls():
    """Issue 13 item 10: ``host:9999/path`` on a session to port 2222 is a flow to 2222; the
    URL's port is kept in ``extra``."""
    (flow,) = parse([payload(URL_81, c31="x.test:9999/path", c25="2222")]).records.to_dicts()
    assert (flow["dst_host"], flow["dst_port"], flow["url_path"]) == ("x.test", 2222, "/path")
    assert json.loads(flow["extra"])["url_port"] == 9999


def test_scheme_from_port_then_app():
    lines = [
        payload(TRAFFIC_81, c25="443", c14="ms-update"),
        payload(TRAFFIC_81, c25="8531", c14="ms-update"),
        payload(TRAFFIC_81, c25="8443", c14="ssl"),
        payload(TRAFFIC_81, c25="8080", c14="web-browsing"),
        payload(TRAFFIC_81, c25="53", c14="dns", c29="udp"),
    ]
    assert parse(lines).records["scheme"].to_list() == ["https", "https", "https", "http", None]


@pytest.mark.parametrize(
    ("kind", "raw", "action"),
    [
        ("TRAFFIC", "allow", "allowed"),
        ("TRAFFIC", "deny", "blocked"),
        ("TRAFFIC", "drop", "blocked"),
        ("TRAFFIC", "drop ICMP", "blocked"),
        ("TRAFFIC", "reset-client", "blocked"),
        ("TRAFFIC", "reset-server", "blocked"),
        ("TRAFFIC", "reset-both", "blocked"),
        ("URL", "block-url", "blocked"),
        ("URL", "block-continue", "blocked"),
        ("URL", "block-override", "blocked"),
        ("URL", "override-lockout", "blocked"),
        ("URL", "deny", "blocked"),
        ("URL", "drop", "blocked"),
        ("URL", "reset-both", "blocked"),
        ("URL", "block-ip", "blocked"),
        ("URL", "sinkhole", "blocked"),
        ("URL", "alert", "allowed"),
        ("URL", "allow", "allowed"),
        ("URL", "continue", "allowed"),
        ("URL", "override", "allowed"),
    ],
)
def test_actions(kind, raw, action):
    base = TRAFFIC_81 if kind == "TRAFFIC" else URL_81
    (flow,) = parse([payload(base, c30=raw)]).records.to_dicts()
    assert (flow["action"], flow["vendor_action"]) == (action, raw)


def test_other_threat_subtypes_are_flows_with_their_subtype():
    line = payload(URL_81, c4="vulnerability", c30="reset-both", c31="ad.aspx?f=300x250", c32="HTTP: IIS DoS(40019)")
    (flow,) = parse([line]).records.to_dicts()
    assert flow["action"] == "blocked" and flow["dst_host"] is None and flow["url_path"] is None
    extra = json.loads(flow["extra"])
    assert (extra["subtype"], extra["threat"], extra["url"]) == (
        "vulnerability",
        "HTTP: IIS DoS(40019)",
        "ad.aspx?f=300x250",
    )


def test_quoting_relay_escapes_and_brace_lists():
    n115 = {"c102": "2026-11-16T09:00:03.750+01:00", "c109": "able-to-transfer-file,pervasive-use"}
    plain = payload(TRAFFIC_81, 115, **n115)
    escaped = plain.replace('"', '\\"')
    cols = next(csv.reader([plain]))
    cols[69] = "{ethernet1/1,ethernet1/3}"
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cols)
    braces = out.getvalue().replace('"{ethernet1/1,ethernet1/3}"', "{ethernet1/1,ethernet1/3}")
    assert "{ethernet1/1,ethernet1/3}," in braces and '\\"' in escaped
    result = parse(["<14>Nov 16 09:00:03 PA-3220 " + x for x in (plain, escaped, braces)])
    assert result.rejects.height == 0
    # Column 102 is only right if the list's commas did not shift it.
    assert result.records["time"].to_list() == [datetime(2026, 11, 16, 8, 0, 3, 750_000, tzinfo=UTC)] * 3


def test_lines_whose_columns_cannot_be_made_out_are_rejects():
    lines = [
        payload(TRAFFIC_81).replace(",203.0.113.50,203.0.113.1,", ",203.0.113,50,203.0.113.1,"),  # comma in an IP
        payload(TRAFFIC_81, c25="80x"),
        payload(TRAFFIC_81, c30="permit"),
        payload(TRAFFIC_81, c22="abc"),
        payload(TRAFFIC_81, c29="0x400053"),
        payload(TRAFFIC_81, c6="yesterday"),
        payload(TRAFFIC_81, 20),
        URL_81.replace('"download.windowsupdate.com/msdownload/a.cab"', '"download.windowsupdate.com/a'),
        TRAFFIC_81,
        "",
        "<14>Nov 16 09:00:03 PA-3220 CEF:0|Palo Alto Networks|PAN-OS|10.2|end|TRAFFIC|1|rt=...",
        "<14>Nov 16 09:00:03 PA-3220 type=TRAFFIC src=192.0.2.10 dst=203.0.113.50",
        "1,2026/11/16 09:09:00,0123456789AB,SYSTEM,general,0,2026/11/16 09:09:00,,general,,0,0,general,informational",
        payload(TRAFFIC_81, c3="GIZMO"),
        "1,2026/11/16 09:00:03,0123456789AB,TRAFFIC,end,2561,2026/11/16 09:00:03",
    ]
    out = parse(lines)
    why = reasons(out)
    assert out.records["line_no"].to_list() == [9]  # the well-formed line, after the unbalanced one
    assert out.skipped == {"blank": 1}
    assert why[1] == "columns cannot be made out: destination address (column 8) is '203.0.113', not an IP address"
    assert "destination port (column 25) is '80x'" in why[2]
    assert why[3] == "unknown TRAFFIC action 'permit' in action (column 30)"
    assert "session id (column 22) is 'abc'" in why[4]
    assert "protocol (column 29) is '0x400053'" in why[5]
    assert "generated time (column 6) is 'yesterday'" in why[6]
    assert why[7].startswith("truncated TRAFFIC line")
    assert why[8].startswith("a quoted field is not closed")
    assert why[11].startswith("CEF/LEEF")
    assert why[12].startswith("key=value")
    assert why[13].startswith("PAN-OS SYSTEM log: not a connection")
    assert why[14] == "unknown PAN-OS log type 'GIZMO' in log type (column 3)"
    assert why[15].startswith("truncated TRAFFIC line")


def test_time_zone_dst_and_notes():
    lines = [
        payload(TRAFFIC_81, c6="2026/07/01 12:00:00"),
        payload(TRAFFIC_81, c6="2026/03/29 02:30:00"),  # does not exist in Berlin (spring gap)
        payload(TRAFFIC_81, c6="2026/10/25 02:30:00"),  # exists twice: alone, read as the first
    ]
    out = parse(lines, tz="Europe/Berlin")
    assert out.notes == {"timezone": "Europe/Berlin", "ambiguous_times": 1}
    assert out.records["time"].to_list() == [
        datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    ]
    assert "does not exist in Europe/Berlin: it falls in the hour skipped" in reasons(out)[2]
    # Generated time (column 6), not receive time (column 1), is the flow's time.
    (flow,) = parse([payload(TRAFFIC_81, c1="2026/11/16 09:30:00")]).records.to_dicts()
    assert flow["time"] == datetime(2026, 11, 16, 9, 0, 3, tzinfo=UTC)


def test_repeated_autumn_hour_read_by_line_order():
    """Issue 13 item 15: in a log in order, a time in the repeated hour after a later one of that
    hour is its second pass; the notes count the ambiguous times."""
    times = ["2026/10/25 02:10:00", "2026/10/25 02:59:00", "2026/10/25 02:05:00", "2026/10/25 03:01:00"]
    out = parse([payload(TRAFFIC_81, c6=t) for t in times], tz="Europe/Berlin")
    assert [t.strftime("%H:%M") for t in out.records["time"]] == ["00:10", "00:59", "01:05", "02:01"]
    assert out.notes == {"timezone": "Europe/Berlin", "ambiguous_times": 3}


def test_an_invalid_date_is_not_called_a_dst_gap():
    """Issue 13 item 15: day 00 is not a date, in UTC as anywhere; only a time that falls in the
    spring gap is said to be one."""
    out = parse([payload(TRAFFIC_81, c6="2026/11/00 09:00:03")], tz="UTC")
    assert (
        reasons(out)[1]
        == "columns cannot be made out: generated time (column 6) is '2026/11/00 09:00:03', not a date and time"
    )


def test_a_quote_left_open_does_not_swallow_the_next_line():
    bad = URL_81.replace('"download.windowsupdate.com/msdownload/a.cab"', '"x/y')
    out = parse([payload(URL_81), bad, payload(TRAFFIC_81), 'x,"', payload(URL_81, c22="7")])
    assert out.records["line_no"].to_list() == [1, 3, 5]
    assert out.records["session_id"].to_list() == ["400117", "400117", "7"]


def test_many_lines_in_one_chunk_are_all_accounted_for():
    # Many lines in one chunk: order and numbers must hold.
    good = [payload(TRAFFIC_81, c22=str(i), c24=str(1024 + i % 60000)) for i in range(12000)]
    good[1500] = payload(TRAFFIC_81, c7="x")
    good[7000] = "garbage"
    good[11999] = payload(URL_81, c22="11999")
    good[3000] = ""
    out = parse(good)
    assert out.records.height == 11997 and out.rejects["line_no"].to_list() == [1501, 7001]
    assert out.skipped == {"blank": 1}
    assert out.records["line_no"].is_sorted() and out.records["line_no"][-1] == 12000
    assert out.records["session_id"].to_list()[:3] == ["0", "1", "2"]
    assert out.records["dst_host"].to_list()[-1] == "download.windowsupdate.com"


def _head(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()[:50]


def test_sniff_tells_panos_from_squid_and_windows_firewall(real_logs):
    options = ParseOptions()
    ours = sorted((SAMPLES / "paloalto").iterdir()) + sorted((real_logs / "panos").glob("*.log*"))
    ours = [p for p in ours if not p.name.endswith((".json", ".assert"))]
    assert ours and all(paloalto.sniff(_head(p), options) for p in ours)
    others = [
        p
        for folder in (SAMPLES / "squid", SAMPLES / "winfirewall", real_logs / "squid", real_logs / "winfirewall")
        if folder.is_dir()
        for p in sorted(folder.iterdir())
        if p.is_file()
    ]
    assert others
    assert not [p.name for p in others if paloalto.sniff(_head(p), options)]
    for name in ("squid", "winfirewall"):
        assert not [p.name for p in ours if REGISTRY[name].sniff(_head(p), options)]


def test_samples_session_join_gives_traffic_flows_their_hosts():
    attribution = pytest.importorskip("analyzer.pipeline.evidence")
    folder = SAMPLES / "paloalto"
    result = read_logs([str(folder / "pa3220-traffic-10.2.log"), str(folder / "pa3220-url-10.2.log")])
    flows = attribution.attribute(result.flows)
    traffic = flows.filter(pl.col("extra").str.contains('"type":"TRAFFIC"'))
    servers = traffic.filter(pl.col("src_ip").is_in(["192.0.2.10", "192.0.2.20", "198.51.100.30"]))
    joined = servers.filter(pl.col("host_source") == "session").sort("line_no")
    got = dict(zip(joined["session_id"].to_list(), joined["dst_host"].to_list(), strict=True))
    # The sessions that have a URL log take its host (other flows to the same addresses may
    # take a host from the URL logs' address evidence, also recorded as "session").
    assert {
        "400117": "download.windowsupdate.com",
        "400134": "www.update.microsoft.com",
        "400185": "www.update.microsoft.com",
        "400219": "fe2.update.microsoft.com",
        "400236": "sws.update.microsoft.com",
    }.items() <= got.items()
    blocked = joined.filter(pl.col("action") == "blocked")
    assert sorted(blocked["dst_host"].to_list()) == ["sws.update.microsoft.com", "www.update.microsoft.com"]
    assert blocked["vendor_action"].to_list() == ["reset-both", "reset-both"]
    # Sessions without a URL log stay IP-only: only DNS evidence could name them.
    lone = servers.filter(pl.col("session_id") == "400287")
    assert lone["dst_host"].to_list() == [None] and lone["dst_ip"].to_list() == ["198.51.100.63"]


def test_csv_split_gives_one_row_per_line_even_when_a_quote_runs_on():
    lines = pl.Series(['a,Mozilla "x" y,c', 'd,"e,f",g', 'h,i"j,"k', "l,m,n", 'o,"p""q",r'])
    assert paloalto_csv.split(lines, 3).rows() == [
        ("a", 'Mozilla "x" y', "c"),
        ("d", "e,f", "g"),
        ("h", 'i"j', "k"),  # polars would have run this quote into the next line
        ("l", "m", "n"),
        ("o", 'p"q', "r"),
    ]


def test_high_resolution_times_read_fast_equal_a_full_read():
    from analyzer.parsers.paloalto.convert import HIRES_TIME, hires_utc

    values = [
        "2026-11-02T08:00:00.025+01:00",
        "2026-11-02T08:00:00.025-05:30",
        "2026-11-02T08:00:00+01:00",  # no fraction: read in full
        "2026-11-02T08:00:00.123456+01:00",  # microseconds: read in full
        None,
        "junk",
        "2026-11-02T08:00:00X025+01:00",  # the usual length, not the usual shape
        "2026-11-02T08:00:00.02a+01:00",
        "2026-13-02T08:00:00.025+01:00",
        "2026-11-02T08:00:00.025+1:000",
    ]
    series = pl.Series(values, dtype=pl.String)
    expected = series.str.to_datetime(HIRES_TIME, strict=False, time_unit="us", time_zone="UTC")
    assert hires_utc(series).to_list() == expected.to_list()
    assert expected.null_count() == 6
