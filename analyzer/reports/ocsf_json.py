"""The OCSF events of :mod:`analyzer.reports.ocsf` as JSON text, built with polars expressions.

Building a Python dict per finding and ``json.dumps`` of each took 6 s at 144,000 findings, the
slowest of the report writers (this takes under 2 s, the remediation texts included). Here each
event is one ``concat_str`` over the whole frame, a slice at a time (memory stays bounded):
constant parts are JSON fragments written once with ``json.dumps``, table lookups (status,
severity, verdict, server) are fragments chosen with ``replace_strict``, and every value from a
finding goes through polars' JSON encoder (:func:`_json`), which escapes quotes, backslashes and
C0 controls as JSON requires. Polars writes DEL, C1 and bidi controls raw, so each encoded value
then passes :func:`analyzer.controls.json_inert_expr`, and the constants
:func:`analyzer.controls.dumps`: the text written has no raw control, as that of ``dumps`` has
not. (Making the values inert, not the whole line, leaves the constant fragments, most of a
line, unscanned.)

The events are those of :func:`analyzer.reports.ocsf.ocsf_events`, key for key and in the same
order (``json.loads`` of a line equals the dict; a test compares them); only the spacing differs
(no space after ``:`` and ``,``).
"""

from __future__ import annotations

from typing import BinaryIO

import polars as pl

from ..controls import dumps, json_inert_expr
from ..verdicts import VERDICTS
from .ocsf_mapping import (
    BASELINE_STATUS,
    CATEGORY_UID,
    CLASS_UID,
    COMPLIANCE_STATUS,
    OCSF_VERSION,
    RESOLVED_CHECK,
    SEVERITY_ID,
    UNMAPPED,
    Profile,
    columns,
    remediation_frame,
)

SLICE_ROWS = 10_000
"""Findings turned into text at a time: about 25 MB of JSON, whatever the total (at 144,000
findings, twice as many a slice saved a fifth of the time and took 100 MiB more at peak)."""


def _text(value: object) -> str:
    """Compact JSON text of a constant, inert (the policy's names are text from a file too)."""
    return dumps(value, separators=(",", ":"))


def _members(**pairs: object) -> str:
    """``"key":value,...`` of ``pairs``: members to splice into an object written around them."""
    return _text(pairs)[1:-1]


def _json(expr: pl.Expr) -> pl.Expr:
    """The inert JSON text of each value of ``expr`` (``null`` for null), as polars' encoder
    writes it inside an object: encoded as the one field of a struct, then unwrapped."""
    encoded = pl.struct(expr.alias("v")).struct.json_encode().str.strip_prefix('{"v":').str.strip_suffix("}")
    return json_inert_expr(encoded)


def _encoded() -> list[pl.Expr]:
    """The JSON text of each value an event takes from a finding, as ``<name>_json`` columns
    (computed once, though the event holds some of them up to four times)."""
    unmapped = pl.col("unmapped").struct
    evidences = pl.col("evidence").list.eval(pl.struct(pl.lit("log line").alias("name"), pl.element().alias("data")))
    described = pl.col("verdict").replace_strict({v: d[1] for v, d in VERDICTS.items()}, return_dtype=pl.String)
    values = {
        "finding_id": pl.col("finding_id"),
        "title": pl.col("title"),
        "message": pl.concat_str(pl.col("title"), pl.lit(": "), described),
        "described": described,
        "reason": pl.col("reason"),
        "requirement": pl.col("requirement"),
        "files": pl.col("files"),
        "evidences": evidences,
        "fqdn": pl.col("fqdn"),
        "remediation": pl.col("remediation"),
        **{f"unmapped_{k}": unmapped.field(k) for k in UNMAPPED},
    }
    return [_json(value).alias(f"{name}_json") for name, value in values.items()]


def _lookup(expr: pl.Expr, fragments: dict[str | None, str], default: str | None = None) -> pl.Expr:
    """The fragment of each value of ``expr`` (a key of ``fragments``; None is the null's), else
    ``default``. Without a default, a value without a fragment fails, as a ``KeyError`` does in
    the dict builder (and a null without one makes the event null, see :func:`write_lines`)."""
    known = [k for k in fragments if k is not None]
    chosen = expr.replace_strict(known, [fragments[k] for k in known], default=default, return_dtype=pl.String)
    return pl.when(expr.is_null()).then(pl.lit(fragments.get(None, default), pl.String)).otherwise(chosen)


def _optional(condition: pl.Expr, *parts: pl.Expr) -> pl.Expr:
    """``parts`` concatenated where ``condition`` holds, else nothing (an omitted member)."""
    return pl.when(condition).then(pl.concat_str(*parts)).otherwise(pl.lit(""))


def _activity(status: str | None) -> str:
    (activity_id, activity), _ = BASELINE_STATUS[status]
    return _members(
        activity_id=activity_id,
        activity_name=activity,
        category_uid=CATEGORY_UID,
        category_name="Findings",
        class_uid=CLASS_UID,
        class_name="Compliance Finding",
        type_uid=CLASS_UID * 100 + activity_id,
        type_name=f"Compliance Finding: {activity}",
    )


def _observable(name: str, type_id: int, kind: str) -> str:
    """The opening of an observable, up to its value."""
    return "{" + _members(name=name, type_id=type_id, type=kind) + ',"value":'


def event_lines(frame: pl.DataFrame, parts: Profile, after: pl.Expr | None = None) -> pl.Series:
    """The JSON text of each event of ``frame`` (a frame of :func:`analyzer.reports.ocsf_mapping.columns`
    with a ``remediation`` column, text or null): ``iter_events``' dict, member by member; each
    followed by the text of ``after`` if given (the writer's comma: no second copy of the text)."""
    pieces = [*_event(parts), *([] if after is None else [after])]
    return frame.with_columns(_encoded()).select(pl.concat_str(pieces).alias("event")).to_series()


def _event(parts: Profile) -> list[pl.Expr]:
    """The pieces of the event, over the columns of :func:`_encoded` (``<name>_json``) and the raw ones."""
    c = pl.col

    def j(name: str) -> pl.Expr:
        return c(f"{name}_json")

    status, verdict, severity = c("status"), c("verdict"), c("severity")
    first, last = c("first_ms"), c("last_ms")
    timed = first.is_not_null() & last.is_not_null()
    resolved = (status == "resolved").fill_null(False)
    check_id = pl.when(resolved).then(pl.lit(str(RESOLVED_CHECK[0])))
    check_id = check_id.otherwise(_lookup(verdict, {v: str(s[0]) for v, s in COMPLIANCE_STATUS.items()}))
    check = pl.when(resolved).then(pl.lit(_members(status=RESOLVED_CHECK[1], status_id=RESOLVED_CHECK[0])))
    check = check.otherwise(
        _lookup(verdict, {v: _members(status=s[1], status_id=s[0]) for v, s in COMPLIANCE_STATUS.items()})
    )
    fid, requirement, reason = j("finding_id"), j("requirement"), j("reason")
    standard = _text(parts.standard)
    unmapped = c("unmapped").struct
    host, address, fqdn = unmapped.field("host"), unmapped.field("address"), c("fqdn")
    observables = pl.concat_str(
        pl.lit("[" + _observable("resources.uid", 1, "Hostname")),
        j("fqdn"),
        pl.lit("}"),
        _optional(
            (host != "").fill_null(False),
            pl.lit("," + _observable("unmapped.host", 1, "Hostname")),
            j("unmapped_host"),
            pl.lit("}"),
        ),
        _optional(
            (address != "").fill_null(False),
            pl.lit("," + _observable("unmapped.address", 2, "IP Address")),
            j("unmapped_address"),
            pl.lit("}"),
        ),
        pl.lit("]"),
    )
    unmapped_members = pl.concat_str(
        *(pl.when(unmapped.field(k).is_not_null()).then(pl.lit(f'"{k}":') + j(f"unmapped_{k}")) for k in UNMAPPED),
        separator=",",
        ignore_nulls=True,
    )
    metadata = _text({"version": OCSF_VERSION, "product": parts.product})[:-1]
    return [
        pl.lit("{"),
        _lookup(status, {s: _activity(s) for s in BASELINE_STATUS}),
        pl.lit(","),
        _lookup(severity, {s: _members(severity_id=i, severity=name) for s, (i, name) in SEVERITY_ID.items()}),
        pl.lit(","),
        _lookup(status, {s: _members(status_id=i, status=name) for s, (_, (i, name)) in BASELINE_STATUS.items()}),
        pl.lit(',"time":'),
        last.fill_null(0).cast(pl.String),
        _optional(timed, pl.lit(',"start_time":'), first.cast(pl.String), pl.lit(',"end_time":'), last.cast(pl.String)),
        pl.lit(',"message":'),
        j("message"),
        pl.lit(f',"metadata":{metadata},"uid":'),
        fid,
        pl.lit('},"finding_info":{"uid":'),
        fid,
        pl.lit(',"title":'),
        j("title"),
        pl.lit(',"desc":'),
        reason,
        pl.lit(',"types":['),
        j("unmapped_verdict"),
        pl.lit('],"data_sources":'),
        j("files"),
        _optional(
            timed,
            pl.lit(',"first_seen_time":'),
            first.cast(pl.String),
            pl.lit(',"last_seen_time":'),
            last.cast(pl.String),
        ),
        pl.lit(f'}},"compliance":{{"standards":{standard},"requirements":['),
        requirement,
        pl.lit('],"control":'),
        requirement,
        pl.lit(',"desc":'),
        j("described"),
        pl.lit(',"status_id":'),
        check_id,
        pl.lit(',"checks":[{"uid":'),
        requirement,
        pl.lit(',"name":'),
        requirement,
        pl.lit(',"desc":'),
        reason,
        pl.lit(f',"standards":{standard},"version":{_text(parts.version)},"severity":'),
        j("unmapped_severity"),
        pl.lit(',"severity_id":'),
        _lookup(severity, {s: str(i) for s, (i, _) in SEVERITY_ID.items()}),
        pl.lit(","),
        check,
        pl.lit('}]},"resources":'),
        _lookup(c("server"), {name: _text(r) for name, r in parts.resources.items()}, default="[]"),
        pl.lit(',"evidences":'),
        j("evidences"),
        pl.lit(',"observables":'),
        pl.when(fqdn.is_null()).then(pl.lit("[]")).otherwise(observables),
        pl.lit(',"unmapped":{'),
        unmapped_members,
        pl.lit("}"),
        _optional(c("remediation").is_not_null(), pl.lit(',"remediation":{"desc":'), j("remediation"), pl.lit("}")),
        pl.lit("}"),
    ]


def write_lines(findings: pl.DataFrame, policy, remediation, file: BinaryIO) -> None:
    """Write the events of ``findings`` to ``file`` (binary: the text is UTF-8) as
    :func:`analyzer.reports.ocsf.write_events` writes them: a JSON array, one event per line.
    ``remediation`` is the texts by finding id (a frame with ``finding_id`` and ``remediation``,
    a mapping, or None)."""
    parts = Profile.of(policy)
    texts = findings.select("finding_id").join(
        remediation_frame(remediation), on="finding_id", how="left", maintain_order="left"
    )["remediation"]
    file.write(b"[\n")
    for offset in range(0, findings.height, SLICE_ROWS):
        frame = columns(findings.slice(offset, SLICE_ROWS), policy, parts.policy_wide)
        last = pl.int_range(pl.len()) + offset == findings.height - 1  # every event but the last has a comma
        comma = pl.when(last).then(pl.lit("")).otherwise(pl.lit(","))
        lines = event_lines(frame.with_columns(texts.slice(offset, SLICE_ROWS)), parts, after=comma)
        if lines.null_count():  # a null where each event needs a value: a verdict or a severity
            row = offset + lines.is_null().arg_max()
            raise ValueError(f"finding {row} ({findings['finding_id'][row]}): no verdict or no severity")
        # Each line as it is: never quoted though it holds commas; JSON escapes its line breaks.
        lines.to_frame().write_csv(file, include_header=False, quote_style="never")
    file.write(b"]\n")
