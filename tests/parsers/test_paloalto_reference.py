"""PAN-OS against third-party material: every real log read in full, and the parses Elastic and
crowdsec expect agree with ours field by field where the fields correspond."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from analyzer.parsers.base import ParseOptions
from analyzer.pipeline.read import read_logs


def _logs(real_logs):
    return sorted(p for p in (real_logs / "panos").iterdir() if not p.name.endswith((".json", ".assert")))


def test_every_real_log_line_is_accounted_for(real_logs):
    files = _logs(real_logs)
    assert len(files) == 5
    result = read_logs([str(p) for p in files])
    for summary in result.files:
        assert summary.format == "paloalto"
        assert summary.lines == summary.records + summary.rejects + summary.skipped_total
    by_name = {s.file.rsplit("/", 1)[-1]: (s.lines, s.records, s.rejects) for s in result.files}
    assert by_name == {
        "crowdsec-hub__palo-alto-threat.log": (2, 2, 0),
        "integrations__test-panw-panos-inc-threat-sample.log.excerpt": (9, 9, 0),
        "integrations__test-panw-panos-threat-url-no-xff-sample.log": (1, 1, 0),
        "integrations__test-panw-panos-traffic-sample.log.excerpt": (9, 9, 0),
        "metron__PaloaltoOutput": (100, 99, 1),
    }
    # The one reject is metron's line 88, whose addresses were written with commas ("23.200,10,217").
    (reject,) = result.rejects.to_dicts()
    assert reject["line_no"] == 88
    assert (
        reject["reason"] == "columns cannot be made out: destination address (column 8) is '23.200', not an IP address"
    )
    url = result.flows.filter(result.flows["source_file"].str.contains("inc-threat"))
    assert url["dst_host"].to_list() == [
        "lorexx.cn",
        "lsiu.info",
        "hottestfiles.com",
        "infodist1.com",
        "findmorepill.com",
        None,  # "-/": a private address, no host
        "wantfinest.com",
        "sameshitasiteverwas.com",
        "nolagtime.com",
    ]
    assert url["action"].to_list() == ["allowed"] * 3 + ["blocked"] * 2 + ["allowed"] + ["blocked"] * 3


def _get(doc: dict, dotted: str):
    for part in dotted.split("."):
        doc = doc[part]
    return doc


# Elastic field → (our column, or "extra.<key>"; how Elastic's value maps onto ours).
ELASTIC = {
    "source.ip": ("src_ip", str),
    "source.port": ("src_port", int),
    "destination.ip": ("dst_ip", str),
    "destination.port": ("dst_port", int),
    "destination.domain": ("dst_host", str),
    "url.domain": ("dst_host", str),
    "url.path": ("url_path", str),
    "network.transport": ("protocol", str),
    "network.application": ("app", str),
    "rule.name": ("rule", str),
    "panw.panos.action": ("vendor_action", str),
    "event.type": ("action", lambda v: v[0]),  # ["allowed"]
    "event.action": ("extra.subtype", {"url_filtering": "url"}.get),
    "observer.serial_number": ("device", str),
    "panw.panos.flow_id": ("session_id", str),
    "observer.hostname": ("extra.device_name", str),
    "panw.panos.type": ("extra.type", str),
    "panw.panos.sub_type": ("extra.subtype", str),
    "panw.panos.virtual_sys": ("extra.vsys", str),
    "observer.ingress.zone": ("extra.from_zone", str),
    "observer.egress.zone": ("extra.to_zone", str),
    "source.nat.ip": ("extra.nat_src", str),
    "destination.nat.ip": ("extra.nat_dst", str),
    "panw.panos.url.category": ("extra.category", str),
    "log.level": ("extra.severity", str),
    "panw.panos.threat.id": ("extra.threat", lambda v: f"({v})"),
    "@timestamp": ("time", lambda v: datetime.fromisoformat(v).astimezone(UTC)),
}
"""Not compared: geo and community ids (enrichment), ``network.direction`` (Elastic derives it
from zone names it was configured with; PAN-OS logs no direction of their own),
``event.outcome``/``kind``/``category``/``severity`` (Elastic's classification), NAT ports, flags,
sequence number and the other ``panw.panos`` bookkeeping fields."""


def test_elastic_expected_parse_agrees(real_logs):
    folder = real_logs / "panos"
    expected = json.loads(
        (folder / "integrations__test-panw-panos-threat-url-no-xff-sample.log-expected.json").read_text()
    )
    (doc,) = expected["expected"]
    assert doc["event"]["timezone"] == "+09:30"  # Elastic's test reads local times at +09:30
    result = read_logs(
        [str(folder / "integrations__test-panw-panos-threat-url-no-xff-sample.log")],
        options=ParseOptions(tz="Australia/Darwin"),  # +09:30, no daylight saving
    )
    (flow,) = result.flows.to_dicts()
    extra = json.loads(flow["extra"])
    for theirs, (ours, convert) in ELASTIC.items():
        value = extra[ours[6:]] if ours.startswith("extra.") else flow[ours]
        assert value == convert(_get(doc, theirs)), theirs
    assert flow["action"] == "allowed" and flow["host_source"] == "log" and flow["scheme"] == "https"


# crowdsec Parsed key → (our column or "extra.<key>", conversion of crowdsec's string).
CROWDSEC = {
    "src_ip": ("src_ip", str),
    "dst_ip": ("dst_ip", str),
    "src_port": ("src_port", int),
    "dst_port": ("dst_port", int),
    "ip_proto": ("protocol", str),
    "action": ("vendor_action", str),
    "rule": ("rule", str),
    "app": ("app", str),
    "session_id": ("session_id", str),
    "serial_number": ("device", str),
    "log_type": ("extra.type", str),
    "log_subtype": ("extra.subtype", str),
    "vsys": ("extra.vsys", str),
    "src_zone": ("extra.from_zone", str),
    "dst_zone": ("extra.to_zone", str),
    "nat_src_ip": ("extra.nat_src", str),
    "nat_dst_ip": ("extra.nat_dst", str),
    "severity": ("extra.severity", str),
    "direction": ("extra.direction", str),
    "threat_id": ("extra.threat", str),
    "url_or_filename": ("extra.url", str),
    "url_category_or_wildfire_verdict": ("extra.category", str),
}
NOT_COMPARED = {
    # The relay's header, and the raw text in pieces.
    "syslog_hostname",
    "syslog_timestamp",
    "program",
    "message",
    "unparsed_data",
    # Bookkeeping columns without a flow column or extra key of ours.
    "pan_reserved",
    "pan_unknown",
    "pan_log_flags",
    "repeat_count",
    "log_seq_num",
    "fwd_to_panorama",
    "log_fwd_profile",
    "ingress_int",
    "egress_int",
    "nat_src_port",
    "nat_dst_port",
    "src_country",
    "dst_country",
    "file_hash",
    # Compared as the flow's time below (with the MarshaledTime of the enrich stage).
    "generation_timestamp",
}
_ASSERT = re.compile(
    r'^results\["(?P<stage>[^"]+)"\]\["[^"]+"\]\[(?P<i>\d+)\]'
    r'\.Evt\.(?P<kind>\w+)\["(?P<key>[^"]+)"\] == "(?P<value>.*)"$'
)


def test_crowdsec_assert_file_agrees(real_logs):
    folder = real_logs / "panos"
    parsed: dict[int, dict[str, str]] = {}
    marshaled: dict[int, str] = {}
    for line in (folder / "crowdsec-hub__palo-alto-threat.parser.assert").read_text().splitlines():
        m = _ASSERT.match(line)
        if not m:
            continue
        i = int(m["i"])
        if m["stage"] == "s01-parse" and m["kind"] == "Parsed":
            parsed.setdefault(i, {})[m["key"]] = m["value"]
        if m["stage"] == "s02-enrich" and m["kind"] == "Enriched" and m["key"] == "MarshaledTime":
            marshaled[i] = m["value"]
    assert set(parsed) == {0, 1} and set(marshaled) == {0, 1}
    result = read_logs([str(folder / "crowdsec-hub__palo-alto-threat.log")], options=ParseOptions(tz="Europe/Paris"))
    flows = result.flows.to_dicts()
    for i, fields in parsed.items():
        flow = flows[i]
        extra = json.loads(flow["extra"])
        assert set(fields) <= set(CROWDSEC) | NOT_COMPARED, set(fields) - set(CROWDSEC) - NOT_COMPARED
        for key, value in fields.items():
            if key in CROWDSEC:
                ours, convert = CROWDSEC[key]
                got = extra[ours[6:]] if ours.startswith("extra.") else flow[ours]
                assert got == convert(value), key
        # crowdsec's time (the relay's stamp, 08:11:40+02:00) and ours (PAN-OS's high-resolution
        # stamp, 08:11:40.288+02:00) agree to the second; the generated time says the same in Paris.
        assert flow["time"].replace(microsecond=0) == datetime.fromisoformat(marshaled[i]).astimezone(UTC)
        local = datetime.strptime(fields["generation_timestamp"], "%Y/%m/%d %H:%M:%S")
        assert flow["time"].replace(microsecond=0) == local.replace(
            tzinfo=datetime.fromisoformat(marshaled[i]).tzinfo
        ).astimezone(UTC)
    assert [f["action"] for f in flows] == ["blocked", "allowed"]  # reset-both, alert


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_notes_say_which_zone_was_used(real_logs, tz):
    result = read_logs([str(real_logs / "panos" / "metron__PaloaltoOutput")], options=ParseOptions(tz=tz))
    assert result.files[0].notes == {"timezone": tz}
