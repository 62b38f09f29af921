"""Ordinary mistakes get one plain line, never "internal error" (items 18, 19, 20)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.cli import main
from tests.conftest import SAMPLES

SITE = SAMPLES / "site.toml"
LOG = str(SAMPLES / "squid" / "access.log")


def one_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("analyzer: error: "), err
    assert "internal error" not in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


# --- item 18: output paths, checked before the work starts -----------------------------------------


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("x", encoding="utf-8")
    return path


def test_check_output_is_an_existing_file(tmp_path, capsys, a_file):
    assert main(["check", LOG, "--site", str(SITE), "-o", str(a_file)]) == 2
    one_line(capsys, "is a file, not a folder")


def test_check_output_under_a_file(tmp_path, capsys, a_file):
    assert main(["check", LOG, "--site", str(SITE), "-o", str(a_file / "out")]) == 2
    one_line(capsys, f"cannot create a folder under the file {a_file}")


def test_check_output_not_creatable(capsys):
    assert main(["check", LOG, "--site", str(SITE), "-o", "/proc/analyzer-out"]) == 2
    one_line(capsys, "-o /proc/analyzer-out: cannot create the folder")


def test_check_output_not_writable(capsys):
    # /proc/self is a folder nobody, root included, can create files in.
    assert main(["check", LOG, "--site", str(SITE), "-o", "/proc/self"]) == 2
    one_line(capsys, "-o /proc/self: cannot write in /proc/self")


def test_parse_output_is_an_existing_folder(tmp_path, capsys):
    (tmp_path / "flows.csv").mkdir()
    assert main(["parse", LOG, "-o", str(tmp_path / "flows.csv")]) == 2
    one_line(capsys, "is a folder")


def test_parse_output_under_a_file(tmp_path, capsys, a_file):
    assert main(["parse", LOG, "-o", str(a_file / "flows.parquet")]) == 2
    one_line(capsys, "cannot create a file under the file")


def test_parse_rejects_not_writable_fails_before_the_flows_are_written(tmp_path, capsys):
    flows = tmp_path / "flows.parquet"
    assert main(["parse", LOG, "-o", str(flows), "--rejects", "/proc/self/rejects.csv"]) == 2
    one_line(capsys, "--rejects /proc/self/rejects.csv: cannot write in /proc/self")
    assert not flows.exists()


def test_a_write_error_during_the_run_is_one_line(tmp_path, capsys, monkeypatch):
    import analyzer.api

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "out" / "report.html"))

    monkeypatch.setattr(analyzer.api, "write_reports", full)
    assert main(["check", LOG, "--site", str(SITE), "-o", str(tmp_path / "out"), "-q"]) == 2
    one_line(capsys, "report.html: No space left on device")


# --- item 19: site files written by Windows tools ---------------------------------------------------


def _site(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "site.toml"
    path.write_bytes(data)
    return str(path)


TEXT = SITE.read_text(encoding="utf-8").replace("# Sample site", "# Sample sité")


@pytest.mark.parametrize(
    "data",
    [b"\xef\xbb\xbf" + TEXT.encode(), b"\xff\xfe" + TEXT.encode("utf-16-le"), b"\xfe\xff" + TEXT.encode("utf-16-be")],
    ids=["utf-8-bom", "utf-16-le", "utf-16-be"],
)
def test_site_file_with_bom_or_utf16_reads_like_utf8(tmp_path, capsys, data):
    code = main(["check", LOG, "--site", _site(tmp_path, data), "-o", str(tmp_path / "out"), "-q"])
    assert code == main(["check", LOG, "--site", str(SITE), "-o", str(tmp_path / "ref"), "-q"]) == 1
    assert capsys.readouterr().err == ""


def test_site_file_in_latin1_names_the_file_and_the_offset(tmp_path, capsys):
    site = _site(tmp_path, TEXT.encode("latin-1"))
    assert main(["check", LOG, "--site", site, "-o", str(tmp_path / "out")]) == 2
    offset = TEXT.encode("latin-1").index(b"\xe9")
    one_line(capsys, site, f"byte 0xe9 at offset {offset}")


def test_profile_file_in_latin1_and_explain(tmp_path, capsys):
    profile = tmp_path / "mine.toml"
    profile.write_bytes('name = "mine" # é\n'.encode("latin-1"))
    assert main(["profiles", "show", str(profile)]) == 2
    one_line(capsys, str(profile), "byte 0xe9 at offset 16")


def test_baseline_in_utf16_is_read(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["check", LOG, "--site", str(SITE), "-o", str(out), "-q"]) == 1
    baseline = tmp_path / "baseline.json"
    baseline.write_bytes(b"\xff\xfe" + (out / "findings.json").read_text(encoding="utf-8").encode("utf-16-le"))
    args = ["check", LOG, "--site", str(SITE), "-o", str(tmp_path / "o2"), "--baseline", str(baseline)]
    assert main(args) == 1
    assert "since the baseline: 0 new" in capsys.readouterr().out


# --- item 20: arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["", "  ", "a b", "x.test/path", "x..test", "x-.test"])
def test_explain_rejects_what_is_not_a_host(capsys, host):
    assert main(["policy", "explain", host]) == 2
    one_line(capsys, "not a host name or address")


def test_explain_without_site_does_not_speak_of_the_site(capsys):
    assert main(["policy", "explain", "download.windowsupdate.com"]) == 0
    out = capsys.readouterr().out
    assert "no server of the site" not in out
    assert "give --site" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["profiles", "bogus"], "unknown profiles action 'bogus'"),
        (["policy", "bogus", "x"], "unknown policy action 'bogus'"),
    ],
)
def test_unknown_action_is_named_plainly(capsys, argv, needle):
    assert main(argv) == 2
    err = one_line(capsys, needle)
    assert "argument action" not in err


def test_plain_analyzer_prints_its_usage(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: analyzer") and "check" in err and "parse" in err
