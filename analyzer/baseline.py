"""Periodic runs: compare this run's findings with a previous run's ``findings.json``.

Each finding carries a stable ``finding_id`` (the same server, destination, port, scheme and
verdict give the same id in every run), so the comparison is a join on it: a finding of this run
is ``new`` or ``persisting``; a finding of the baseline that this run no longer has is
``resolved``. Resolved findings keep the values the baseline recorded (count, first and last seen,
evidence) so a report can say what went away and when it was last seen.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from .errors import InputError
from .sources import decode_text, undecodable

STATUSES = ("new", "persisting", "resolved")
"""``new``: not in the baseline. ``persisting``: in both. ``resolved``: only in the baseline."""

STATUS = pl.Enum(list(STATUSES))
_TIME_COLUMNS = ("first_seen", "last_seen")


def _time(value: object, path: str, index: int, key: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(f"findings[{index}].{key}: expected an ISO 8601 time, got {value!r}", file=path)
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"findings[{index}].{key}: cannot read '{value}' as a time", file=path) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def load_baseline(path: str | Path, schema: pl.Schema) -> pl.DataFrame:
    """Read the findings of a previous ``findings.json`` into a frame of ``schema``.

    ``schema`` is the current findings frame's schema, so both sides line up; keys the baseline
    lacks become nulls and keys it has beyond the schema are ignored (an older or newer version of
    the analyzer wrote it). A previous run's resolved findings are not carried over: they were
    already reported. Example: ``load_baseline("last-week/findings.json", result.findings.schema)``.
    """
    name = str(path)
    try:
        document = json.loads(decode_text(Path(path).read_bytes()))
    except FileNotFoundError:
        raise InputError("baseline not found (give the findings.json of a previous run)", file=name) from None
    except UnicodeDecodeError as exc:
        raise InputError(undecodable(exc), file=name) from None
    except OSError as exc:
        raise InputError(f"cannot read the baseline: {exc}", file=name) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"the baseline is not JSON (line {exc.lineno}: {exc.msg})", file=name) from None
    findings = document.get("findings") if isinstance(document, dict) else None
    if not isinstance(findings, list):
        raise InputError("the baseline has no 'findings' list; is it a findings.json of analyzer check?", file=name)
    rows = []
    for index, item in enumerate(findings):
        if not isinstance(item, dict) or not isinstance(item.get("finding_id"), str) or not item["finding_id"]:
            raise InputError(
                f"findings[{index}] has no 'finding_id'; is it a findings.json of analyzer check?", file=name
            )
        if item.get("status") == "resolved":
            continue
        row = {key: item.get(key) for key in schema if key != "status"}
        for key in _TIME_COLUMNS:
            if key in row:
                row[key] = _time(row[key], name, index, key)
        rows.append(row)
    columns = {}
    for key, dtype in schema.items():
        if key == "status":
            continue
        try:
            columns[key] = pl.Series(key, [row[key] for row in rows], dtype=dtype, strict=True)
        except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError):
            bad = next((i for i, row in enumerate(rows) if not _fits(row[key], dtype)), 0)
            raise InputError(f"findings[{bad}].{key}: {rows[bad][key]!r} is not a {dtype}", file=name) from None
    return pl.DataFrame(columns, schema={k: t for k, t in schema.items() if k != "status"})


def _fits(value: object, dtype: pl.DataType) -> bool:
    try:
        pl.Series([value], dtype=dtype, strict=True)
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError):
        return False
    return True


def compare(findings: pl.DataFrame, baseline: pl.DataFrame) -> pl.DataFrame:
    """This run's findings with a ``status`` column, followed by the baseline's resolved ones.

    Current findings keep their order; resolved ones follow, ordered by ``finding_id`` so reruns
    are byte-identical. Example::

        marked = compare(result.findings, load_baseline(path, result.findings.schema))
        marked.filter(pl.col("status") == "new")
    """
    current = findings.drop("status", strict=False)
    previous_ids = baseline.get_column("finding_id").unique()
    marked = current.with_columns(
        pl.when(pl.col("finding_id").is_in(previous_ids.implode()))
        .then(pl.lit("persisting"))
        .otherwise(pl.lit("new"))
        .cast(STATUS)
        .alias("status")
    )
    resolved = (
        baseline.filter(~pl.col("finding_id").is_in(current.get_column("finding_id").implode()))
        .unique("finding_id", keep="first", maintain_order=True)
        .sort("finding_id")
        .select(
            [
                pl.col(n).cast(t) if n in baseline.columns else pl.lit(None, t).alias(n)
                for n, t in current.schema.items()
            ]
        )
        .with_columns(pl.lit("resolved").cast(STATUS).alias("status"))
    )
    return pl.concat([marked, resolved], how="vertical")


def current_only(findings: pl.DataFrame) -> pl.DataFrame:
    """The findings of this run, without resolved ones (what ``--fail-on`` counts).

    Example: ``current_only(marked).filter(pl.col("severity") == "high").height``.
    """
    if "status" not in findings.columns:
        return findings
    return findings.filter(pl.col("status").cast(pl.String) != "resolved")


def changes(findings: pl.DataFrame) -> dict[str, int]:
    """Counts of new, persisting and resolved findings that need action (all zero without a baseline).

    Findings of severity ``none`` (required traffic allowed, permitted, auth challenges) are
    marked too but not counted: a required destination seen for the first time is no news.
    Example: ``changes(marked) == {"new": 2, "persisting": 5, "resolved": 1}``.
    """
    counts = dict.fromkeys(STATUSES, 0)
    if "status" in findings.columns:
        if "severity" in findings.columns:
            findings = findings.filter(pl.col("severity").cast(pl.String) != "none")
        for status, n in findings.get_column("status").cast(pl.String).value_counts().iter_rows():
            if status in counts:
                counts[status] = n
    return counts


def baseline_policy(path: str | Path) -> dict:
    """The ``policy`` a baseline was made under (profile, version, wildcard, servers), as its
    findings.json recorded it; ``{}`` when it recorded none. Call after :func:`load_baseline`,
    which has checked the file."""
    document = json.loads(decode_text(Path(path).read_bytes()))
    policy = document.get("policy") if isinstance(document, dict) else None
    return policy if isinstance(policy, dict) else {}


def _servers(servers: object) -> list[tuple]:
    if not isinstance(servers, list):
        return []
    return sorted(
        (str(s.get("name")), str(s.get("fqdn")), tuple(sorted(map(str, s.get("addresses") or ()))))
        for s in servers
        if isinstance(s, dict)
    )


def policy_differences(previous: dict, policy) -> list[str]:
    """How the policy of a baseline (see :func:`baseline_policy`) differs from this run's: the
    profile (name or version), the wildcard mode, the site's servers. A comparison across such a
    change marks findings new or resolved that only the policy changed, so the user is told.

    Example: ``policy_differences({"profile": "cm2007"}, load_policy("site.toml"))``.
    """
    if not previous:
        return ["the baseline records no policy"]
    out = []
    now = policy.profile
    before = (previous.get("profile"), previous.get("version"))
    if before != (now.name, now.version):
        out.append(f"profile {before[0]} {before[1]} -> {now.name} {now.version}")
    if previous.get("wildcard") != policy.wildcard:
        out.append(f"wildcard {previous.get('wildcard')} -> {policy.wildcard}")
    servers = [{"name": s.name, "fqdn": s.fqdn, "addresses": list(s.addresses)} for s in policy.site.servers]
    if _servers(previous.get("servers")) != _servers(servers):
        site = previous.get("site")
        out.append(f"the site's servers differ (baseline site {site}, this run {policy.site.file})")
    return out
