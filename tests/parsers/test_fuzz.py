"""Seeded fuzzing of every parser (issue 13): each line is a flow (or evidence record), a
reject with its own line number, or skipped, and skipped lines are only blank, header or marker
lines (and the continuation lines of a PAN-OS export record whose quoted field spans them).

Each file mixes a format's header, real lines of the samples, blank lines and lines mutated at
the character level with text parsers trip on (quotes, separators, brackets, controls, bidi
overrides, long runs). Which line is what is known, so the counts are checked exactly, not just
summed. Seeds are fixed: a failure repeats.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from analyzer.errors import InputError
from analyzer.pipeline.read import read_logs
from tests.conftest import SAMPLES

LINES = 2500
HOSTILE = ['"', '""', ",", " ", "  ", "\t", "{", "}", "[", "]", "\\", '\\"', "/", ":", ".", "-", "#", "=",
           "\x00", "\x1b[2J", "\u202e", "\x85", "é", "0", "99999999999", "-1", "x" * 300, "%", "'", "|"]  # fmt: skip


def _mutate(line: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 4)):
        r, at = rng.random(), rng.randint(0, len(line))
        if r < 0.45:
            line = line[:at] + rng.choice(HOSTILE) + line[at:]
        elif r < 0.7:
            line = line[:at] + line[at + rng.randint(1, 20) :]
        elif r < 0.8:
            line = line[:at]
        elif r < 0.9:
            cut = rng.randint(0, len(line))
            line = line[:cut] + line[cut : cut + rng.randint(1, 40)] + line[cut:]
        else:
            line = line.replace(rng.choice([",", " ", "/", ":"]), rng.choice(HOSTILE), rng.randint(1, 3))
    return line


def _data_lines(paths: list[Path], skip: tuple[str, ...] = ()) -> list[str]:
    lines = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith(skip):
                lines.append(line)
    return lines


# name → (format, header lines written first, marker lines that may appear, sample data lines,
# what a mutated line must not start with to stay a data line)
CASES = {
    "squid": ("squid", [], [], lambda: _data_lines(sorted((SAMPLES / "squid").glob("*.log"))), ()),
    "paloalto-syslog": (
        "paloalto",
        [],
        [],
        lambda: _data_lines([SAMPLES / "paloalto" / n for n in ("pa3220-traffic-10.2.log", "pa3220-url-10.2.log")]),
        (),
    ),
    "paloalto-export": (
        "paloalto",
        (SAMPLES / "paloalto" / "pa3220-export-traffic.csv").read_text().splitlines()[:1],
        [],
        lambda: _data_lines([SAMPLES / "paloalto" / "pa3220-export-traffic.csv"])[1:],
        (),
    ),
    "winfirewall": (
        "winfirewall",
        (SAMPLES / "winfirewall" / "pfirewall.log").read_text().splitlines()[:4],
        ["2026-11-03 09:00:00 INFO-EVENTS-LOST - - - - - - - - - - - - 12 - -"],
        lambda: _data_lines([SAMPLES / "winfirewall" / "pfirewall.log"], ("#",)),
        ("#",),
    ),
    "dnscsv": (
        "dnscsv",
        (SAMPLES / "dnscsv" / "cas-dns-client.csv").read_text().splitlines()[:1],
        [],
        lambda: _data_lines([SAMPLES / "dnscsv" / "cas-dns-client.csv"])[1:],
        ("#",),
    ),
    "zeekdns": (
        "zeekdns",
        [ln for ln in (SAMPLES / "zeekdns" / "dns.log").read_text().splitlines() if ln.startswith("#")][:8],
        [],
        lambda: _data_lines([SAMPLES / "zeekdns" / "dns.log"], ("#",)),
        ("#",),
    ),
}
SKIP_KINDS = {"blank", "header", "comment", "lost-events", "continuation"}


def _generate(case: str, seed: int, path: Path) -> dict[int, str]:
    """Write the fuzzed file; returns line number → what it is: blank, header, marker, row (a
    sample's line as it is) or data (a mutated one)."""
    _, header, markers, data, not_data = CASES[case]
    rng = random.Random(f"{case}-{seed}")
    samples = data()
    kinds: dict[int, str] = {}
    out: list[str] = []
    for line in header:
        out.append(line)
        kinds[len(out)] = "header"
    while len(out) < LINES:
        r = rng.random()
        if r < 0.08:
            line, kind = rng.choice(["", " ", "\t", "   "]), "blank"
        elif r < 0.1 and markers:
            line, kind = rng.choice(markers), "marker"
        elif r < 0.35:
            line, kind = rng.choice(samples), "row"
        else:
            line, kind = _mutate(rng.choice(samples), rng), "data"
            line = line.replace("\n", " ").replace("\r", " ")
            if not line.strip():
                kind = "blank"
            elif line.startswith(not_data) if not_data else False:
                line = "x" + line
        if kind in ("data", "row") and any(m.split()[2] in line for m in markers):
            kind = "marker"  # a marker of the samples, or a line mutated and still one
        out.append(line)
        kinds[len(out)] = kind
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return kinds


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("case", list(CASES))
def test_fuzzed_lines_are_each_accounted_for(tmp_path, case, seed):
    path = tmp_path / f"{case}.log"
    kinds = _generate(case, seed, path)
    fmt = CASES[case][0]
    try:
        result = read_logs([str(path)], format=fmt)
    except InputError as exc:  # every line rejected: a clear one-line error is right too
        assert "\n" not in str(exc)
        return
    (summary,) = result.files
    assert summary.lines == len(kinds) == summary.records + summary.rejects + summary.skipped_total
    assert set(summary.skipped) <= SKIP_KINDS, summary.skipped
    records = result.evidence["dns"] if summary.kind == "dns" else result.flows
    kept = records["line_no"].to_list()
    rejected = result.rejects["line_no"].to_list()
    assert len(set(kept)) == len(kept) and not set(kept) & set(rejected) and len(set(rejected)) == len(rejected)
    accounted = set(kept) | set(rejected)
    # Blank and header lines are skipped, never flows; a skipped line is blank, header or marker.
    not_data = {n for n, k in kinds.items() if k != "data"}
    assert not accounted & {n for n, k in kinds.items() if k == "blank"}
    skipped_lines = set(kinds) - accounted
    # A whole row of a sample, untouched, is a flow or a reject, whatever the lines around it.
    assert not {n for n in skipped_lines if kinds[n] == "row"}
    missing_data = {n for n in skipped_lines if kinds[n] == "data"}
    # Only the lines a PAN-OS export record spans (its quoted field holds line breaks) are data
    # lines that are neither flows nor rejects, and each follows its record's first line.
    assert len(missing_data) == summary.skipped.get("continuation", 0)
    for n in missing_data:
        first = max(m for m in accounted if m < n)
        assert all(kinds[m] in ("data", "row", "blank") for m in range(first, n + 1))
    assert len(skipped_lines - missing_data) == summary.skipped_total - summary.skipped.get("continuation", 0)
    assert skipped_lines - missing_data <= not_data | {n for n in kinds if kinds[n] == "blank"}
    # Rejects name their line and a reason, and keep the raw text.
    if result.rejects.height:
        assert result.rejects.select(pl.col("reason").str.len_chars().min()).item() > 0
