"""Attribution of IP-only flows: DNS answers in time, CNAME chains, shared addresses, proxy and
PAN-OS session evidence, and flows that stay visibly unattributed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from analyzer.attribution import evidence_from_flows
from analyzer.cli import main
from analyzer.flows import EVIDENCE_SCHEMA, FLOW_SCHEMA, conform_evidence, conform_flows
from analyzer.parsers import declared_evidence
from analyzer.pipeline.check import run_check
from analyzer.pipeline.evidence import attribute
from tests.conftest import SAMPLES


def t(hour: int, minute: int = 0, day: int = 3) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def answers(*rows) -> pl.DataFrame:
    """Evidence from (time, query, type, [answers], [ttls]) rows, one DNS line each."""
    return conform_evidence(
        pl.DataFrame(
            {
                "time": [r[0] for r in rows],
                "client": ["192.0.2.10"] * len(rows),
                "query": [r[1] for r in rows],
                "type": [r[2] for r in rows],
                "answers": [r[3] for r in rows],
                "ttls": [r[4] for r in rows],
                "host_source": ["dns"] * len(rows),
                "source_format": ["dnscsv"] * len(rows),
                "source_file": ["dns.csv"] * len(rows),
                "line_no": list(range(1, len(rows) + 1)),
            },
            schema_overrides={"ttls": pl.List(pl.Int64)},
        )
    )


def flows(*rows) -> pl.DataFrame:
    """Firewall flows from (time, dst_ip) rows."""
    return conform_flows(
        pl.DataFrame(
            {
                "time": [r[0] for r in rows],
                "src_ip": ["192.0.2.10"] * len(rows),
                "dst_ip": [r[1] for r in rows],
                "dst_port": [443] * len(rows),
                "source_format": ["winfirewall"] * len(rows),
                "line_no": list(range(1, len(rows) + 1)),
            }
        )
    )


def hosts(frame: pl.DataFrame) -> list[tuple]:
    return frame.select("dst_host", "host_source", "host_candidates", "host_names").rows()


def test_name_resolved_before_the_flow_attributes_it():
    ev = answers((t(9), "fe2.update.microsoft.com", "A", ["203.0.113.51"], [300]))
    out = attribute(flows((t(9, 1), "203.0.113.51")), ev)
    assert hosts(out) == [("fe2.update.microsoft.com", "dns", 1, "fe2.update.microsoft.com")]
    assert out.schema == FLOW_SCHEMA


def test_answer_after_the_flow_or_expired_does_not():
    ev = answers((t(9), "fe2.update.microsoft.com", "A", ["203.0.113.51"], [300]))
    out = attribute(flows((t(8, 59), "203.0.113.51"), (t(9, 1, day=4), "203.0.113.51"), (t(10), "203.0.113.51")), ev)
    assert hosts(out)[:2] == [(None, None, None, None)] * 2  # before the answer; 24 h after it
    assert hosts(out)[2][0] == "fe2.update.microsoft.com"
    # With a window of 30 minutes, or with the answer's TTL (300 s), the 10:00 flow is too late.
    assert hosts(attribute(flows((t(10), "203.0.113.51")), ev, window=timedelta(minutes=30)))[0][0] is None
    assert hosts(attribute(flows((t(10), "203.0.113.51")), ev, use_ttl=True))[0][0] is None
    assert hosts(attribute(flows((t(9, 4), "203.0.113.51")), ev, use_ttl=True))[0][0] == "fe2.update.microsoft.com"


def test_cname_chain_to_a_cdn_name_windows_client_style():
    # The client's log: every answer under the name asked for, CNAMEs first.
    ev = answers(
        (t(9), "download.windowsupdate.com", "CNAME", ["download.windowsupdate.com.edgesuite.net"], [3600]),
        (t(9), "download.windowsupdate.com", "CNAME", ["a767.dspw65.akamai.net"], [21600]),
        (t(9), "download.windowsupdate.com", "A", ["198.51.100.60"], [20]),
    )
    (row,) = hosts(attribute(flows((t(9, 0), "198.51.100.60")), ev))
    assert row[:3] == ("download.windowsupdate.com", "dns", 1)
    assert row[3].split() == [
        "download.windowsupdate.com",
        "a767.dspw65.akamai.net",
        "download.windowsupdate.com.edgesuite.net",
    ]


def test_cname_chain_server_style_records_and_zeek_vectors():
    # A DNS server's log: each record under its owner name; the chain must be followed back.
    server = answers(
        (t(9), "www.update.microsoft.com", "CNAME", ["update.microsoft.com.nsatc.net"], [3600]),
        (t(9), "update.microsoft.com.nsatc.net", "A", ["203.0.113.50"], [214]),
    )
    (row,) = hosts(attribute(flows((t(9, 5), "203.0.113.50")), server))
    assert row == ("www.update.microsoft.com", "dns", 1, "www.update.microsoft.com update.microsoft.com.nsatc.net")
    zeek = answers(
        (t(9), "sws.update.microsoft.com", "A", ["sws.update.microsoft.com.nsatc.net", "203.0.113.52"], [3600, 300])
    )
    (row,) = hosts(attribute(flows((t(9, 5), "203.0.113.52")), zeek))
    assert row[:3] == ("sws.update.microsoft.com", "dns", 1)


def test_address_shared_by_an_update_host_and_an_unrelated_host():
    ev = answers(
        (t(9), "dl.delivery.mp.microsoft.com", "A", ["203.0.113.90"], [20]),
        (t(9, 30), "static.media.test", "A", ["203.0.113.90"], [20]),
    )
    out = attribute(flows((t(9, 10), "203.0.113.90"), (t(9, 40), "203.0.113.90")), ev)
    # Before the second name was asked only one fits; afterwards both, the most recent first.
    assert hosts(out) == [
        ("dl.delivery.mp.microsoft.com", "dns", 1, "dl.delivery.mp.microsoft.com"),
        ("static.media.test", "dns", 2, "static.media.test dl.delivery.mp.microsoft.com"),
    ]


def test_no_evidence_leaves_the_flow_visibly_unattributed():
    out = attribute(flows((t(9), "203.0.113.120"), (t(9), "2001:db8::120")), None)
    assert hosts(out) == [(None, None, None, None)] * 2
    assert out["dst_ip"].to_list() == ["203.0.113.120", "2001:db8::120"]
    ev = answers((t(9), "www.update.microsoft.com", "A", ["203.0.113.50"], [60]))
    assert hosts(attribute(flows((t(9), "203.0.113.120")), ev)) == [(None, None, None, None)]


def test_address_spellings_are_matched():
    ev = answers((t(9), "dl.delivery.mp.microsoft.com", "AAAA", ["2001:DB8:4001:0:0::50"], [20]))
    out = attribute(flows((t(9, 1), "2001:db8:4001::50")), ev)
    assert hosts(out)[0][0] == "dl.delivery.mp.microsoft.com"


def test_flows_with_a_logged_host_are_untouched_and_proxy_pairs_are_evidence():
    squid = conform_flows(
        pl.DataFrame(
            {
                "time": [t(9)],
                "src_ip": ["192.0.2.20"],
                "dst_host": ["download.windowsupdate.com"],
                "dst_ip": ["198.51.100.61"],
                "host_source": ["log"],
                "source_format": ["squid"],
                "source_file": ["access.log"],
                "line_no": [7],
            }
        )
    )
    ev = evidence_from_flows(squid, declared_evidence())
    assert ev.schema == EVIDENCE_SCHEMA
    assert ev.select("query", "answers", "host_source").rows() == [
        ("download.windowsupdate.com", ["198.51.100.61"], "proxy")
    ]
    both = pl.concat([squid, flows((t(9, 2), "198.51.100.61"))])
    out = attribute(both)
    assert hosts(out) == [
        ("download.windowsupdate.com", "log", None, None),
        ("download.windowsupdate.com", "proxy", 1, "download.windowsupdate.com"),
    ]


def test_panos_session_join():
    pan = conform_flows(
        pl.DataFrame(
            {
                "time": [t(9), t(9, 1), t(9, 2), t(9, 3)],
                "dst_ip": ["203.0.113.50", "203.0.113.50", "203.0.113.77", "203.0.113.50"],
                "dst_host": ["www.update.microsoft.com", None, None, None],
                "host_source": ["log", None, None, None],
                "device": ["007951000012345"] * 4,
                "session_id": ["34567", "34567", "34567", "99999"],
                "source_format": ["paloalto"] * 4,
                "line_no": [1, 2, 3, 4],
            }
        )
    )
    out = attribute(pan)
    # Same device and session: the TRAFFIC line takes the URL log's host. Another address under
    # the same (reused) session id does not; the URL line's own address pair then ties the other
    # session's flow to the host, as DNS would ("session" evidence).
    assert hosts(out)[1] == ("www.update.microsoft.com", "session", 1, "www.update.microsoft.com")
    assert hosts(out)[2] == (None, None, None, None)
    assert hosts(out)[3][:2] == ("www.update.microsoft.com", "session")


def _pan(rows: list[tuple]) -> pl.DataFrame:
    """PAN-OS flows from (time, kind, session id, address, host or None, action, elapsed) rows:
    ``url`` rows are URL logs, ``traffic`` rows TRAFFIC end logs (``time`` the session's end)."""
    return conform_flows(
        pl.DataFrame(
            {
                "time": [r[0] for r in rows],
                "session_id": [r[2] for r in rows],
                "dst_ip": [r[3] for r in rows],
                "dst_host": [r[4] for r in rows],
                "host_source": ["log" if r[4] else None for r in rows],
                "action": [r[5] for r in rows],
                "extra": [
                    f'{{"type":"TRAFFIC","elapsed_sec":{r[6]}}}' if r[1] == "traffic" else '{"type":"THREAT"}'
                    for r in rows
                ],
                "device": ["007951000012345"] * len(rows),
                "source_format": ["paloalto"] * len(rows),
                "source_file": ["pan.log"] * len(rows),
                "line_no": list(range(1, len(rows) + 1)),
            }
        )
    )


def test_panos_session_id_reused_hours_apart_names_each_session_by_its_own_url_log():
    """Issue 13 item 6: a URL log is attached to the TRAFFIC session whose span (end - elapsed to
    end) holds it, not to every session that reused the id."""
    sec = timedelta(seconds=1)
    pan = _pan(
        [
            (t(9) + 5 * sec, "url", "7", "203.0.113.50", "a.test", "allowed", None),
            (t(9) + 30 * sec, "traffic", "7", "203.0.113.50", None, "allowed", 30),
            # One CDN address for both names: only the span tells the two sessions apart.
            (t(12) + 5 * sec, "url", "7", "203.0.113.50", "b.test", "allowed", None),
            (t(12) + 20 * sec, "traffic", "7", "203.0.113.50", None, "allowed", 20),
            # The same id once more, its session's span holding no URL log: no session host.
            (t(15), "traffic", "7", "198.51.100.9", None, "allowed", 10),
        ]
    )
    got = hosts(attribute(pan))
    assert got[1] == ("a.test", "session", 1, "a.test")
    assert got[3] == ("b.test", "session", 1, "b.test")
    assert got[4] == (None, None, None, None)


def test_panos_session_blocked_by_url_filtering_is_blocked():
    """Issue 13 item 9: PAN-OS writes the TRAFFIC log of a session URL filtering ended with action
    ``allow``; the URL log's ``block-url`` is the device's decision, and the flow says which line."""
    sec = timedelta(seconds=1)
    pan = _pan(
        [
            (t(9) + 2 * sec, "url", "7", "203.0.113.50", "a.test", "blocked", None),
            (t(9) + 3 * sec, "traffic", "7", "203.0.113.50", None, "allowed", 3),
            (t(9) + 5 * sec, "url", "8", "203.0.113.50", "a.test", "allowed", None),
            (t(9) + 6 * sec, "traffic", "8", "203.0.113.50", None, "allowed", 3),
        ]
    )
    out = attribute(pan)
    assert out["action"].to_list() == ["blocked", "blocked", "allowed", "allowed"]
    assert out["decided_by"].to_list() == [None, "pan.log:1", None, None]
    assert out["vendor_action"].to_list()[1] is None  # the TRAFFIC line's own action is kept as written


def test_parse_cli_attributes_the_samples(tmp_path, capsys):
    out = tmp_path / "flows.parquet"
    code = main(
        [
            "parse",
            str(SAMPLES / "winfirewall"),
            "--dns",
            str(SAMPLES / "dnscsv"),
            str(SAMPLES / "zeekdns"),
            "--tz",
            "Europe/Berlin",
            "-o",
            str(out),
            "-q",
        ]
    )
    assert code == 0
    got = pl.read_parquet(out).filter(pl.col("direction") == "outbound")
    by_ip = {ip: h for ip, h in got.select("dst_ip", "dst_host").unique().rows() if h}
    assert by_ip["198.51.100.70"] == "ctldl.windowsupdate.com"  # CNAME chain, blocked
    assert by_ip["198.51.100.61"] == "download.windowsupdate.com"  # from Zeek
    assert "203.0.113.120" not in by_ip  # no evidence
    assert "198.51.100.63" not in by_ip  # answered two days before: expired
    shared = got.filter(pl.col("dst_ip") == "203.0.113.90")
    assert shared["host_candidates"].to_list() == [2, 2]


def test_dns_window_option_sets_how_long_an_answer_attributes(tmp_path, capsys):
    """Issue 13 item 15: ``--dns-window`` (default 24h) and ``--dns-window ttl`` (each answer's
    TTL), for parse and check alike."""
    hosts_of = {}
    for window in (None, "ttl", "3d"):
        out = tmp_path / f"flows-{window}.parquet"
        extra = ["--dns-window", window] if window else []
        args = ["parse", str(SAMPLES / "winfirewall"), "--dns", str(SAMPLES / "dnscsv"), str(SAMPLES / "zeekdns")]
        assert main([*args, "--tz", "Europe/Berlin", "-o", str(out), "-q", *extra]) == 0
        got = pl.read_parquet(out)
        hosts_of[window] = (
            got.filter(pl.col("host_source") == "dns").height,
            got.filter(pl.col("dst_ip") == "198.51.100.63")["dst_host"].to_list(),
        )
    assert hosts_of[None] == (15, [None])  # answered two days before the flow: expired after 24 h
    assert hosts_of["ttl"][0] == 12  # answers trusted for their TTL only
    assert hosts_of["3d"] == (16, ["download.windowsupdate.com"])
    site = str(SAMPLES / "site.toml")
    code = main(
        ["check", str(SAMPLES / "winfirewall"), "--site", site, "--dns-window", "0d", "-o", str(tmp_path / "o")]
    )
    assert code == 2 and "--dns-window: cannot read '0d' as a duration" in capsys.readouterr().err
    named = []
    for window in ("ttl", None):  # the result keeps its flows file while it is referred to
        result = run_check([str(SAMPLES / "winfirewall")], site, dns=[str(SAMPLES / "dnscsv")], dns_window=window)
        named.append(result.flows.filter(pl.col("host_source") == "dns").collect().height)
    assert named[0] < named[1]


def test_parse_cli_rejects_a_flow_log_given_as_dns(tmp_path, capsys):
    code = main(
        ["parse", str(SAMPLES / "winfirewall"), "--dns", str(SAMPLES / "winfirewall"), "-o", str(tmp_path / "x.csv")]
    )
    assert code == 2
    assert "not DNS evidence" in capsys.readouterr().err


def test_batch_by_batch_equals_all_at_once(tmp_path, monkeypatch, capsys):
    # The parse command attributes its streamed flows batch by batch against one index; the check
    # attributes them all at once: the flows and the summary line must not differ.
    import analyzer.attribution as attribution
    import analyzer.pipeline.stream as stream
    from analyzer.pipeline import evidence
    from analyzer.pipeline.read import read_logs

    cases = [
        ([SAMPLES / "winfirewall"], [SAMPLES / "dnscsv", SAMPLES / "zeekdns"], "Europe/Berlin"),
        ([SAMPLES / "paloalto" / "pa3220-traffic-10.2.log", SAMPLES / "paloalto" / "pa3220-url-10.2.log"], [], "UTC"),
        ([SAMPLES / "squid"], [], "UTC"),
    ]
    monkeypatch.setattr(stream, "BATCH_ROWS", 5)
    for logs, dns, tz in cases:
        read = read_logs([str(p) for p in [*logs, *dns]], options=attribution_options(tz))
        whole = attribute(read.flows, read.evidence.get("dns"))
        idx = evidence.index(read.flows, read.evidence.get("dns"))
        # Every case has IP-only flows (Squid's: a CONNECT to an address) and evidence.
        assert idx is not None
        if idx is not None:
            batches = [attribution.attribute_batch(read.flows.slice(i, 7), idx) for i in range(0, read.flows.height, 7)]
            assert pl.concat(batches).equals(whole)
        out = tmp_path / "flows.parquet"
        dns_args = ["--dns", *map(str, dns)] if dns else []
        assert main(["parse", *map(str, logs), *dns_args, "--tz", tz, "-o", str(out)]) == 0
        printed = capsys.readouterr().out
        streamed = pl.read_parquet(out)
        assert streamed.equals(conform_flows(whole.filter(pl.col("line_no").is_not_null())).select(streamed.columns))
        assert (attribution.summary(whole) if idx else "no IP-only flows to attribute") in printed


def attribution_options(tz: str):
    from analyzer.parsers.base import ParseOptions

    return ParseOptions(tz=tz)
