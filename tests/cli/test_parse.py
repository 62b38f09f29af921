"""`analyzer parse` and `analyzer formats`: outputs, summaries, and one-line errors (exit 2)."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

from analyzer.cli import main
from analyzer.flows import FLOW_SCHEMA
from tests.conftest import ROOT, SAMPLES

CUSTOM_DEF = '%ts.%03tu %6tr %>a %>p %Ss/%03>Hs %<st %rm %ru %un %Sh/%<a %<p %mt "%{User-Agent}>h" "%{Host}>h"'


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("analyzer: error: ")
    return err


def test_parse_samples_parquet_and_rejects(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # a wide "terminal": file names print on one line
    out, rej = tmp_path / "flows.parquet", tmp_path / "rejects.csv"
    assert main(["parse", str(SAMPLES / "squid"), "-o", str(out), "--rejects", str(rej)]) == 0
    flows = pl.read_parquet(out)
    assert flows.schema == FLOW_SCHEMA
    rejects = pl.read_csv(rej)
    assert set(rejects.columns) == {"source_file", "line_no", "source_format", "reason", "raw"}
    assert rejects.height >= 3  # the malformed lines of the samples
    printed = capsys.readouterr().out
    assert "access-squid34.log" in printed and "access.log.1.gz" in printed
    assert f"{flows.height:,} flows written" in printed


def test_parse_csv_is_formula_safe(tmp_path, write):
    log = write(
        "a.log",
        '192.0.2.10 - =cmd|x [04/Nov/2026:02:01:01 +0100] "GET http://a.test/ HTTP/1.1" 200 1 TCP_MISS:HIER_DIRECT\n',
    )
    out = tmp_path / "flows.csv"
    assert main(["parse", str(log), "-o", str(out), "-q"]) == 0
    assert pl.read_csv(out)["user"][0] == "'=cmd|x"


def test_parse_custom_logformat(tmp_path, capsys):
    out = tmp_path / "custom.parquet"
    path = str(SAMPLES / "squid-custom" / "access-custom.log")
    assert main(["parse", path, "-o", str(out), "--squid-logformat", CUSTOM_DEF]) == 0
    assert pl.read_parquet(out)["src_port"].null_count() == 0
    capsys.readouterr()
    assert main(["parse", path, "-o", str(out)]) == 2
    assert "--squid-logformat" in _one_line_error(capsys)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["parse", "no/such/file.log", "-o", "x.parquet"], "no such file or folder"),
        (["parse", "{samples}/squid", "-o", "x.parquet", "--format", "squidd"], "did you mean 'squid'"),
        (["parse", "{samples}/squid", "-o", "x.json"], "use .parquet or .csv"),
        (["parse", "{junk}", "-o", "x.parquet", "--format", "squid"], "nothing parses as squid"),
        (["parse", "{junk}", "-o", "x.parquet"], "format not recognised"),
        (["parse", "{samples}/squid", "-o", "x.parquet", "--squid-logformat", "%ts %{Host>h"], "at position"),
        (["parse", "{samples}/squid", "-o", "x.parquet", "--tz", "Nowhere/City"], "unknown time zone"),
    ],
)
def test_errors_are_one_line_exit_2(tmp_path, write, capsys, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    junk = write("junk.log", "this is not a log\nnor is this\n")
    args = [a.replace("{samples}", str(SAMPLES)).replace("{junk}", str(junk)) for a in args]
    assert main(args) == 2
    assert needle in _one_line_error(capsys)


def test_usage_error_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["parse", "x.log"])  # -o missing
    assert exc.value.code == 2


def test_formats_lists_parsers(capsys):
    from analyzer.parsers import REGISTRY

    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    for name in REGISTRY:
        assert name in out


def test_python_dash_m(tmp_path):
    run = subprocess.run([sys.executable, "-m", "analyzer", "formats"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0 and "squid" in run.stdout
    run = subprocess.run(
        [sys.executable, "-m", "analyzer", "parse", "missing.log", "-o", str(tmp_path / "o.parquet")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 2 and run.stderr.strip().endswith("missing.log: no such file or folder")


def test_streamed_flows_equal_the_in_memory_read(tmp_path):
    """Flows stream through a temporary file that is gone afterwards; Parquet and CSV outputs
    hold the same rows as reading the logs in memory."""
    from analyzer.pipeline.read import read_logs

    pq_out, csv_out = tmp_path / "flows.parquet", tmp_path / "flows.csv"
    assert main(["parse", str(SAMPLES / "squid"), "-o", str(pq_out), "-q"]) == 0
    assert main(["parse", str(SAMPLES / "squid"), "-o", str(csv_out), "-q"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flows.csv", "flows.parquet"]
    expected = read_logs([str(SAMPLES / "squid")]).flows
    assert pl.read_parquet(pq_out).equals(expected)
    assert pl.read_csv(csv_out).height == expected.height


def test_ip_only_flows_are_attributed_with_evidence_from_any_input(tmp_path, capsys):
    """DNS evidence given as a log path (not --dns) still attributes the IP-only pfirewall flows."""
    out = tmp_path / "flows.parquet"
    paths = [str(SAMPLES / "winfirewall"), str(SAMPLES / "dnscsv")]
    assert main(["parse", *paths, "--tz", "Europe/Berlin", "-o", str(out)]) == 0
    flows = pl.read_parquet(out)
    assert flows.filter(pl.col("host_source") == "dns").height > 0
    assert "attributed" in capsys.readouterr().out


def test_ip_only_flows_without_any_evidence_say_so(tmp_path, capsys):
    out = tmp_path / "flows.parquet"
    assert main(["parse", str(SAMPLES / "winfirewall"), "--tz", "Europe/Berlin", "-o", str(out)]) == 0
    flows = pl.read_parquet(out)
    ip_only = flows.filter(pl.col("dst_host").is_null() & pl.col("dst_ip").is_not_null()).height
    assert ip_only > 0 and flows["host_source"].is_null().all()
    assert f"no evidence to attribute {ip_only:,} IP-only flows" in capsys.readouterr().out
