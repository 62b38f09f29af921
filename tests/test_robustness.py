"""Hostile and broken input never crashes a parser: every mutated line is a flow or a reject.

Lines of every sample are mutated (numbers replaced by huge, negative or empty values, lines cut,
separators doubled or replaced by quotes and brackets), with a fixed seed so failures repeat.
"""

from __future__ import annotations

import random
import re

import pytest

from analyzer.cli import main
from analyzer.errors import InputError
from analyzer.parsers import REGISTRY
from analyzer.pipeline.read import read_logs
from tests.conftest import SAMPLES

NUMBERS = ["99999999999999999999", "-1", "4294967296", "65536", "", "x", "1e300"]


def _mutate(line: str, rng: random.Random) -> str:
    if line.startswith("#") or not line.strip():
        return line
    r = rng.random()
    if r < 0.3:
        return re.sub(r"\d+", lambda m: rng.choice([*NUMBERS, m.group(0)]), line, count=rng.randint(1, 6))
    if r < 0.4:
        return line[: rng.randint(0, len(line))]
    if r < 0.5:
        old, new = rng.choice([" ", ",", "/", ":", "."]), rng.choice(["", "  ", ",,", '"', "[", "]", "{", "\\"])
        return line.replace(old, new, rng.randint(1, 3))
    return line


def _cases():
    for name in REGISTRY:
        for path in sorted((SAMPLES / name).glob("*")):
            if path.suffix not in {".md", ".gz"}:
                yield pytest.param(name, path, id=f"{name}-{path.name}")


@pytest.mark.parametrize(("name", "path"), list(_cases()))
@pytest.mark.parametrize("seed", range(8))
def test_mutated_samples_are_flows_or_rejects(tmp_path, name, path, seed):
    rng = random.Random(f"{path.name}-{seed}")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    mutated = tmp_path / path.name
    mutated.write_text("\n".join(_mutate(line, rng) for line in lines) + "\n", encoding="utf-8")
    try:
        (summary,) = read_logs([str(mutated)], format=name).files
    except InputError as exc:  # every line rejected: a clear one-line error is right too
        assert "nothing parses" in str(exc) and "\n" not in str(exc)
        return
    assert summary.lines == summary.records + summary.rejects + summary.skipped_total


def test_out_of_range_port_is_a_reject_not_a_crash(write):
    head = (
        "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n"
        "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin "
        "icmptype icmpcode info path\n"
    )
    line = "2026-11-03 10:00:00 ALLOW TCP 192.0.2.10 203.0.113.5 {} 443 0 - 0 0 0 - - - SEND\n"
    path = write("pfirewall.log", head + line.format(3062774969) + line.format(65536) + line.format(50000))
    result = read_logs([str(path)])
    assert result.flows["src_port"].to_list() == [50000]
    assert result.rejects["reason"].to_list() == [
        "src-port is not a port: '3062774969'",
        "src-port is not a port: '65536'",
    ]


def test_a_bug_is_one_line_not_a_traceback(monkeypatch, write, capsys):
    import analyzer.cli.parse as parse_command

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(parse_command, "parse_to_file", broken)
    monkeypatch.delenv("ANALYZER_DEBUG", raising=False)
    assert main(["parse", str(write("a.log", "x\n")), "-o", "x.parquet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("analyzer: internal error: ZeroDivisionError: boom")
