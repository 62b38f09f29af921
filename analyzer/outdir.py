"""A check's output folder read back: its findings, its flows (lazily, from flows.parquet) and
the policy they were judged under, for the commands that work from a check's results
(``analyzer remediate``, ``analyzer whatif``) without reading the logs again."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .aggregates import FINDINGS_SCHEMA
from .baseline import load_baseline
from .errors import InputError, PolicyError
from .policy import Policy, load_policy


@dataclass(frozen=True)
class Outdir:
    """``findings`` (a frame of :data:`~analyzer.verdicts.FINDINGS_SCHEMA`), ``flows`` (a lazy
    frame over flows.parquet) and ``policy`` of one check's output folder."""

    path: Path
    findings: pl.DataFrame
    flows: pl.LazyFrame
    policy: Policy


def is_outdir(path: str | Path) -> bool:
    """Whether ``path`` is a folder a check wrote (it holds findings.json and flows.parquet)."""
    p = Path(path)
    return p.is_dir() and (p / "findings.json").is_file() and (p / "flows.parquet").is_file()


def load_outdir(path: str | Path, site: str | None = None) -> Outdir:
    """Read a check's OUTDIR. The policy is the site file and profile findings.json names
    (``site`` instead of that site file). Raises :class:`InputError` naming what is missing."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError("not a folder (give the OUTDIR of 'analyzer check -o OUTDIR')", file=str(folder))
    for name in ("findings.json", "flows.parquet"):
        if not (folder / name).is_file():
            raise InputError(f"no {name} here: is it the OUTDIR of 'analyzer check -o OUTDIR'?", file=str(folder))
    document = folder / "findings.json"
    try:
        recorded = json.loads(document.read_text(encoding="utf-8")).get("policy") or {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise InputError(f"cannot read it: {exc}", file=str(document)) from None
    site_file = site or recorded.get("site")
    if not site_file:
        raise InputError("names no site file under 'policy'; give --site SITE.toml", file=str(document))
    try:
        policy = load_policy(site_file)
        profile = recorded.get("profile")
        if profile and profile != policy.profile.name:  # the check ran with --profile
            policy = load_policy(site_file, profile=profile)
    except PolicyError as exc:
        message = f"the check's policy cannot be loaded ({exc}); give --site SITE.toml"
        raise InputError(message, file=str(document)) from None
    findings = load_baseline(document, FINDINGS_SCHEMA)
    return Outdir(folder, findings, pl.scan_parquet(folder / "flows.parquet", glob=False), policy)
