"""Streaming = all at once: partial aggregates folded batch by batch and merged in any order give
the findings (ids, counts, first/last seen, evidence), coverage and summary of judging every flow
at once, on every sample, every real third-party log and a generated mixed log cut into batches."""

from __future__ import annotations

import pickle
import random
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from analyzer import aggregates
from analyzer.check import Plan, check_flows, judge_batch
from analyzer.errors import InputError
from analyzer.parsers.base import ParseOptions
from analyzer.pipeline import check
from analyzer.pipeline.check import run_check
from analyzer.pipeline.evidence import attribute, index
from analyzer.pipeline.read import read_logs
from analyzer.policy import load_policy
from analyzer.reports import charts

from .conftest import REAL_LOGS, SAMPLES

SITE = str(SAMPLES / "site.toml")


def reference_findings(judged: pl.DataFrame) -> pl.DataFrame:
    """The findings as the check computed them before it streamed: one group-by over every
    judged flow, sorted by time (the oracle the aggregates must agree with)."""
    inbound = pl.col("direction_to_server") == "inbound"
    grouped = (
        judged.filter(pl.col("verdict").is_not_null())
        .with_columns(
            pl.when(inbound).then(pl.lit(None, pl.String)).otherwise(pl.col("dst_host")).alias("host"),
            pl.when(inbound)
            .then(pl.col("src_ip"))
            .when(pl.col("dst_host").is_null())
            .then(pl.col("dst_ip"))
            .alias("k"),
            pl.concat_str([pl.col("device"), pl.col("rule")], separator=": ", ignore_nulls=True).alias("dr"),
        )
        .sort("time", "source_file", "line_no", nulls_last=True)
        .group_by(["server", "direction_to_server", "verdict", "host", "k", "dst_port", "scheme"])
        .agg(
            pl.col("reason").first(),
            pl.col("entry").drop_nulls().first(),
            pl.col("dr").drop_nulls().filter(pl.col("dr") != "").unique().sort().head(10).alias("drs"),
            pl.len().cast(pl.Int64).alias("count"),
            pl.col("bytes").sum().cast(pl.Int64),
            pl.col("time").min().alias("first_seen"),
            pl.col("time").max().alias("last_seen"),
            pl.col("dst_ip").drop_nulls().sort().first().alias("ip"),
            pl.struct(pl.col("source_file").alias("file"), pl.col("line_no").alias("line")).head(5).alias("evidence"),
            pl.col("host_source").cast(pl.String).drop_nulls().unique().sort().alias("srcs"),
            (pl.col("attribution") == "ambiguous").any().alias("ambiguous"),
            pl.col("candidates").drop_nulls().unique().sort().head(10).alias("cands"),
        )
    )
    # Issue 13 item 7: an ambiguous finding says so in its reason.
    grouped = grouped.with_columns(
        pl.when(pl.col("ambiguous"))
        .then(pl.concat_str(pl.lit(aggregates.AMBIGUOUS + ": "), pl.col("reason")))
        .otherwise(pl.col("reason"))
        .alias("reason")
    )
    return grouped.select(
        "verdict",
        "server",
        pl.col("direction_to_server").alias("direction"),
        "host",
        pl.coalesce("k", "ip").alias("address"),
        pl.col("dst_port").alias("port"),
        "scheme",
        "reason",
        "entry",
        pl.when(pl.col("drs").list.len() > 0).then(pl.col("drs").list.join("; ")).alias("device_rules"),
        pl.when(pl.col("srcs").list.len() > 0).then(pl.col("srcs").list.join(", ")).alias("evidence_source"),
        "ambiguous",
        pl.when(pl.col("cands").list.len() > 0).then(pl.col("cands").list.join(" | ")).alias("candidates"),
        "count",
        "bytes",
        "first_seen",
        "last_seen",
        "evidence",
    )


def at_once(paths: list[str], site: str, **kwargs):
    """Read everything into memory, attribute, judge: the check before it streamed."""
    policy = load_policy(site)
    read = read_logs(paths, options=ParseOptions(tz=policy.site.timezone), **kwargs)
    judged = check_flows(attribute(read.flows, read.evidence.get("dns")), policy)
    return judged, policy


def assert_same_findings(got: pl.DataFrame, judged: pl.DataFrame) -> None:
    want = reference_findings(judged)
    key = ["verdict", "server", "direction", "host", "address", "port", "scheme"]
    assert got.height == want.height
    assert (
        got.drop("finding_id", "severity")
        .sort(key, nulls_last=True)
        .equals(want.select(got.drop("finding_id", "severity").columns).sort(key, nulls_last=True))
    )
    assert got["finding_id"].n_unique() == got.height


def assert_streaming_is_at_once(paths: list[str], site: str, tmp_path: Path) -> None:
    judged, policy = at_once(paths, site)
    result = run_check(paths, site, output=tmp_path / "out")
    # The streamed check against the pre-streaming oracle, and against the same aggregates at once.
    assert_same_findings(result.findings, judged)
    whole = aggregates.fold(judged)
    assert result.findings.equals(aggregates.findings_of(whole))
    assert result.coverage.equals(aggregates.coverage_of(whole, policy))
    assert result.summary == aggregates.summary_of(whole)
    assert result.flow_count == judged.height
    assert result.aggregates.minutes.sort("minute").equals(whole.minutes.sort("minute"))
    # Every flow is in flows.parquet with its verdict, whichever pass judged it.
    key = ["source_file", "line_no"]
    written = pl.read_parquet(tmp_path / "out" / "flows.parquet").sort(key)
    assert written.equals(judged.sort(key))


@pytest.mark.parametrize("merge_every", [1, 2, 16])
def test_samples_stream_as_at_once(merge_every, tmp_path, monkeypatch):
    # Merged after every file's partial (into the buckets of disjoint keys), every second, or
    # only at the end (the samples are fewer than 16 chunks).
    monkeypatch.setattr(check, "MERGE_EVERY", merge_every)
    assert_streaming_is_at_once([str(SAMPLES)], SITE, tmp_path)


@pytest.mark.parametrize("n", [1, 3, 8])
def test_split_partials_merge_back_to_the_whole(n):
    judged, policy = at_once([str(SAMPLES)], SITE)
    whole = aggregates.fold(judged)
    parts = aggregates.split(whole, n)
    assert len(parts) == n
    finding_key = ["server", "direction_to_server", "verdict", "_host", "_addr_key", "dst_port", "scheme"]
    for column, key in (("findings", finding_key), ("destinations", ["destination"])):
        keys = [set(getattr(p, column).select(key).iter_rows()) for p in parts]
        assert sum(len(k) for k in keys) == len(set().union(*keys)) == getattr(whole, column).height  # disjoint
        assert n == 1 or sum(1 for k in keys if k) > 1  # and spread
    again = aggregates.merge(*parts)
    assert aggregates.findings_of(again).equals(aggregates.findings_of(whole))
    assert aggregates.coverage_of(again, policy).equals(aggregates.coverage_of(whole, policy))
    assert aggregates.summary_of(again) == aggregates.summary_of(whole)
    assert again.minutes.sort("minute").equals(whole.minutes.sort("minute"))


@pytest.mark.parametrize(
    "sample", sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix not in (".toml", ".md")), ids=str
)
def test_each_sample_streams_as_at_once(sample, tmp_path):
    try:
        read_logs([str(sample)])
    except InputError as exc:  # e.g. a custom Squid logformat: the check refuses it alike
        with pytest.raises(InputError, match=re.escape(str(exc))):
            run_check([str(sample)], SITE)
        return
    assert_streaming_is_at_once([str(sample)], SITE, tmp_path)


def _site_for(path: Path, tmp_path: Path) -> str:
    """A site whose servers are the two busiest sources of ``path``, so its flows are in scope."""
    flows = read_logs([str(path)]).flows
    top = flows.group_by("src_ip").len().sort(["len", "src_ip"], descending=[True, False])["src_ip"].drop_nulls()
    servers = top.head(2).to_list()
    if not servers:
        return SITE
    text = 'profile = "wsus-2025"\ntimezone = "UTC"\n'
    for i, address in enumerate(servers):
        upstream = "microsoft-update" if i == 0 else "S0"
        text += f'\n[[server]]\nname = "S{i}"\nfqdn = "s{i}.corp.example.com"\naddresses = ["{address}"]\n'
        text += f'role = "sup"\nupstream = "{upstream}"\n'
    site = tmp_path / "site.toml"
    site.write_text(text, encoding="utf-8")
    return str(site)


REAL = sorted(p for p in REAL_LOGS.rglob("*") if p.is_file() and p.name != "SOURCES.md") if REAL_LOGS.is_dir() else []


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_real_logs_stream_as_at_once(path, real_logs, tmp_path):
    try:
        read_logs([str(path)])
    except InputError as exc:  # not a log (a parser's expected output, a script): nothing to judge
        pytest.skip(f"not read as a log: {exc}")
    assert_streaming_is_at_once([str(path)], _site_for(path, tmp_path), tmp_path)


# --- a generated mixed log, cut into batches and merged in shuffled order -----------------------


def _mixed_log(folder: Path) -> list[str]:
    """Squid (the servers and clients), pfirewall (IP-only, named by DNS) and DNS answers."""
    rng = random.Random(7)
    t0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    hosts = ["www.update.microsoft.com", "download.windowsupdate.com", "ctldl.windowsupdate.com", "evil.test"]
    hosts += [f"h{i}.example.test" for i in range(12)]
    squid, fw, dns = [], [], ["time,client,query,type,answer,ttl"]
    for i in range(140):
        t = t0 + timedelta(seconds=37 * i)
        src = rng.choice(["192.0.2.10", "192.0.2.20", "198.51.100.30", "192.0.2.150", "192.0.2.151"])
        host = rng.choice(hosts)
        ip = f"203.0.113.{hosts.index(host) + 10}"
        code = rng.choice(["TCP_TUNNEL/200", "TCP_DENIED/403", "TCP_MISS/503", "TCP_DENIED/407", "TCP_MISS/200"])
        hier = f"HIER_DIRECT/{ip}" if "DENIED" not in code else "HIER_NONE/-"
        squid.append(f"{t.timestamp():.3f}     50 {src} {code} {rng.randint(0, 9000)} CONNECT {host}:443 - {hier} -")
        if i % 3 == 0:
            answer = f"198.51.100.{hosts.index(host) + 60}"
            dns.append(f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},192.0.2.10,{host},A,{answer},300")
        action = rng.choice(["ALLOW", "DROP"])
        port = rng.choice([80, 443, 8530])
        dst = f"198.51.100.{rng.randint(60, 80)}"
        local = (t + timedelta(hours=1, seconds=5)).strftime("%Y-%m-%d %H:%M:%S")  # the site's zone
        src = f"192.0.2.{rng.choice([10, 20, 150])}"
        fw.append(f"{local} {action} TCP {src} {dst} {50000 + i} {port} 0 - 0 0 0 - - - SEND 4")
    header = "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n"
    header += "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin "
    header += "icmptype icmpcode info path pid\n"
    (folder / "access.log").write_text("\n".join(squid) + "\n", encoding="utf-8")
    (folder / "pfirewall.log").write_text(header + "\n".join(fw) + "\n", encoding="utf-8")
    (folder / "dns.csv").write_text("\n".join(dns) + "\n", encoding="utf-8")
    return [str(folder / n) for n in ("access.log", "pfirewall.log", "dns.csv")]


def _merge_shuffled(partials: list[aggregates.Partial], rng: random.Random) -> aggregates.Partial:
    """Merge in a random order and a random grouping (pairs, triples, singles)."""
    pool = partials[:]
    rng.shuffle(pool)
    while len(pool) > 1:
        n = min(len(pool), rng.choice([2, 2, 3]))
        group, pool = pool[:n], pool[n:]
        pool.insert(rng.randrange(len(pool) + 1), aggregates.merge(*group))
    return pool[0]


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_batches_merged_in_shuffled_order_equal_at_once(size, tmp_path):
    paths = _mixed_log(tmp_path)
    policy = load_policy(SITE)
    read = read_logs(paths, options=ParseOptions(tz=policy.site.timezone))
    flows, dns = read.flows, read.evidence.get("dns")
    judged = check_flows(attribute(flows, dns), policy)
    assert judged["verdict"].drop_nulls().n_unique() >= 5 and (judged["host_source"] == "dns").any()
    plan = Plan(policy, index=index(flows, dns))
    plan = pickle.loads(pickle.dumps(plan))  # what a Spark task receives
    parts = []
    for offset in range(0, flows.height, size):
        _judged, partial = judge_batch(flows.slice(offset, size), plan)
        parts.append(pickle.loads(pickle.dumps(partial)))
    merged = _merge_shuffled(parts, random.Random(size))
    whole = aggregates.fold(judged)
    assert_same_findings(aggregates.findings_of(merged), judged)
    assert aggregates.findings_of(merged).equals(aggregates.findings_of(whole))
    assert aggregates.coverage_of(merged, policy).equals(aggregates.coverage_of(whole, policy))
    assert aggregates.summary_of(merged) == aggregates.summary_of(whole)
    for name in ("minutes", "destinations", "files", "verdicts"):
        key = getattr(whole, name).columns[0]
        assert getattr(merged, name).sort(key, nulls_last=True).equals(getattr(whole, name).sort(key, nulls_last=True))
    # and the whole check, streamed from the files, agrees
    assert_streaming_is_at_once(paths, SITE, tmp_path)


def test_merge_has_a_neutral_element_and_counts_the_window():
    judged, _policy = at_once([str(SAMPLES / "squid")], SITE)
    one = aggregates.fold(judged, outside_window=3)
    assert aggregates.findings_of(aggregates.merge(aggregates.empty(), one)).equals(aggregates.findings_of(one))
    assert aggregates.merge(one, one).outside_window == 6
    assert aggregates.merge(one, one).flows == 2 * judged.height


# --- the timeline's bins -------------------------------------------------------------------------


def test_a_flow_dated_2286_does_not_add_bins(tmp_path):
    samples = tmp_path / "samples"
    shutil.copytree(SAMPLES, samples)
    plain = run_check([str(samples)], SITE)
    bins, unit = charts.timeline_counts(plain.flows, plain.timezone)
    with (samples / "squid" / "access-combined.log").open("a", encoding="utf-8") as fh:
        fh.write('192.0.2.10 - - [20/Nov/2286:18:46:40 +0100] "GET http://download.windowsupdate.com/x.cab HTTP/1.1" ')
        fh.write('200 900 "-" "Windows-Update-Agent/10.0" TCP_MISS:HIER_DIRECT\n')
    result = run_check([str(samples)], SITE, output=tmp_path / "out")
    assert result.aggregates.time_range()[1].year == 2286
    within = aggregates.main_range(result.aggregates.minutes)
    assert (within.outside, within.outside_required) == (1, 1)
    series, got_unit = aggregates.timeline_series(result.aggregates.minutes, result.timezone)
    assert (series.height, got_unit) == (bins.height, unit)  # not 13,000 weekly bins over 260 years
    assert series.height <= aggregates.MAX_BINS
    charts.write(result, tmp_path / "out")
    from analyzer.reports import markdown

    text = markdown.render(result)
    assert "1 flow (1 required) outside this range not drawn" in text


def test_bins_stay_bounded_whatever_the_span():
    minutes = pl.DataFrame(
        {
            "minute": [datetime(1970, 1, 1, tzinfo=UTC), datetime(2600, 1, 1, tzinfo=UTC)],
            "flows": [1, 1],
            "allowed": [1, 1],
            "blocked": [0, 0],
            "failed": [0, 0],
        },
        schema=aggregates.empty().minutes.schema,
    )
    series, unit = aggregates.timeline_series(minutes, "UTC")
    assert series.height <= aggregates.MAX_BINS + 2 and unit.endswith("years")
