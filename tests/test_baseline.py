"""Baseline comparison: each finding new, persisting or resolved by its stable finding_id."""

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from analyzer.baseline import changes, compare, current_only, load_baseline
from analyzer.errors import InputError

SCHEMA = pl.Schema(
    {
        "finding_id": pl.String,
        "verdict": pl.String,
        "severity": pl.String,
        "server": pl.String,
        "host": pl.String,
        "port": pl.Int32,
        "count": pl.Int64,
        "first_seen": pl.Datetime("us", "UTC"),
        "last_seen": pl.Datetime("us", "UTC"),
        "evidence": pl.List(pl.Struct({"file": pl.String, "line": pl.Int64})),
    }
)
T1 = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def finding(fid, verdict="blocked-required", severity="high", host="dl.delivery.mp.microsoft.com", count=3):
    return {
        "finding_id": fid,
        "verdict": verdict,
        "severity": severity,
        "server": "CAS",
        "host": host,
        "port": 443,
        "count": count,
        "first_seen": T1,
        "last_seen": T2,
        "evidence": [{"file": "squid/access.log", "line": 7}],
    }


def frame(*rows):
    return pl.DataFrame(list(rows), schema=SCHEMA)


def write_json(path, rows):
    def encode(row):
        out = dict(row)
        for key in ("first_seen", "last_seen"):
            out[key] = out[key].isoformat().replace("+00:00", "Z")
        return out

    path.write_text(json.dumps({"summary": {}, "findings": [encode(r) for r in rows]}))
    return path


def test_new_persisting_resolved(tmp_path):
    before = write_json(tmp_path / "findings.json", [finding("a"), finding("b", "unexpected-allowed", "medium")])
    now = frame(finding("c", host="evil.test", count=1), finding("a", count=9))
    marked = compare(now, load_baseline(before, now.schema))
    rows = marked.select("finding_id", pl.col("status").cast(pl.String), "count").rows()
    assert rows == [("c", "new", 1), ("a", "persisting", 9), ("b", "resolved", 3)]
    resolved = marked.filter(pl.col("status") == "resolved").row(0, named=True)
    assert resolved["last_seen"] == T2 and resolved["evidence"] == [{"file": "squid/access.log", "line": 7}]
    assert changes(marked) == {"new": 1, "persisting": 1, "resolved": 1}
    assert current_only(marked)["finding_id"].to_list() == ["c", "a"]


def test_resolved_are_sorted_and_not_carried_over(tmp_path):
    old = [finding("z"), finding("y"), {**finding("x"), "status": "resolved"}]
    marked = compare(frame(), load_baseline(write_json(tmp_path / "f.json", old), SCHEMA))
    assert marked["finding_id"].to_list() == ["y", "z"]
    assert set(marked["status"].cast(pl.String)) == {"resolved"}


def test_rerun_against_itself_is_all_persisting(tmp_path):
    now = frame(finding("a"), finding("b"))
    marked = compare(now, load_baseline(write_json(tmp_path / "f.json", [finding("a"), finding("b")]), SCHEMA))
    assert changes(marked) == {"new": 0, "persisting": 2, "resolved": 0}


def test_compare_replaces_an_earlier_status(tmp_path):
    now = compare(frame(finding("a")), frame())
    again = compare(now, frame(finding("a")))
    assert again["status"].cast(pl.String).to_list() == ["persisting"]


def test_without_baseline_nothing_changes():
    assert changes(frame(finding("a"))) == {"new": 0, "persisting": 0, "resolved": 0}
    assert current_only(frame(finding("a"))).height == 1


def test_extra_and_missing_keys_are_tolerated(tmp_path):
    row = {"finding_id": "a", "verdict": "blocked-required", "from_the_future": 1}
    loaded = load_baseline(write_json_raw(tmp_path / "f.json", {"findings": [row]}), SCHEMA)
    assert loaded.row(0, named=True)["verdict"] == "blocked-required"
    assert loaded.row(0, named=True)["host"] is None


def write_json_raw(path, document):
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ("[1, 2]", "no 'findings' list"),
        ('{"findings": {}}', "no 'findings' list"),
        ('{"findings": [{"verdict": "x"}]}', r"findings\[0\] has no 'finding_id'"),
        ('{"findings": [{"finding_id": "a", "first_seen": "last tuesday"}]}', "first_seen: cannot read"),
        ('{"findings": [{"finding_id": "a", "count": "many"}]}', r"findings\[0\].count: 'many' is not"),
    ],
)
def test_bad_baseline_is_a_one_line_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "findings.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        load_baseline(path, SCHEMA)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_baseline(tmp_path):
    with pytest.raises(InputError, match="baseline not found"):
        load_baseline(tmp_path / "nope.json", SCHEMA)
