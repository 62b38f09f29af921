"""Custom Squid logformats: compiling definitions, parsing with them, the real "extensive" log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analyzer.errors import AnalyzerError
from analyzer.parsers import squid, squid_logformat
from analyzer.parsers.base import ParseContext, ParseOptions
from analyzer.read import read_logs
from analyzer.schema import FLOW_SCHEMA

# The layout of elastic/integrations' test-access-extensive.log. Elastic does not publish the
# squid.conf line; this is derived from the lines and Elastic's expected parse (field by field:
# client port, reply/request header sizes, body size, HTTP version, server port, Referer,
# User-Agent, Host, X-Forwarded-For, server time). Its last two lines add a TLS SNI field, so the
# site changed its logformat: two definitions, one per line.
_HEAD = "%ts.%03tu %6tr %>a %>p %Ss/%03>Hs %<st %>st %<sh %>sh %<bs %rm %ru %rv %[un %Sh/%<a %<p %mt %ea %et"
_HEADERS = '"%{Referer}>h" "%{User-Agent}>h" "%{Host}>h" "%{X-Forwarded-For}>h"'
EXTENSIVE = f'{_HEAD} {_HEADERS} %<pt %err_detail\n{_HEAD} {_HEADERS} "%ssl::>sni" %<pt %err_detail'
SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
SAMPLE_DEF = '%ts.%03tu %6tr %>a %>p %Ss/%03>Hs %<st %rm %ru %un %Sh/%<a %<p %mt "%{User-Agent}>h" "%{Host}>h"'


def _parse(make_lines, lines, definition):
    return squid_logformat.parse(
        make_lines(lines), ParseContext("t", ParseOptions(squid_logformat=definition)), definition
    )


@pytest.mark.parametrize(
    ("definition", "line", "expected"),
    [
        pytest.param(
            "%ts.%03tu %6tr %>a %>p %Ss/%03>Hs %<st %rm %ru %un %Sh/%<a %mt",
            "1793754061.007     12 192.0.2.10 51234 TCP_TUNNEL/200 99 CONNECT fe2.update.microsoft.com:443 - "
            "HIER_DIRECT/203.0.113.42 -",
            dict(time=datetime(2026, 11, 4, 1, 1, 1, 7000, tzinfo=UTC), src_port=51234, dst_port=443, action="allowed"),
            id="client-port",
        ),
        pytest.param(
            '%>a - %un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st %Ss:%Sh',
            '192.0.2.10 - CORP\\Jane Doe [04/Nov/2026:02:01:01 +0100] "GET http://a.test/x HTTP/1.1" 403 10 '
            "TCP_DENIED:HIER_NONE",
            dict(time=datetime(2026, 11, 4, 1, 1, 1, tzinfo=UTC), user="CORP\\Jane Doe", action="blocked", status=403),
            id="tl-and-user-with-space",
        ),
        pytest.param(
            "%tg %>a %Ss/%>Hs %rm %ru",
            "04/Nov/2026:01:01:01 +0000 192.0.2.10 TCP_DENIED/407 GET http://a.test/",
            dict(time=datetime(2026, 11, 4, 1, 1, 1, tzinfo=UTC), action="auth-required"),
            id="tg",
        ),
        pytest.param(
            "%{%Y-%m-%d %H:%M:%S}tl %>a %Ss/%>Hs %rm %ru",
            "2026-11-04 02:01:01 192.0.2.10 TCP_MISS/200 GET http://a.test/",
            dict(time=datetime(2026, 11, 4, 1, 1, 1, tzinfo=UTC)),
            id="tl-strftime-local-zone",
        ),
        pytest.param(
            "%ts %>a %Ss/%03>Hs %<A %<p %rm %rp %{Host}>h",
            "1793754061 192.0.2.10 TCP_MISS/200 download.windowsupdate.com 80 GET /a.cab download.windowsupdate.com",
            dict(dst_host="download.windowsupdate.com", url_path="/a.cab", extra_server_port=80),
            id="path-and-host-header",
        ),
        pytest.param(
            "%ts.%03tu %>a %Ss/%03>Hs %rm %ru %ssl::>sni %note %zz_site_code",
            "1793754061.000 192.0.2.10 TCP_TUNNEL/200 CONNECT a.test:443 a.test - x",
            dict(dst_host="a.test"),
            id="unknown-codes-skipped",
        ),
        pytest.param(
            '%ts.%03tu %>a %Ss/%03>Hs %rm %ru 100%% "%{User-Agent}>h"',
            '1793754061.000 192.0.2.10 TCP_MISS/200 GET http://a.test/ 100% "Agent \\"quoted\\" x"',
            dict(extra_user_agent='Agent \\"quoted\\" x'),
            id="percent-literal-and-escaped-quote",
        ),
        pytest.param(
            "logformat site %ts.%03tu %>a %Ss/%03>Hs %rm %ru",
            "1793754061.000 192.0.2.10 TCP_MISS/503 GET http://a.test/",
            dict(action="allowed"),  # no hierarchy code: a 5xx cannot be told from a parent's
            id="pasted-squid-conf-line",
        ),
    ],
)
def test_definitions(make_lines, definition, line, expected):
    lines = make_lines([line])
    ctx = ParseContext("t", ParseOptions(squid_logformat=definition, tz="Europe/Berlin"))
    flows, bad = squid_logformat.parse(lines, ctx, definition)
    assert bad.height == 0, bad["reason"].to_list()
    assert flows.schema == FLOW_SCHEMA
    row = flows.row(0, named=True)
    extra = json.loads(row["extra"]) if row["extra"] else {}
    for key, value in expected.items():
        got = extra.get(key.removeprefix("extra_")) if key.startswith("extra_") else row[key]
        assert got == value, f"{key}: {got!r} != {value!r}"


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("%ts %>a %{User-Agent>h %ru", "'{' without '}' at position 10"),
        ("%ts %>a %ru %", "'%' at the end at position 13"),
        ("%ts %>a %ru %5", "at position"),
        ("%>a %ru", "no time code"),
        ("%ts %ru", "no client code"),
        ("%ts %>a", "no URL code"),
        ("   ", "empty"),
    ],
)
def test_bad_definitions_name_definition_and_position(definition, message):
    with pytest.raises(AnalyzerError, match="squid logformat") as exc:
        squid_logformat.compile_all(definition)
    assert message in str(exc.value)


def test_non_matching_lines_are_rejects(make_lines):
    flows, bad = _parse(
        make_lines,
        ["1793754061.000 192.0.2.10 TCP_MISS/200 GET http://a.test/", "junk"],
        "%ts.%03tu %>a %Ss/%03>Hs %rm %ru",
    )
    assert flows["line_no"].to_list() == [1]
    assert bad["line_no"].to_list() == [2]
    assert "does not match the logformat" in bad["reason"][0]


def test_count_matches_and_sniff():
    head = ["1793754061.000 192.0.2.10 TCP_MISS/200 GET http://a.test/", "junk"]
    assert squid_logformat.count_matches(head, "%ts.%03tu %>a %Ss/%03>Hs %rm %ru") == 1
    assert squid.sniff(head, ParseOptions(squid_logformat="%ts.%03tu %>a %Ss/%03>Hs %rm %ru"))
    assert not squid.sniff(["junk", "junk", "x"], ParseOptions(squid_logformat="%ts.%03tu %>a %Ss/%03>Hs %rm %ru"))


def test_real_extensive_log(real_logs):
    path = real_logs / "squid" / "integrations__test-access-extensive.log"
    with pytest.raises(AnalyzerError, match="custom logformat"):
        read_logs([str(path)])
    result = read_logs([str(path)], options=ParseOptions(squid_logformat=EXTENSIVE))
    (summary,) = result.files
    assert (summary.lines, summary.records, summary.rejects) == (11, 11, 0)
    first = result.flows.row(0, named=True)
    # Elastic's expected parse of line 1, field by field where ours corresponds.
    assert first["time"] == datetime(2026, 3, 13, 15, 48, 42, 391000, tzinfo=UTC)
    assert (first["src_ip"], first["src_port"]) == ("10.105.21.199", 58938)
    assert (first["dst_ip"], first["dst_port"], first["dst_host"]) == ("203.0.113.10", 80, "example.com")
    assert (first["bytes"], first["status"], first["user"]) == (904, 200, "badeyek")
    extra = json.loads(first["extra"])
    assert extra["request_header_bytes"] == 123 and extra["reply_header_bytes"] == 364
    assert extra["user_agent"] == "curl/8.14.1" and extra["host"] == "example.com"
    assert extra["peer_response_ms"] == 53 and extra["http_version"] == "1.1"
    last = result.flows.row(10, named=True)
    assert json.loads(last["extra"])["x_forwarded_for"] == "192.168.1.50"
    # Only the first definition: the two SNI lines are rejects, with the reason.
    only_first = read_logs([str(path)], options=ParseOptions(squid_logformat=EXTENSIVE.splitlines()[0]))
    assert only_first.rejects["line_no"].to_list() == [10, 11]


def test_custom_sample(make_lines):
    path = SAMPLES / "squid-custom" / "access-custom.log"
    result = read_logs([str(path)], options=ParseOptions(squid_logformat=SAMPLE_DEF))
    (summary,) = result.files
    assert summary.lines == summary.records + summary.rejects
    assert result.rejects["line_no"].to_list() == [5]
    assert set(result.flows["action"].unique()) == {"allowed", "blocked", "auth-required", "failed"}
    assert result.flows["src_port"].null_count() == 0


CUSTOM = '%ts.%03tu %6tr %>a %>p %Ss/%03>Hs %<st %rm %ru %un %Sh/%<a %<p %mt "%{User-Agent}>h" "%{Host}>h"'
KEY = ["line_no", "time", "src_ip", "dst_host", "dst_port", "action", "status", "bytes", "user"]


@pytest.mark.parametrize("name", ["squid", "logformat squid"])
def test_builtin_name_among_other_definitions(name):
    """Item 14: a built-in name on its own line stands for its definition, beside custom ones."""
    native = SAMPLES / "squid" / "access.log"
    custom = SAMPLES / "squid-custom" / "access-custom.log"
    both = read_logs([str(native), str(custom)], options=ParseOptions(squid_logformat=f"{name}\n{CUSTOM}"))
    by_file = {f.file: f for f in both.files}
    alone = read_logs([str(custom)], options=ParseOptions(squid_logformat=CUSTOM))
    assert by_file[str(custom)].records == alone.files[0].records == alone.files[0].lines - 1  # one bad line
    builtin = read_logs([str(native)])
    mine = both.flows.filter(both.flows["source_file"] == str(native))
    assert by_file[str(native)].records == builtin.files[0].records
    assert mine.select(KEY).equals(builtin.flows.select(KEY))


def test_combined_and_common_names_among_definitions():
    combined = SAMPLES / "squid" / "access-combined.log"
    read = read_logs([str(combined)], options=ParseOptions(squid_logformat="common\ncombined"))
    builtin = read_logs([str(combined)])
    assert read.files[0].records == builtin.files[0].records > 0
    assert read.flows.select(KEY).equals(builtin.flows.select(KEY))
