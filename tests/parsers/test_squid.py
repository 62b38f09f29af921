"""The Squid parser: one line per case, real third-party logs, and their expected parses."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import polars as pl
import pytest

from analyzer.flows import FLOW_SCHEMA, REJECT_SCHEMA
from analyzer.parsers import REGISTRY, squid
from analyzer.parsers.base import ParseContext, ParseOptions
from analyzer.pipeline.read import read_logs

T = "1793754061.667"
LONG_HOST = ".".join(c * 60 for c in "abcde") + ".test"  # 309 characters
P = "192.0.2.10"

# (line, expected fields): one Squid shape per row.
NATIVE_CASES = [
    pytest.param(
        f"{T}    234 {P} TCP_TUNNEL/200 55750 CONNECT fe2.update.microsoft.com:443 - HIER_DIRECT/203.0.113.42 -",
        dict(
            dst_host="fe2.update.microsoft.com",
            dst_port=443,
            scheme="https",
            dst_ip="203.0.113.42",
            action="allowed",
            vendor_action="TCP_TUNNEL/200",
            method="CONNECT",
            url_path=None,
            bytes=55750,
        ),
        id="padding-tunnel",
    ),
    pytest.param(
        f"1793754061 5 {P} TCP_MISS/200 10 GET http://download.windowsupdate.com/a.cab - HIER_DIRECT/203.0.113.50 -",
        dict(time=datetime(2026, 11, 4, 1, 1, 1, tzinfo=UTC), dst_port=80, scheme="http", url_path="/a.cab"),
        id="epoch-without-ms",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_TUNNEL/200 1 CONNECT [2001:db8::5]:443 - HIER_DIRECT/2001:db8::5 -",
        dict(dst_host=None, dst_port=443, dst_ip="2001:db8::5", scheme="https"),
        id="connect-v6-target",
    ),
    pytest.param(
        f"{T} 5 {P} NONE_NONE/000 0 CONNECT 203.0.113.9:443 - HIER_NONE/- -",
        dict(dst_host=None, dst_port=443, dst_ip="203.0.113.9", action="failed", vendor_action="NONE_NONE/000"),
        id="connect-ip-target-aborted",
    ),
    # Issue 13 item 15: epoch 0 (a clock never set) is a Squid line like any other (Squid pads
    # the time to its width with spaces).
    pytest.param(
        f"         0.000      5 {P} TCP_MISS/200 10 GET http://a.test/ - HIER_NONE/- -",
        dict(dst_host="a.test", time=datetime(1970, 1, 1, tzinfo=UTC)),
        id="epoch-zero",
    ),
    # Issue 13 item 8: a tunnel's scheme comes from its port, and an address is dst_ip, not a host.
    pytest.param(
        f"{T} 5 {P} TCP_TUNNEL/200 1 CONNECT a.test:80 - HIER_DIRECT/203.0.113.7 -",
        dict(dst_host="a.test", dst_port=80, scheme="http", dst_ip="203.0.113.7"),
        id="connect-port-80-is-http",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_TUNNEL/200 1 CONNECT a.test:8531 - HIER_NONE/- -",
        dict(dst_host="a.test", dst_port=8531, scheme="https"),
        id="connect-port-8531-is-https",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_TUNNEL/200 1 CONNECT a.test:5222 - HIER_NONE/- -",
        dict(dst_host="a.test", dst_port=5222, scheme=None),
        id="connect-other-port-has-no-scheme",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_TUNNEL/200 1 CONNECT 198.51.100.4:80 - HIER_NONE/- -",
        dict(dst_host=None, dst_ip="198.51.100.4", dst_port=80, scheme="http"),
        id="connect-address-is-dst-ip",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_MISS/200 10 GET http://www.example.test:8080/x?y=1 - HIER_DIRECT/203.0.113.7 text/html",
        dict(dst_host="www.example.test", dst_port=8080, url_path="/x?y=1"),
        id="http-url-with-port",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_MISS/200 10 GET https://www.update.microsoft.com/v6/ - HIER_DIRECT/203.0.113.41 text/html",
        dict(dst_host="www.update.microsoft.com", dst_port=443, scheme="https", url_path="/v6/"),
        id="bumped-https",
    ),
    pytest.param(
        f"{T} 5 2001:db8::100 TCP_MISS/200 10 GET http://a.test/ - FIRSTUP_PARENT/2001:db8::1 text/html",
        dict(src_ip="2001:db8::100", dst_ip=None, dst_host="a.test"),
        id="ipv6-client-parent-peer",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_MISS/200 10 GET http://a.test/ - HIER_DIRECT/2001:db8::77 text/html",
        dict(dst_ip="2001:db8::77"),
        id="ipv6-direct-peer",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_MISS/200 10 GET http://a.test/ - DIRECT/www.a.test text/html",
        dict(dst_ip=None, dst_host="a.test", extra_peer="www.a.test"),
        id="peer-host-name",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_MISS/200 10 GET http://a.test/ CORP\\John Smith HIER_DIRECT/203.0.113.7 text/html",
        dict(user="CORP\\John Smith", dst_ip="203.0.113.7"),
        id="user-with-space",
    ),
    pytest.param(
        f"{T} 5 {P} NONE_NONE/400 0 - error:transaction-end-before-headers - HIER_NONE/- -",
        dict(method=None, dst_host=None, dst_port=None, url_path=None, vendor_action="NONE_NONE/400"),
        id="method-dash-error-url",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_MISS/200 10 GET http://a.test/ - HIER_DIRECT/203.0.113.7 text/html [Host: a.test\\r\\n] [HTTP/1.1 200 OK\\r\\n]",  # noqa: E501
        dict(dst_host="a.test", extra_req_headers="[Host: a.test\\r\\n]", extra_mime_type="text/html"),
        id="log-mime-hdrs",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_MISS/200 10 CONNECT a.test:443 - DIRECT/203.0.113.7 -",
        dict(action="allowed", scheme="https", dst_port=443),
        id="squid34-connect-miss",
    ),
    pytest.param(f"{T} 5 {P} TAG_NONE/200 0 CONNECT a.test:443 - HIER_NONE/- -", dict(action="allowed"), id="tag-none"),
    # Issue 13 item 12: refused by the proxy itself (nothing reached an origin) is blocked,
    # whatever the 4xx, as TCP_DENIED/400 is; a 5xx it answered itself failed.
    pytest.param(
        f"{T} 5 {P} TAG_NONE/400 0 GET error:invalid-request - HIER_NONE/- -", dict(action="blocked"), id="tag-none-400"
    ),
    pytest.param(
        f"{T} 5 {P} NONE_NONE/400 0 GET error:invalid-request - HIER_NONE/- -",
        dict(action="blocked"),
        id="none-none-400",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_DENIED/400 0 GET http://a.test/ - HIER_NONE/- -", dict(action="blocked"), id="denied-400"
    ),
    pytest.param(
        f"{T} 5 {P} NONE/407 0 GET http://a.test/ - HIER_NONE/- -", dict(action="auth-required"), id="none-407"
    ),
    pytest.param(
        f"{T} 5 {P} NONE_NONE/503 0 CONNECT a.test:443 - HIER_NONE/- -", dict(action="failed"), id="none-none-503"
    ),
    pytest.param(
        f"{T} 5 {P} TCP_MISS_ABORTED/000 0 GET http://a.test/ - HIER_DIRECT/203.0.113.7 -",
        dict(action="failed"),
        id="aborted-000",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_DENIED/403 0 GET http://a.test/ - HIER_NONE/- text/html",
        dict(action="blocked"),
        id="denied-403",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_DENIED/407 0 GET http://a.test/ - HIER_NONE/- text/html",
        dict(action="auth-required", status=407),
        id="denied-407",
    ),
    pytest.param(
        f"{T} 5 {P} NONE_NONE/403 0 CONNECT a.test:443 - HIER_NONE/- -", dict(action="blocked"), id="none-none-403"
    ),
    pytest.param(
        f"{T} 5 {P} TCP_DENIED_REPLY/403 0 GET http://a.test/ - HIER_DIRECT/203.0.113.7 text/html",
        dict(action="blocked"),
        id="denied-reply",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_MISS/503 0 GET http://a.test/ - HIER_DIRECT/203.0.113.7 text/html",
        dict(action="failed"),
        id="5xx-direct",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_MISS/503 0 GET http://a.test/ - FIRSTUP_PARENT/192.0.2.5 text/html",
        dict(action="allowed"),
        id="5xx-from-parent",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_TUNNEL/200 1 CONNECT a.test:443 - TIMEOUT_HIER_DIRECT/203.0.113.7 -",
        dict(dst_ip="203.0.113.7"),
        id="timeout-prefix",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_MISS/200 10 GET http://A.Test./ - HIER_DIRECT/203.0.113.7 text/html",
        dict(dst_host="a.test"),
        id="host-case-trailing-dot",
    ),
    pytest.param(
        f"{T} 5 {P} TAG_NONE/400 0 GET /favicon.ico - HIER_NONE/- -",
        dict(dst_host=None, url_path=None, action="blocked"),
        id="bare-path",
    ),
    pytest.param(
        f"{T} 5 {P} TCP_MISS/200 10 GET http://bücher.example.test:8080/ä?b - HIER_DIRECT/203.0.113.7 text/html",
        dict(dst_host="bücher.example.test", dst_port=8080, url_path="/ä?b"),
        id="non-ascii-host",
    ),
    pytest.param(
        f"{T}   5 {P} TCP_MISS/200 10 GET http://a.test/x?q=http://b.test/ CORP\\Jane  Doe HIER_DIRECT/203.0.113.7  -",
        dict(user="CORP\\Jane Doe", dst_host="a.test", url_path="/x?q=http://b.test/", extra_mime_type="-"),
        id="runs-of-spaces-beyond-padding",
    ),
    pytest.param(
        f"{T} 5 {P} UDP_MISS/000 0 ICP_QUERY http://a.test/ - HIER_NONE/- -",
        dict(method="ICP_QUERY", dst_host="a.test"),
        id="icp-query",
    ),
    pytest.param(
        '192.0.2.10 - - [12/Nov/2026:12:38:20 +0530] "GET http://a.test:3128/x HTTP/1.1" 407 4235 TCP_DENIED:HIER_NONE',
        dict(time=datetime(2026, 11, 12, 7, 8, 20, tzinfo=UTC), action="auth-required", dst_port=3128, bytes=4235),
        id="common-local-time",
    ),
    pytest.param(
        '192.0.2.10 - jdoe [12/Nov/2026:12:38:20 +0000] "CONNECT a.test:443 HTTP/1.1" 200 0 "-" "Mozilla/5.0 (X)" '
        "NONE_NONE:HIER_DIRECT",
        dict(user="jdoe", method="CONNECT", dst_host="a.test", extra_user_agent="Mozilla/5.0 (X)"),
        id="combined",
    ),
    pytest.param(
        '192.0.2.10 - - [12/Nov/2026:12:38:20 +0000] "- error:invalid-request NONE/0.0" 400 0 TAG_NONE:HIER_NONE',
        dict(method=None, dst_host=None, vendor_action="TAG_NONE/400"),
        id="common-error-transaction",
    ),
]


def _parse(make_lines, lines, **options):
    return squid.parse(make_lines(lines), ParseContext("t.log", ParseOptions(**options)))


@pytest.mark.parametrize(("line", "expected"), NATIVE_CASES)
def test_line_cases(make_lines, line, expected):
    out = _parse(make_lines, [line])
    assert out.rejects.height == 0, out.rejects["reason"].to_list()
    assert out.records.schema == FLOW_SCHEMA
    row = out.records.row(0, named=True)
    extra = json.loads(row["extra"])
    for key, value in expected.items():
        got = extra.get(key.removeprefix("extra_")) if key.startswith("extra_") else row[key]
        assert got == value, f"{key}: {got!r} != {value!r}"
    assert row["src_ip"] and row["time"] and row["source_format"] == "squid" and row["line_no"] == 1


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("1793846577.245    51 192.0.2.104 TCP_MISS/200 1834 GET http://www.exam", "truncated native line"),
        ("2026/11/04 01:12:07 kid1| WARNING: could not resolve pastebin.test", "cache.log line"),
        ("2019/10/11 09:14:49| pinger: Initialising ICMP pinger ...", "cache.log line"),
        ("1793846577.245 51 192.0.2.104 58000 TCP_MISS/200 1834 GET http://a.test/ - HIER_DIRECT/x - -", "custom"),
        ("hello world", "not a Squid access-log line"),
        # Issue 13 item 11: a client that is not an address.
        (f"{T} 5 192.168.1.10055 TCP_MISS/200 10 GET http://a.test/ - HIER_NONE/- -", "client address '192.168"),
        (f"{T} 5 x.x.x.79 TCP_MISS/200 10 GET http://a.test/ - HIER_NONE/- -", "client address 'x.x.x.79'"),
        # Issue 13 item 17: a made-up scheme, host names over 253 characters or with empty labels.
        (f"{T} 5 {P} TCP_MISS/200 10 GET [click](http://a.test/ - HIER_NONE/- -", "URL scheme '[click](http'"),
        (
            f"{T} 5 {P} TCP_MISS/200 10 GET http://{LONG_HOST}/ - HIER_NONE/- -",
            "is not a host name",
        ),
        (f"{T} 5 {P} TCP_MISS/200 10 GET http://a..test/ - HIER_NONE/- -", "URL host 'a..test' is not a host name"),
        (f"{T} 5 {P} TCP_TUNNEL/200 10 CONNECT .a.test:443 - HIER_NONE/- -", "URL host '.a.test' is not a host name"),
    ],
)
def test_reject_reasons(make_lines, line, reason):
    good = f"{T} 5 {P} TCP_MISS/200 10 GET http://a.test/ - HIER_DIRECT/203.0.113.7 text/html"
    out = _parse(make_lines, [good, line, "", "   "])
    assert out.records.height == 1
    assert out.skipped == {"blank": 2}
    assert out.rejects.schema == REJECT_SCHEMA
    assert out.rejects["line_no"].to_list() == [2]
    assert reason in out.rejects["reason"][0]
    assert out.rejects["raw"][0] == line


BIG = 10_000
"""Lines of a large chunk (the reader's chunks hold about 100,000 Squid lines)."""


def test_large_chunk_parsed_whole_as_in_pieces(make_lines):
    """A large chunk gives what parsing it in small pieces gives: same flows, rejects and
    blanks, in line order."""
    shapes = [
        f"{T}    234 {P} TCP_TUNNEL/200 55750 CONNECT fe2.update.microsoft.com:443 - HIER_DIRECT/203.0.113.42 -",
        f"{T} 5 {P} TCP_MISS/200 10 GET http://a.test/ CORP\\John Smith HIER_DIRECT/203.0.113.7 text/html",
        f"{T}  5 {P} TCP_MISS/200 10 GET http://a.test/  - HIER_DIRECT/203.0.113.7 text/html ",
        '192.0.2.10 - - [12/Nov/2026:12:38:20 +0000] "GET http://a.test:3128/x HTTP/1.1" 407 4235 TCP_DENIED:HIER_NONE',
        "1793846577.245    51 192.0.2.104 TCP_MISS/200 1834 GET http://www.exam",
        "",
    ]
    lines = [shapes[i % len(shapes)] for i in range(3 * BIG)]
    whole = squid.parse(make_lines(lines), ParseContext("t.log"))
    step = BIG // 2
    pieces = [
        squid.parse(make_lines(lines[i : i + step], first=i + 1), ParseContext("t.log"))
        for i in range(0, len(lines), step)
    ]
    assert whole.records.equals(pl.concat([p.records for p in pieces]))
    assert whole.rejects.equals(pl.concat([p.rejects for p in pieces]))
    assert whole.skipped == {"blank": len(lines) // len(shapes)}
    assert whole.records["line_no"].is_sorted() and whole.records.height == 4 * len(lines) // len(shapes)


def test_header_keys_decided_per_chunk(make_lines):
    """``extra`` has the log_mime_hdrs keys on every line of a chunk where one line has headers."""
    plain = f"{T} 5 {P} TCP_MISS/200 10 GET http://a.test/ - HIER_DIRECT/203.0.113.7 text/html"
    lines = [f"{plain} [Host: a.test] [HTTP/1.1 200 OK]"] + [plain] * (3 * BIG)
    extras = squid.parse(make_lines(lines), ParseContext("t.log")).records["extra"]
    assert extras.str.contains('"req_headers":', literal=True).all()
    assert json.loads(extras[0])["req_headers"] == "[Host: a.test]" and json.loads(extras[1])["req_headers"] is None


def test_logformat_builtin_names_use_builtin_parser(make_lines):
    line = f"{T} 5 {P} TCP_MISS/200 10 GET http://a.test/ - HIER_DIRECT/203.0.113.7 text/html"
    for name in ("squid", "common", "combined"):
        out = _parse(make_lines, [line], squid_logformat=name)
        assert out.records.height == 1
        assert squid.sniff([line], ParseOptions(squid_logformat=name))


def test_custom_format_refused_with_hint():
    head = ["1793846577.245 51 192.0.2.104 58000 TCP_MISS/200 1834 GET http://a.test/ - HIER_DIRECT/x 80 -"] * 3
    assert not squid.sniff(head, ParseOptions())
    assert "--squid-logformat" in squid.hint(head)


# --- real third-party logs -------------------------------------------------------------------

NATIVE_REAL = [
    "integrations__test-access.log",
    "metron__SquidExampleOutput",
    "metron__SquidExampleOutput.txt",
    "plaso-pr4575-unmerged__squid_access.log.SYNTHETIC",
]


@pytest.mark.parametrize("name", NATIVE_REAL)
def test_real_native_logs_every_line_a_flow(real_logs, name):
    path = real_logs / "squid" / name
    n_lines = len(path.read_text().splitlines())
    result = read_logs([str(path)])
    (summary,) = result.files
    assert summary.format == "squid"
    assert summary.lines == n_lines
    assert summary.records == n_lines and summary.rejects == 0
    assert result.flows["time"].null_count() == 0 and result.flows["dst_host"].null_count() == 0


def test_real_2006_log_codes(real_logs):
    flows = read_logs([str(real_logs / "squid" / "integrations__test-access.log")]).flows
    counts = dict(flows.group_by("action").len().iter_rows())
    assert counts["auth-required"] == 15  # the TCP_DENIED/407 challenges
    assert "blocked" not in counts
    connect = flows.filter(pl.col("method") == "CONNECT")
    assert connect.height and (connect["scheme"] == "https").all() and connect["dst_port"].is_not_null().all()


def test_real_plaso_synthetic(real_logs):
    flows = read_logs([str(real_logs / "squid" / "plaso-pr4575-unmerged__squid_access.log.SYNTHETIC")]).flows
    assert flows["src_ip"].to_list()[4] == "2001:db8::1"
    assert flows["user"].to_list()[-1] == "user@domain.com"
    assert flows["dst_host"].to_list()[1] == "domain.xyz"  # two spaces before the MIME type
    assert flows["action"].to_list()[5] == "blocked"


def test_metron_expected_json_agrees(real_logs):
    expected = [json.loads(ln) for ln in (real_logs / "squid" / "metron__SquidExampleParsed").read_text().splitlines()]
    flows = read_logs([str(real_logs / "squid" / "metron__SquidExampleOutput")]).flows
    assert flows.height == len(expected)
    for want, got in zip(expected, flows.iter_rows(named=True), strict=True):
        extra = json.loads(got["extra"])
        assert int(got["time"].timestamp() * 1000) == want["timestamp"]
        assert got["src_ip"] == want["ip_src_addr"]
        assert got["dst_ip"] == want["ip_dst_addr"]
        assert got["dst_host"] == want["full_hostname"]
        assert got["status"] == want["code"]
        assert got["bytes"] == want["bytes"]
        assert got["method"] == want["method"]
        assert got["vendor_action"].split("/")[0] == want["action"]
        assert extra["elapsed_ms"] == want["elapsed"]
        assert want["url"].endswith(got["url_path"])


def _datadog_cases(text: str) -> list[tuple[str, str]]:
    """(sample line, its result block) from DataDog's test YAML, without a YAML library: samples
    are double-quoted one-liners or folded ``>`` blocks."""
    cases = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r'^(\s*)sample: (?:"(.*)"|>)\s*$', lines[i])
        if not m:
            i += 1
            continue
        indent = len(m.group(1))
        i += 1
        if m.group(2) is not None:
            sample = m.group(2).replace('\\"', '"')
        else:
            folded = []
            while i < len(lines) and len(lines[i]) - len(lines[i].lstrip()) > indent:
                folded.append(lines[i].strip())
                i += 1
            sample = " ".join(folded)
        block = []
        while i < len(lines) and "sample:" not in lines[i]:
            block.append(lines[i])
            i += 1
        cases.append((sample, "\n".join(block)))
    return cases


def _yaml_value(block: str, *path: str):
    """The scalar at ``path`` (nested keys) in a YAML result block, or None."""
    pattern = r"\n\s*".join(rf"{re.escape(k)}:" for k in path[:-1])
    m = re.search(rf"{pattern}[\s\S]*?\n\s*{re.escape(path[-1])}: (.+)" if pattern else rf"{path[-1]}: (.+)", block)
    if not m:
        return None
    value = m.group(1).strip().strip('"')
    try:
        return float(value)
    except ValueError:
        return value


def test_datadog_yaml_agrees(real_logs, make_lines):
    text = (real_logs / "squid" / "integrations-core__squid_tests.yaml").read_text()
    cases = _datadog_cases(text)
    assert len(cases) == 21
    out = squid.parse(make_lines([s for s, _ in cases]), ParseContext("yaml"))
    assert out.records.height + out.rejects.height == len(cases)
    rejected = dict(zip(out.rejects["line_no"].to_list(), out.rejects["reason"].to_list(), strict=True))
    flows = {r["line_no"]: r for r in out.records.iter_rows(named=True)}
    checked = 0
    for n, (sample, block) in enumerate(cases, start=1):
        if re.match(r"^\d{4}/\d\d/\d\d ", sample):
            assert rejected[n] == "cache.log line, not an access-log line", sample
            continue
        assert n in flows, (sample, rejected.get(n))
        got = flows[n]
        if "custom:" not in block:  # the later cases carry no expected result
            continue
        checked += 1
        assert int(got["time"].timestamp() * 1000) == _yaml_value(block, "custom", "timestamp")
        assert got["src_ip"] == _yaml_value(block, "client", "geoip", "ip")
        assert got["status"] == _yaml_value(block, "http", "status_code") or got["status"] == 0
        assert got["method"] == _yaml_value(block, "http", "method")
        assert got["bytes"] == _yaml_value(block, "network", "bytes_written")
        host = _yaml_value(block, "url_details", "host")
        if re.match(r"^[\d.]+$", host):  # an address is the destination's address, not a name
            assert (got["dst_host"], got["dst_ip"]) == (None, host)
        else:
            assert got["dst_host"] == host
        port = _yaml_value(block, "url_details", "port")
        if port is not None:
            assert got["dst_port"] == port
        dst_ip = _yaml_value(block, "destination", "geoip", "ip")
        if dst_ip is not None:
            assert got["dst_ip"] == dst_ip
        assert got["vendor_action"].split("/")[0].removeprefix("TCP_") == _yaml_value(block, "squid", "status")
        assert json.loads(got["extra"])["hierarchy"] == _yaml_value(block, "squid", "peer_status")
    assert checked == 10


def test_datadog_yaml_is_not_a_log(real_logs):
    from analyzer.errors import InputError

    with pytest.raises(InputError, match="format not recognised"):
        read_logs([str(real_logs / "squid" / "integrations-core__squid_tests.yaml")])


def test_registered():
    assert REGISTRY["squid"] is squid.PARSER
