"""Windows Firewall pfirewall.log: header-driven fields, actions, time zones, every line accounted."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import polars as pl
import pytest

from analyzer.parsers import winfirewall
from analyzer.parsers.base import ParseContext, ParseOptions
from analyzer.pipeline.read import read_logs
from tests.conftest import SAMPLES

FIELDS17 = (
    "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin "
    "icmptype icmpcode info path"
)
FIELDS18 = FIELDS17 + " pid"


def lines_frame(lines: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"line_no": pl.Series(range(1, len(lines) + 1), dtype=pl.Int64), "text": lines})


def parse(lines: list[str], tz: str = "UTC", state=None):
    ctx = ParseContext(file="pfirewall.log", options=ParseOptions(tz=tz), state=state)
    out = winfirewall.parse(lines_frame(lines), ctx)
    assert out.records.height + out.rejects.height + sum(out.skipped.values()) == len(lines)
    return out, ctx


def test_actions_protocols_and_directions():
    out, _ = parse(
        [
            FIELDS17,
            "2026-11-03 10:00:00 ALLOW TCP 192.0.2.10 203.0.113.50 51001 443 0 - 0 0 0 - - - SEND",
            "2026-11-03 10:00:01 DROP UDP 203.0.113.9 192.0.2.10 5353 5353 73 - - - - - - - RECEIVE",
            "2026-11-03 10:00:02 OPEN 6 192.0.2.10 203.0.113.50 1606 445 - - - - - - - - -",
            "2026-11-03 10:00:03 OPEN-INBOUND 17 203.0.113.9 192.0.2.10 500 500 - - - - - - - - -",
            "2026-11-03 10:00:04 CLOSE 58 192.0.2.10 2001:db8::1 - - - - - - - 8 0 - FORWARD",
            "2026-11-03 10:00:05 ALLOW 2 192.0.2.10 224.0.0.22 - - 0 - - - - - - - SEND",
            "2026-11-03 10:00:06 ALLOW 47 192.0.2.10 203.0.113.1 - - 0 - - - - - - - SEND",
        ]
    )
    r = out.records
    assert r["action"].to_list() == ["allowed", "blocked", "allowed", "allowed", "allowed", "allowed", "allowed"]
    assert r["vendor_action"].to_list() == ["ALLOW", "DROP", "OPEN", "OPEN-INBOUND", "CLOSE", "ALLOW", "ALLOW"]
    assert r["protocol"].to_list() == ["tcp", "udp", "tcp", "udp", "ipv6-icmp", "igmp", "47"]
    assert r["direction"].to_list() == ["outbound", "inbound", None, "inbound", "forward", "outbound", "outbound"]
    assert r["dst_port"].to_list() == [443, 5353, 445, 500, None, None, None]
    assert r["bytes"].to_list() == [0, 73, None, None, None, 0, 0]
    assert r["dst_host"].null_count() == r.height  # pfirewall never has names
    assert json.loads(r["extra"][4]) == {
        "tcpflags": None,
        "tcpsyn": None,
        "tcpack": None,
        "tcpwin": None,
        "icmptype": 8,
        "icmpcode": 0,
        "info": None,
    }
    assert out.skipped == {"header": 1}


def test_local_time_is_read_in_the_given_zone_and_said_in_notes():
    line = "2026-11-03 10:00:00 ALLOW TCP 192.0.2.10 203.0.113.50 51001 443 0 - 0 0 0 - - - SEND"
    out, _ = parse(["#Time Format: Local", FIELDS17, line], tz="Europe/Berlin")
    assert out.records["time"][0] == datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    assert out.notes["time_zone"] == "Europe/Berlin"
    out, _ = parse(["#Time Format: UTC", FIELDS17, line], tz="Europe/Berlin")
    assert out.records["time"][0] == datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    assert out.notes["time_zone"] == "UTC"


def test_time_that_does_not_exist_in_the_zone_is_a_reject():
    # 02:30 on the last Sunday of March does not exist in Berlin (clocks jump 02:00 → 03:00).
    out, _ = parse(
        [FIELDS17, "2026-03-29 02:30:00 ALLOW TCP 192.0.2.10 203.0.113.50 1 443 0 - 0 0 0 - - - SEND"],
        tz="Europe/Berlin",
    )
    assert out.records.height == 0
    assert "does not exist in Europe/Berlin" in out.rejects["reason"][0]


def test_repeated_autumn_hour_is_counted_and_read_by_line_order():
    """Issue 13 item 15: 02:00-02:59 happens twice in Berlin on 2026-10-25; a log in order shows
    the clock going back, so the second pass is read as such, and the notes count the lines."""

    def at(t: str) -> str:
        return f"2026-10-25 {t} ALLOW TCP 192.0.2.10 203.0.113.50 1 443 0 - 0 0 0 - - - SEND"

    out, _ = parse(
        [FIELDS17, at("01:59:00"), at("02:10:00"), at("02:59:00"), at("02:05:00"), at("03:01:00")], tz="Europe/Berlin"
    )
    assert out.records["time"].to_list() == [
        datetime(2026, 10, 24, 23, 59, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 10, tzinfo=UTC),  # first pass, CEST
        datetime(2026, 10, 25, 0, 59, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 5, tzinfo=UTC),  # second pass, CET
        datetime(2026, 10, 25, 2, 1, tzinfo=UTC),
    ]
    assert out.notes["ambiguous_times"] == 3
    # Out of order, line order tells nothing: every ambiguous time is read as its first pass.
    out, _ = parse([FIELDS17, at("02:30:00"), at("02:10:00"), at("02:20:00"), at("02:05:00")], tz="Europe/Berlin")
    assert [t.hour for t in out.records["time"]] == [0, 0, 0, 0]
    assert out.notes["ambiguous_times"] == 4


def test_header_change_mid_file_and_across_chunks():
    state = winfirewall.HeaderState()  # what one file's chunks share
    first, _ = parse(
        [FIELDS17, "2026-11-03 10:00:00 ALLOW TCP 192.0.2.10 203.0.113.50 51001 443 0 - 0 0 0 - - - SEND"],
        state=state,
    )
    # The next chunk has no header: the field list carries over; then a restart adds pid.
    second, _ = parse(
        [
            "2026-11-03 10:00:01 ALLOW TCP 192.0.2.10 203.0.113.50 51002 443 0 - 0 0 0 - - - SEND",
            FIELDS18,
            "2026-11-03 10:00:02 DROP TCP 192.0.2.10 203.0.113.51 51003 443 52 S 1 0 64240 - - - SEND 3188",
            "2026-11-03 10:00:03 ALLOW TCP 192.0.2.10 203.0.113.50 51004 443 0 - 0 0 0 - - - SEND",
        ],
        state=state,
    )
    assert first.records.height == 1
    assert second.records["line_no"].to_list() == [1, 3]
    assert json.loads(second.records["extra"][1])["pid"] == 3188
    assert second.rejects["reason"].to_list() == ["18 fields expected by #Fields:, 17 found"]


def test_lines_before_any_header_and_glued_or_unknown_lines_are_rejects():
    out, _ = parse(
        [
            "2026-11-03 10:00:00 ALLOW TCP 192.0.2.10 203.0.113.50 51001 443 0 - 0 0 0 - - - SEND",
            FIELDS17,
            "2026-11-03 10:00:01 CLOSE TCP 192.0.2.10 203.0.113.50 1 443 - - - - - - - - -2026-11-03 10:00:02 "
            "CLOSE TCP 192.0.2.10 203.0.113.50 2 443 - - - - - - - - -",
            "2026-11-03 10:00:03 PERMIT TCP 192.0.2.10 203.0.113.50 3 443 0 - 0 0 0 - - - SEND",
            "2026-11-03 10:00:04 ALLOW TCP 192.0.2.10 203.0.113.50 x 443 0 - 0 0 0 - - - SEND",
            "",
            "2026-11-03 10:00:05   ALLOW\tTCP 192.0.2.10 203.0.113.50 5 443 0 - 0 0 0 - - - SEND  ",
        ]
    )
    assert out.rejects["reason"].to_list() == [
        "no #Fields: header before this line",
        "17 fields expected by #Fields:, 33 found",
        "unknown action 'PERMIT'",
        "src-port is not a port: 'x'",
    ]
    assert out.records["src_port"].to_list() == [5]  # runs of spaces and tabs split like one space
    assert out.skipped == {"header": 1, "blank": 1}


def test_invalid_addresses_are_rejects_naming_the_field():
    """Issue 13 item 11: an address out of range or masked is not a destination."""
    out, _ = parse(
        [
            FIELDS17,
            "2026-11-03 10:00:00 ALLOW TCP 192.0.2.10 192.168.1.10055 51001 443 0 - 0 0 0 - - - SEND",
            "2026-11-03 10:00:01 ALLOW TCP x.x.x.79 203.0.113.50 51001 443 0 - 0 0 0 - - - SEND",
            "2026-11-03 10:00:02 ALLOW TCP 192.0.2.10 2001:db8::1 51001 443 0 - 0 0 0 - - - SEND",
            "2026-11-03 10:00:03 ALLOW TCP 192.0.2.10 2001:db8:::1 51001 443 0 - 0 0 0 - - - SEND",
        ]
    )
    assert out.rejects["reason"].to_list() == [
        "dst-ip is not an IP address: '192.168.1.10055'",
        "src-ip is not an IP address: 'x.x.x.79'",
        "dst-ip is not an IP address: '2001:db8:::1'",
    ]
    assert out.records["dst_ip"].to_list() == ["2001:db8::1"]


def test_lost_events_are_counted_not_flows():
    out, _ = parse(
        [
            FIELDS17,
            "2005-04-11 08:52:26 INFO-EVENTS-LOST - - - - - - - - - - - - 59 -",
            "2005-04-11 08:53:26 INFO-EVENTS-LOST - - - - - - - - - - - - 3 -",
        ]
    )
    assert out.records.height == 0
    assert out.skipped == {"header": 1, "lost-events": 2}
    assert out.notes["lost_events"] == 62


def test_sniff():
    assert winfirewall.sniff(["#Version: 1.5", "#Software: Microsoft Windows Firewall"], ParseOptions())
    assert winfirewall.sniff([FIELDS18], ParseOptions())
    assert not winfirewall.sniff(["#Fields: date time cs-method cs-uri-stem"], ParseOptions())


def _independent_counts(path) -> tuple[int, Counter, int]:
    """Count lines with plain Python: data lines by (action, protocol), and header/blank lines."""
    data, skipped = Counter(), 0
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("#") or not raw.strip():
            skipped += 1
        else:
            parts = raw.split()
            data[(parts[2], parts[3])] += 1
    return sum(data.values()), data, skipped


def test_real_logs_every_line_accounted(real_logs):
    files = sorted((real_logs / "winfirewall").iterdir())
    assert files
    for path in files:
        result = read_logs([str(path)], format="winfirewall")
        (f,) = result.files
        with open(path, "rb") as fh:
            n_lines = fh.read().count(b"\n")
        assert f.lines == n_lines
        assert f.lines == f.records + f.rejects + f.skipped_total
        assert f.rejects == 0, result.rejects["reason"].to_list()


def test_large_real_log_matches_independent_counts(real_logs):
    path = real_logs / "winfirewall" / "ParseFirewallLog__pfirewall.log"
    n_data, by_action, n_skipped = _independent_counts(path)
    assert n_data == 16_809  # the records of the file, lost-event markers included
    result = read_logs([str(path)])
    (f,) = result.files
    lost = by_action[("INFO-EVENTS-LOST", "-")]
    assert f.records == n_data - lost
    assert f.skipped == {"header": 4, "blank": n_skipped - 4, "lost-events": lost}
    assert f.notes["lost_events"] == 7 + 1  # the two markers' info fields
    got = Counter(zip(result.flows["vendor_action"], result.flows["protocol"], strict=True))
    names = {"TCP": "tcp", "UDP": "udp", "ICMP": "icmp", "2": "igmp"}
    expected = Counter({(a, names[p]): n for (a, p), n in by_action.items() if a != "INFO-EVENTS-LOST"})
    assert got == expected
    assert result.flows["time"].min() == datetime(2021, 6, 22, 12, 19, 41, tzinfo=UTC)


def test_plaso_expected_values(real_logs):
    """log2timeline/plaso tests/parsers/winfirewall.py: 15 events (14 flows + the lost-events
    line here), event 4 at 08:06:02 from 123.45.78.90 to 123.156.78.90, event 7 the TCP DROP
    with size 576, flags A, seq 123456789, ack 987654321, window 12345, event 9 ICMP 8/0."""
    path = real_logs / "winfirewall" / "plaso__windows_firewall.log"
    result = read_logs([str(path)])
    (f,) = result.files
    assert f.records + f.skipped["lost-events"] == 15
    assert f.notes["lost_events"] == 59
    flows = result.flows
    e4, e7, e9 = flows.row(4, named=True), flows.row(7, named=True), flows.row(9, named=True)
    assert e4["time"] == datetime(2005, 4, 11, 8, 6, 2, tzinfo=UTC)
    assert (e4["src_ip"], e4["dst_ip"]) == ("123.45.78.90", "123.156.78.90")
    assert e7["time"] == datetime(2005, 4, 11, 8, 6, 26, tzinfo=UTC)
    assert (e7["src_ip"], e7["src_port"], e7["dst_ip"], e7["dst_port"]) == ("123.45.78.90", 80, "123.156.78.90", 1774)
    assert (e7["bytes"], e7["vendor_action"], e7["protocol"], e7["direction"]) == (576, "DROP", "tcp", "inbound")
    extra7 = json.loads(e7["extra"])
    assert (extra7["tcpflags"], extra7["tcpsyn"], extra7["tcpack"], extra7["tcpwin"]) == (
        "A",
        123456789,
        987654321,
        12345,
    )
    assert (json.loads(e9["extra"])["icmptype"], json.loads(e9["extra"])["icmpcode"]) == (8, 0)
    # plaso's time-zone test reads the same file in CET: 08:06:26 CEST is 06:06:26 UTC.
    cet = read_logs([str(path)], options=ParseOptions(tz="CET")).flows
    assert cet["time"][7] == datetime(2005, 4, 11, 6, 6, 26, tzinfo=UTC)


def test_samples_cover_the_documented_cases():
    result = read_logs([str(SAMPLES / "winfirewall")], options=ParseOptions(tz="Europe/Berlin"))
    by_file = {f.file.rsplit("/", 1)[-1]: f for f in result.files}
    new, old = by_file["pfirewall.log"], by_file["pfirewall.log.old"]
    assert new.notes == {"time_zone": "Europe/Berlin", "lost_events": 12}
    assert new.rejects == 1 and new.skipped["header"] == 7  # the truncated line; the header written twice
    assert old.rejects == 0 and old.skipped == {"header": 4, "blank": 1}
    assert (SAMPLES / "winfirewall" / "pfirewall.log").read_bytes().count(b"\r\n") == new.lines
    flows = result.flows
    assert set(flows["action"].unique()) == {"allowed", "blocked"}
    assert flows.filter(pl.col("direction") == "inbound")["src_ip"].str.starts_with("203.0.113.").any()
    assert flows.filter(pl.col("time").dt.date() == datetime(2026, 11, 3).date())["extra"].str.contains('"pid"').all()


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
def test_parse_twice_gives_same_result(tz):
    lines = [FIELDS17] + [
        f"2026-11-03 10:00:{i:02d} ALLOW TCP 192.0.2.10 203.0.113.{i} 5{i:04d} 443 0 - 0 0 0 - - - SEND"
        for i in range(50)
    ]
    a, _ = parse(lines, tz=tz)
    b, _ = parse(lines, tz=tz)
    assert a.records.equals(b.records)
    assert a.records.height == 50
