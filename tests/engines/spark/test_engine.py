"""The Spark engine gives the local engine's answer: findings (ids, counts, first/last seen,
evidence lines), coverage, summary, inputs and the reports, byte for byte, on the samples, on
the real third-party logs and on a generated mixed log cut into ranges of 4 KiB over more than
50 partitions (some of them empty)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from analyzer.api import write_reports
from analyzer.engines.spark import check_spark
from analyzer.errors import InputError
from analyzer.pipeline.check import run_check
from analyzer.pipeline.read import read_logs
from analyzer.reports import WRITERS
from tests.conftest import ROOT, SAMPLES

pytestmark = pytest.mark.spark

SITE = str(SAMPLES / "site.toml")
REAL_LOGS = ROOT.parent / "shared" / "real-logs"
REPORTS = [n for n in WRITERS if n not in ("flows.parquet", "charts")]


def assert_same(spark, paths: list[str], site: str, tmp_path: Path, **kwargs) -> None:
    local = run_check(paths, site, output=tmp_path / "local")
    got = check_spark(spark, paths, site, output=tmp_path / "spark", **kwargs)
    assert got.findings.equals(local.findings)
    assert got.coverage.equals(local.coverage)
    assert got.summary == local.summary
    assert [f.as_row() for f in got.read.files] == [f.as_row() for f in local.read.files]
    key = ["source_file", "line_no"]
    assert got.read.rejects.sort(key).equals(local.read.rejects.sort(key))
    assert got.aggregates.minutes.sort("minute").equals(local.aggregates.minutes.sort("minute"))
    # Every flow is in the flows dataset with the verdict the local engine gave it.
    flows = pl.from_arrow(got.flows.drop("day").toArrow())
    want = local.flows.collect()
    assert flows.height == want.height
    columns = ["source_file", "line_no", "dst_host", "host_source", "verdict", "reason_code", "server"]
    want = want.select(columns).with_columns(pl.col(pl.Enum).cast(pl.String))
    assert flows.select(columns).sort(key).equals(want.sort(key))
    # The writers that read flows (remediation) read the written dataset, as the CLI has them.
    view = got.with_polars_flows()
    for name in REPORTS:
        a = write_reports(local, tmp_path / "l", [name])[0]
        b = write_reports(view, tmp_path / "s", [name])[0]
        if a.is_dir():
            files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
            assert files and files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()), name
            assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files), name
        else:
            assert a.read_bytes() == b.read_bytes(), name


def test_samples(spark, tmp_path):
    assert_same(spark, [str(SAMPLES)], SITE, tmp_path)


def _mixed_log(folder: Path, n: int = 2400) -> list[str]:
    """Squid (with a BOM, CRLF lines, blank and malformed lines, invalid UTF-8, a line longer than
    a split), pfirewall flows (IP-only, named by Squid next hops and DNS) and DNS answers."""
    rng = random.Random(11)
    t0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    hosts = ["www.update.microsoft.com", "download.windowsupdate.com", "ctldl.windowsupdate.com", "evil.test"]
    hosts += [f"h{i}.example.test" for i in range(30)]
    squid, fw, dns = [], [], ["time,client,query,type,answer,ttl"]
    for i in range(n):
        t = t0 + timedelta(seconds=29 * i)
        src = rng.choice(["192.0.2.10", "192.0.2.20", "198.51.100.30", "192.0.2.150"])
        host = rng.choice(hosts)
        ip = f"203.0.113.{hosts.index(host) + 10}"
        code = rng.choice(["TCP_TUNNEL/200", "TCP_DENIED/403", "TCP_MISS/503", "TCP_MISS/200", "TCP_DENIED/407"])
        hier = f"HIER_DIRECT/{ip}" if "DENIED" not in code else "HIER_NONE/-"
        line = f"{t.timestamp():.3f}     50 {src} {code} {rng.randint(0, 9000)} CONNECT {host}:443 - {hier} -"
        squid.append(line + ("\r" if i % 97 == 0 else ""))
        if i % 211 == 5:
            squid.append("")
        if i % 301 == 7:
            squid.append("not a squid line at all")
        if i % 5 == 0:
            answer = f"198.51.100.{hosts.index(host) + 60}"
            dns.append(f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},192.0.2.10,{host},A,{answer},300")
        if i % 2 == 0:
            dst = rng.choice([f"198.51.100.{rng.randint(60, 95)}", f"203.0.113.{rng.randint(10, 44)}"])
            local = (t + timedelta(hours=1, seconds=5)).strftime("%Y-%m-%d %H:%M:%S")  # the site's zone
            action = rng.choice(["ALLOW", "DROP"])
            port = rng.choice([80, 443, 8530])
            src = f"192.0.2.{rng.choice([10, 20])}"
            fw.append(f"{local} {action} TCP {src} {dst} {50000 + i % 9000} {port} 0 - 0 0 0 - - - SEND 4")
    squid.insert(900, "1793800000.000 " + "x" * 9000)  # longer than two splits: one reject, one line
    header = "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n"
    header += "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin "
    header += "icmptype icmpcode info path pid\n"
    text = ("\n".join(squid) + "\n").encode("utf-8")
    cut = text.index(b"\n", len(text) // 2) + 1
    text = b"\xef\xbb\xbf" + text[:cut] + b"1793800001.000 \xff\xfe bad bytes\n" + text[cut:]
    (folder / "access.log").write_bytes(text)
    (folder / "pfirewall.log").write_text(header + "\n".join(fw) + "\n", encoding="utf-8")
    (folder / "dns.csv").write_text("\n".join(dns) + "\n", encoding="utf-8")
    return [str(folder / n) for n in ("access.log", "pfirewall.log", "dns.csv")]


def test_mixed_log_split_every_4k_over_many_partitions(spark, tmp_path):
    paths = _mixed_log(tmp_path)
    size = Path(paths[0]).stat().st_size
    assert size // 4096 >= 50  # the Squid log alone is cut into 50 ranges or more
    assert_same(spark, paths, SITE, tmp_path, split_bytes=4096, partitions=size // 4096 + 8)


def test_window_and_forced_format(spark, tmp_path):
    paths = _mixed_log(tmp_path, n=600)
    window = {"since": "2026-11-02 10:00", "until": "2026-11-02 12:00", "format": "squid"}
    local = run_check(paths[:1], SITE, **window)
    got = check_spark(spark, paths[:1], SITE, split_bytes=4096, **window)
    assert got.outside_window == local.outside_window > 0
    assert got.findings.equals(local.findings)
    assert got.summary == local.summary
    assert got.flows.count() == local.flow_count  # the judged DataFrame, persisted (no output)


def test_dns_window_reaches_the_spark_index(spark, tmp_path):
    # --dns-window changes which IP-only flows DNS answers name: the Spark index must use it too.
    paths = _mixed_log(tmp_path, n=600)
    local = run_check(paths, SITE, dns_window="1m")
    assert not local.findings.equals(run_check(paths, SITE).findings)  # the option matters here
    got = check_spark(spark, paths, SITE, dns_window="1m", split_bytes=4096)
    assert got.findings.equals(local.findings)
    assert got.summary == local.summary


def test_a_file_that_does_not_parse_is_the_same_one_line_error(spark, tmp_path):
    bad = tmp_path / "access.log"
    bad.write_text("".join(f"{1793800000 + i}.000 nonsense line {i}\n" for i in range(3000)), encoding="utf-8")
    with pytest.raises(InputError) as local:
        run_check([str(bad)], SITE, format="squid")
    with pytest.raises(InputError) as got:
        check_spark(spark, [str(bad)], SITE, format="squid", split_bytes=4096)
    assert str(got.value) == str(local.value)


def _real_logs() -> list[Path]:
    out = []
    for p in sorted(REAL_LOGS.rglob("*")) if REAL_LOGS.is_dir() else []:
        if not p.is_file() or p.name == "SOURCES.md":
            continue
        try:
            read_logs([str(p)])
        except InputError:  # not a log (a parser's expected output, a script): nothing to judge
            continue
        out.append(p)
    return out


def _site_for(paths: list[Path], tmp_path: Path) -> str:
    """A site whose servers are the busiest source of each log, so every log has flows in scope."""
    servers: list[str] = []
    for p in paths:
        flows = read_logs([str(p)]).flows
        top = flows.group_by("src_ip").len().sort(["len", "src_ip"], descending=[True, False])["src_ip"].drop_nulls()
        servers += [a for a in top.head(1).to_list() if a not in servers]
    text = 'profile = "wsus-2025"\ntimezone = "UTC"\n'
    for i, address in enumerate(servers):
        upstream = "microsoft-update" if i == 0 else "S0"
        text += f'\n[[server]]\nname = "S{i}"\nfqdn = "s{i}.corp.example.com"\naddresses = ["{address}"]\n'
        text += f'role = "sup"\nupstream = "{upstream}"\n'
    site = tmp_path / "site.toml"
    site.write_text(text, encoding="utf-8")
    return str(site)


def test_every_real_log(spark, real_logs, tmp_path):
    paths = _real_logs()
    assert len(paths) >= 8
    assert_same(spark, [str(p) for p in paths], _site_for(paths, tmp_path), tmp_path, split_bytes=4096)


def test_the_session_keeps_its_own_write_settings(spark, tmp_path):
    # The flows dataset is written without the planned write's sort; the session's settings are
    # the user's again afterwards (set, or unset, as they were).
    from analyzer.engines.spark.engine import CONCURRENT_WRITERS

    planned, writers = CONCURRENT_WRITERS
    spark.conf.set(planned, "true")
    spark.conf.unset(writers)
    try:
        got = check_spark(spark, [str(SAMPLES / "squid")], SITE, output=tmp_path / "out")
        assert got.flows.count() == got.flow_count
        assert spark.conf.get(planned) == "true"
        assert spark.conf.get(writers, None) in (None, "0")
    finally:
        spark.conf.unset(planned)
