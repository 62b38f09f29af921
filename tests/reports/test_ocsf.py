"""findings.ocsf.json: one OCSF Compliance Finding per finding, valid against the OCSF models."""

from __future__ import annotations

import copy
import io
import json

import polars as pl
import py_ocsf_models
import pytest

from analyzer.api import write_reports
from analyzer.cli import main
from analyzer.controls import json_inert, json_inert_expr
from analyzer.pipeline.check import run_check
from analyzer.remediation import finding_remediation
from analyzer.reports import ocsf, ocsf_json
from analyzer.verdicts import SEVERITIES, VERDICTS
from tests.conftest import SAMPLES

from .ocsf_schema import InvalidEvent, validate

SITE = SAMPLES / "site.toml"


@pytest.fixture(scope="module")
def result():
    return run_check([str(SAMPLES)], str(SITE))


@pytest.fixture(scope="module")
def events(result, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("ocsf")
    (path,) = write_reports(result, out, formats=["findings.ocsf.json"])
    assert path == out / "findings.ocsf.json"
    return json.loads(path.read_text(encoding="utf-8"))


def ms(value) -> int:
    return int(value.timestamp() * 1000)


def test_every_finding_of_the_samples_is_a_valid_compliance_finding(result, events):
    assert len(events) == result.findings.height > 40
    models = validate(events)
    assert all(m.class_uid == 2003 for m in models)
    for finding, event in zip(result.findings.iter_rows(named=True), events, strict=True):
        info = event["finding_info"]
        assert info["uid"] == event["metadata"]["uid"] == finding["finding_id"]
        assert info["first_seen_time"] == event["start_time"] == ms(finding["first_seen"])
        assert info["last_seen_time"] == event["end_time"] == event["time"] == ms(finding["last_seen"])
        assert event["resources"][0]["name"] == finding["server"]
        server = result.policy.site.servers_by_name[finding["server"]]
        assert event["resources"][0]["uid"] == server.fqdn
        assert event["resources"][0]["data"]["addresses"] == list(server.addresses)
        requirement = event["compliance"]["requirements"]
        assert requirement == [finding["entry"] or "cm2007: destinations the allow-list does not list are blocked"]
        assert [e["data"] for e in event["evidences"]] == finding["evidence"]
        assert event["unmapped"]["count"] == finding["count"]
        assert event["activity_id"] == 1 and event["status"] == "New"  # no baseline: every finding is new


def test_the_mapping_of_severity_and_compliance_status(events):
    by_verdict = {e["unmapped"]["verdict"]: e for e in events}
    blocked = by_verdict["blocked-required"]
    assert (blocked["severity_id"], blocked["severity"]) == (4, "High")
    assert blocked["compliance"]["status_id"] == 3 and blocked["compliance"]["checks"][0]["status"] == "Fail"
    assert by_verdict["unexpected-allowed"]["severity_id"] == 3
    assert by_verdict["unattributed"]["compliance"]["status_id"] == 2  # Warning: could not be judged
    assert by_verdict["unexpected-blocked"]["compliance"]["status_id"] == 1  # Pass: the device did right
    assert by_verdict["required-allowed"]["severity"] == "Informational"
    pair = next(e for e in events if e["compliance"]["requirements"] == ["IBSUP -> PRI1"])
    assert pair["finding_info"]["title"] == "blocked-required: IBSUP -> sup-pri1.corp.example.com:8530 (http)"
    standards = {s for e in events for s in e["compliance"]["standards"]}
    assert standards == {"Configuration Manager 2007, How to Configure Firewalls for Software Updates"}


def test_every_verdict_and_severity_has_its_ocsf_value():
    assert set(ocsf.COMPLIANCE_STATUS) == set(VERDICTS)
    assert set(ocsf.SEVERITY_ID) == {*SEVERITIES, "none"}
    assert ocsf.OCSF_VERSION == py_ocsf_models.OCSF_VERSION  # the version the models validate


BROKEN = {
    "no compliance object": lambda e: e.pop("compliance"),
    "a severity_id OCSF does not define": lambda e: e.update(severity_id=7),
    "no finding uid": lambda e: e["finding_info"].pop("uid"),
    "a time as text": lambda e: e.update(time="2026-11-02T09:00:09Z"),
    "a misspelt attribute": lambda e: e.update(finding_infos=e.pop("finding_info")) or e.update(finding_info={}),
    "an attribute the class lacks": lambda e: e.update(dst_endpoint={"ip": "198.51.100.70"}),
    "type_uid of another activity": lambda e: e.update(type_uid=200303),
    "the class of a detection finding": lambda e: e.update(class_uid=2004, type_uid=200401),
    "evidence that is not a list": lambda e: e.update(evidences={"name": "log line"}),
}


@pytest.mark.parametrize("broken", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_event_fails_validation(events, broken):
    sample = copy.deepcopy(events[:3])
    validate(sample)  # intact, it passes: the failure below is the breakage's
    broken(sample[1])
    with pytest.raises(InvalidEvent, match=r"^event 1"):
        validate(sample)


def test_the_written_events_carry_the_remediation_of_each_finding(result, events):
    texts = dict(finding_remediation(result.findings, result.policy).iter_rows())
    assert len(texts) == result.findings.height
    assert {e["finding_info"]["uid"]: e["remediation"]["desc"] for e in events} == texts
    pair = next(e for e in events if e["compliance"]["requirements"] == ["IBSUP -> PRI1"])
    assert pair["remediation"]["desc"].startswith("Allow IBSUP (198.51.100.30) to reach its upstream server PRI1")


def test_remediation_texts_become_the_remediation_of_their_finding(result):
    ids = result.findings["finding_id"].to_list()
    texts = pl.DataFrame({"finding_id": [ids[0], ids[2]], "remediation": ["acl allow dstdomain .x", None]})
    events = ocsf.ocsf_events(result.findings, result.policy, texts)
    validate(events)
    assert events[0]["remediation"] == {"desc": "acl allow dstdomain .x"}
    assert "remediation" not in events[1] and "remediation" not in events[2]  # none given, none written
    by_mapping = ocsf.ocsf_events(result.findings, result.policy, {ids[1]: "open 443"})
    assert by_mapping[1]["remediation"] == {"desc": "open 443"}


def test_the_file_is_the_same_for_the_same_input(result, tmp_path):
    first = write_reports(result, tmp_path / "a", formats="findings.ocsf.json")[0].read_bytes()
    again = write_reports(result, tmp_path / "b", formats="findings.ocsf.json")[0].read_bytes()
    assert first == again
    assert first.count(b"\n") == result.findings.height + 2  # "[", one event a line, "]"


LINE = "{t:.3f}    150 192.0.2.10 {code} 1234 {method} {url} - HIER_DIRECT/203.0.113.50 text/plain"


def test_baseline_statuses_map_to_activity_and_status(tmp_path):
    t0 = 1793754000
    week1 = [
        LINE.format(t=t0, code="TCP_DENIED/403", method="GET", url="http://download.windowsupdate.com/a.cab"),
        LINE.format(t=t0 + 60, code="TCP_MISS/200", method="GET", url="http://evil.test/x"),
    ]
    week2 = [LINE.format(t=t0 + 7 * 86400, code="TCP_MISS/200", method="GET", url="http://evil.test/x")]
    for name, lines in (("w1.log", week1), ("w2.log", week2)):
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    site = str(SITE)
    main(["check", str(tmp_path / "w1.log"), "--site", site, "-o", str(tmp_path / "o1"), "-q"])
    baseline = str(tmp_path / "o1" / "findings.json")
    main(["check", str(tmp_path / "w2.log"), "--site", site, "-o", str(tmp_path / "o2"), "--baseline", baseline, "-q"])
    events = json.loads((tmp_path / "o2" / "findings.ocsf.json").read_text(encoding="utf-8"))
    validate(events)
    by_status = {e["unmapped"]["status"]: e for e in events}
    resolved, persisting = by_status["resolved"], by_status["persisting"]
    assert (resolved["activity_name"], resolved["type_uid"], resolved["status_id"]) == ("Close", 200303, 4)
    assert resolved["compliance"]["status_id"] == 1  # no longer seen failing
    assert resolved["unmapped"]["verdict"] == "blocked-required"
    assert (persisting["activity_name"], persisting["type_uid"], persisting["status"]) == ("Update", 200302, "New")


def test_log_text_stays_inert_in_the_json(tmp_path):
    hostile = "evil\x1b[31m\u202e.test"
    (tmp_path / "a.log").write_text(
        LINE.format(t=1793754000, code="TCP_MISS/200", method="GET", url=f"http://{hostile}/x") + "\n", encoding="utf-8"
    )
    checked = run_check([str(tmp_path / "a.log")], str(SITE))
    raw = write_reports(checked, tmp_path / "o", formats="findings.ocsf.json")[0].read_bytes()
    assert b"\x1b" not in raw
    events = json.loads(raw)
    validate(events)
    assert [e["unmapped"]["host"] for e in events] == [hostile]  # kept as data, escaped in the file


def test_no_findings_is_an_empty_array(result, tmp_path):
    buffer = io.StringIO()
    ocsf.write_events(ocsf.iter_events(result.findings.clear(), result.policy), buffer)
    assert json.loads(buffer.getvalue()) == []


# The writer builds each event's JSON text with polars expressions (ocsf_json); ocsf_events builds
# the same events as dicts, the reference: json.dumps of both must be the same text, so the keys,
# their order, the values and their types agree (1 is not 1.0 nor true).


def same_events(written: bytes, reference: list[dict]) -> None:
    events = json.loads(written)
    assert len(events) == len(reference)
    for i, (event, expected) in enumerate(zip(events, reference, strict=True)):
        assert json.dumps(event) == json.dumps(expected), f"event {i}"


def test_the_written_events_are_those_of_ocsf_events_on_the_samples(result, tmp_path):
    raw = write_reports(result, tmp_path, formats="findings.ocsf.json")[0].read_bytes()
    texts = finding_remediation(result.findings, result.policy)
    same_events(raw, ocsf.ocsf_events(result.findings, result.policy, texts))


HOSTILE = "evil\x1b[31m\u202e\x7f\x85\x9b\u2028\u2066\x00\n\r\t.test"
"""C0 (escaped by JSON), DEL, C1 and bidi controls (escaped by json_inert), a line separator."""

AWKWARD = [  # (column: value) over a sample finding; every column not named keeps its value
    {},
    {c: None for c in ("host", "address", "port", "scheme", "reason", "entry", "device_rules", "count", "bytes")}
    | {"evidence": None, "first_seen": None, "last_seen": None, "direction": None, "server": None},
    {"host": HOSTILE, "reason": 'he said "stop" \\ C:\\temp\\ ' + HOSTILE, "device_rules": HOSTILE},
    {"host": "bücher.例え.test", "address": "", "reason": "naïve ☃ 😀", "entry": 'entrée "quoted" \\'},
    {"host": "", "address": "2001:db8::1", "evidence": [], "last_seen": None},  # empty: no observable
    {"first_seen": None, "server": "NOT-IN-POLICY", "direction": "inbound"},
    {"evidence": [None, {"file": None, "line": None}, {"file": f"logs/{HOSTILE}.log", "line": 7}]},
    {"verdict": "unattributed", "severity": "none", "host": None, "scheme": "", "port": 0},
]


@pytest.fixture(scope="module")
def awkward(result) -> pl.DataFrame:
    """A finding of the samples changed to each row of AWKWARD, each with a baseline status."""
    base = result.findings.row(0, named=True)
    rows = [base | {"finding_id": f"f{i}-{HOSTILE}"} | change for i, change in enumerate(AWKWARD)]
    frame = pl.DataFrame(rows, schema=result.findings.schema, orient="row")
    statuses = [None, "new", "persisting", "resolved"]
    return frame.with_columns(pl.Series("status", [statuses[i % 4] for i in range(frame.height)], pl.String))


REMEDIATION = {  # by row of AWKWARD: hostile text, an empty text (none), and none at all
    0: "Allow it",
    2: HOSTILE + ' "quoted" \\',
    3: "",
}


@pytest.mark.parametrize("slice_rows", [1, 3, 20_000], ids=["a slice a row", "uneven slices", "one slice"])
def test_the_written_events_are_those_of_ocsf_events_for_awkward_values(result, awkward, slice_rows, monkeypatch):
    monkeypatch.setattr(ocsf_json, "SLICE_ROWS", slice_rows)  # slice edges: the commas between events
    ids = awkward["finding_id"]
    texts = pl.DataFrame({"finding_id": [ids[i] for i in REMEDIATION], "remediation": list(REMEDIATION.values())})
    for remediation in (None, texts, dict(texts.iter_rows())):
        buffer = io.BytesIO()
        ocsf_json.write_lines(awkward, result.policy, remediation, buffer)
        raw = buffer.getvalue()
        same_events(raw, ocsf.ocsf_events(awkward, result.policy, remediation))
        lines = raw.decode("utf-8").split("\n")
        assert lines[0] == "[" and lines[-2:] == ["]", ""] and len(lines) == awkward.height + 3  # one event a line
        unsafe = {c for c in "".join(lines) if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u202e\u2028\u2066"}
        assert not unsafe  # C0 escaped as JSON requires, DEL, C1 and bidi controls as json_inert does
    events = ocsf.ocsf_events(awkward, result.policy, texts)
    assert events[2]["unmapped"]["host"] == HOSTILE and events[2]["remediation"]["desc"].startswith(HOSTILE)
    assert "remediation" not in events[3] and "start_time" not in events[4] and events[4]["time"] == 0
    assert events[1]["unmapped"].keys() == {"verdict", "severity", "status"}  # nulls are left out
    assert events[1]["resources"] == events[1]["observables"] == events[1]["evidences"] == []
    assert [o["name"] for o in events[4]["observables"]] == ["resources.uid", "unmapped.address"]
    assert events[3]["compliance"]["status_id"] == 1 and events[3]["status"] == "Resolved"


def test_no_findings_is_an_empty_array_in_the_written_file_too(result):
    buffer = io.BytesIO()
    ocsf_json.write_lines(result.findings.clear(), result.policy, None, buffer)
    assert buffer.getvalue() == b"[\n]\n" and json.loads(buffer.getvalue()) == []


def test_a_finding_without_a_severity_is_an_error_not_a_null_event(result):
    findings = result.findings.head(3).with_columns(pl.Series("severity", ["high", None, "low"]))
    with pytest.raises(ValueError, match=r"finding 1 \("):
        ocsf_json.write_lines(findings, result.policy, None, io.BytesIO())


def test_json_inert_expr_is_json_inert():
    texts = [json.dumps(chr(c) + "x", ensure_ascii=False) for c in range(0x3000) if not 0xD800 <= c < 0xE000]
    frame = pl.DataFrame({"json": [*texts, None]})
    assert frame.select(json_inert_expr(pl.col("json")))["json"].to_list() == [*map(json_inert, texts), None]
