""" "How to add a format" (the docstring of analyzer/parsers/__init__.py), proved: a tiny format
registered only in this test is detected, parsed, attributed by the evidence it declares and
judged by ``run_check`` end to end, with no other module changed."""

from __future__ import annotations

from types import MappingProxyType

import polars as pl
import pytest

from analyzer import parsers, run_check
from analyzer.flows import IP_LIKE, Evidence, conform_flows
from analyzer.parsers.base import ParseContext, ParseOptions, ParseOutput, Parser, reject_frame

NAME = "pairlog"
HEADER = "#pairlog time,client,host,address,action"
FIELDS = ("time", "src_ip", "dst_host", "dst_ip", "action")


def sniff(head: list[str], options: ParseOptions) -> bool:
    return any(line.strip() == HEADER for line in head[:1])


def parse(lines: pl.DataFrame, ctx: ParseContext) -> ParseOutput:
    text = pl.col("text")
    header = lines.filter(text.str.starts_with("#"))
    blank = lines.filter(~text.str.contains(r"\S"))
    rows = lines.filter(text.str.contains(r"\S") & ~text.str.starts_with("#"))
    split = rows.with_columns(text.str.split(",").alias("f"))
    fields = split.with_columns([pl.col("f").list.get(i, null_on_oob=True).alias(n) for i, n in enumerate(FIELDS)])
    time = pl.col("time").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC", time_unit="us", strict=False)
    ok = (pl.col("f").list.len() == len(FIELDS)) & time.is_not_null()
    flows = fields.filter(ok).select(
        "line_no",
        time.alias("time"),
        "src_ip",
        pl.when(pl.col("dst_host") != "").then(pl.col("dst_host")).alias("dst_host"),
        pl.when(pl.col("dst_ip").str.contains(IP_LIKE)).then(pl.col("dst_ip")).alias("dst_ip"),
        pl.lit(443).alias("dst_port"),
        pl.lit("https").alias("scheme"),
        pl.lit("tcp").alias("protocol"),
        pl.col("action"),
        pl.col("action").alias("vendor_action"),
        pl.when(pl.col("dst_host") != "").then(pl.lit("log")).alias("host_source"),
        pl.lit(NAME).alias("source_format"),
        pl.lit(ctx.file).alias("source_file"),
    )
    rejects = reject_frame(fields.filter(~ok), "not 'time,client,host,address,action'", ctx, NAME)
    skipped = {k: v for k, v in {"header": header.height, "blank": blank.height}.items() if v}
    return ParseOutput(conform_flows(flows), rejects, skipped)


PAIRLOG = Parser(
    name=NAME,
    description="a two-minute format: time,client,host,address,action",
    sniff=sniff,
    parse=parse,
    evidence=Evidence("proxy"),  # a line with host and address ties the two
)

LINES = [
    HEADER,
    "2026-03-02T06:00:00Z,192.0.2.10,sws.update.microsoft.com,203.0.113.7,allowed",
    "2026-03-02T06:05:00Z,192.0.2.10,,203.0.113.7,blocked",  # IP-only: named by the line above
    "2026-03-02T06:10:00Z,192.0.2.10,evil.test,198.51.100.99,allowed",
    "",
    "2026-03-02T06:15:00Z,192.0.2.10,truncated",
]


@pytest.fixture
def registered(monkeypatch):
    """The registry with the new format: the one line "How to add a format" asks for."""
    monkeypatch.setattr(parsers, "REGISTRY", MappingProxyType({**parsers.REGISTRY, NAME: PAIRLOG}))


def test_a_format_registered_in_a_test_flows_through_the_check(registered, write, site_file):
    log = write("edge.log", "\n".join(LINES) + "\n")
    result = run_check([str(log)], site_file)
    (summary,) = result.read.files
    assert (summary.format, summary.lines, summary.records, summary.rejects) == (NAME, 6, 3, 1)
    assert summary.skipped == {"header": 1, "blank": 1}
    flows = result.flows.collect().sort("line_no")
    # Attribution learnt of the format's evidence from its declaration alone.
    assert flows["dst_host"].to_list() == ["sws.update.microsoft.com"] * 2 + ["evil.test"]
    assert flows["host_source"].to_list() == ["log", "proxy", "log"]
    verdicts = dict(zip(flows["line_no"].to_list(), flows["verdict"].to_list(), strict=True))
    assert verdicts == {2: "required-allowed", 3: "blocked-required", 4: "unexpected-allowed"}
    assert set(result.findings["verdict"]) == {"required-allowed", "blocked-required", "unexpected-allowed"}
    assert result.fails("high")


def test_without_the_registration_the_format_is_unknown(write, site_file):
    from analyzer.errors import InputError

    with pytest.raises(InputError, match="format not recognised"):
        run_check([str(write("edge.log", "\n".join(LINES) + "\n"))], site_file)
