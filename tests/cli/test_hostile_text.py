"""Hostile text in logs, file names and arguments never reaches a terminal or an output raw.

Every command of :data:`COMMANDS` runs as a real process on a pseudo-terminal (the paths that
only print on a terminal included) and once piped; what it prints, and every file it writes
into OUTDIR except Parquet (and the PNG charts, binary), must hold no C0 control but tab and
newline, no DEL, no C1 control, no bidi control, and be valid UTF-8. A new command is one more
entry in ``COMMANDS``.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import tty
from pathlib import Path

import pytest

from analyzer.cli import main
from analyzer.controls import has_unsafe
from tests.conftest import ROOT

SITE = str(ROOT / "data" / "samples" / "site.toml")

# Sets the window title, clears the screen, turns text red, a CSI as one C1 byte, DEL, NUL, a
# carriage return that overprints, and a right-to-left override that reverses what follows.
EVIL = "\x1b]0;pwned\x07\x1b[2J\x1b[31m\x9b1m\x7f\x00\r\u202egnp."
NAME = EVIL.replace("\x00", "")  # file names and arguments cannot hold NUL
HOST = f"evil{NAME}x.test"  # labels of 1-63 characters: a host with an empty label is a reject (item 17)
SQUID = "1793610000.000     50 192.0.2.10 {code} 900 {req} {user} HIER_DIRECT/203.0.113.41 -\n"
PANOS = (
    "<14>Nov 16 09:00:03 PA-3220 1,2026/11/16 09:00:03,0123456789AB,TRAFFIC,end,2561,2026/11/16 09:00:03,"
    "192.0.2.10,{dst},203.0.113.1,203.0.113.50,allow-updates,,,ms-update,vsys1,trust,untrust,"
    "ethernet1/2,ethernet1/1,fwd-syslog,2026/11/16 09:00:03,400117,1,51001,80,51001,80,0x400053,tcp,allow,"
    "441434,1317,440117,137,2026/11/16 08:59:33,30,computer-and-internet-info,,7300000000000400117,0x0,"
    "192.0.2.0-192.0.2.255,United States,0,1,0,aged-out,0,0,0,0,,PA-3220,from-policy,,,0,,0,,N/A,0,0,0,0\n"
)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    """A folder of logs with hostile lines and hostile file names, and a hostile PAN-OS file."""
    base = tmp_path_factory.mktemp("hostile")
    logs = base / "logs"
    logs.mkdir()
    lines = [
        SQUID.format(code="TCP_TUNNEL/200", req=f"CONNECT evil{EVIL}.test:443", user="-"),
        SQUID.format(code="TCP_MISS/200", req=f"GET http://{HOST}/a{EVIL}b", user=f"u{EVIL}"),
        SQUID.format(code="TCP_DENIED/403", req=f"GET http://blocked{EVIL}.test/", user="-"),
        SQUID.format(code="TCP_MISS/200", req="GET http://download.windowsupdate.com/x.cab", user="-"),
        f"not a squid line {EVIL}\n",  # a reject quoting hostile text
    ]
    (logs / f"access{NAME}.log").write_text("".join(lines), encoding="utf-8")
    # A name that is not UTF-8 at all: Python sees surrogate escapes.
    bad_name = os.fsdecode(b"access-\x9b\xff.log")
    (logs / bad_name).write_text("".join(lines[:2]), encoding="utf-8")
    panos = base / f"pan{NAME}.log"
    panos.write_text(PANOS.format(dst=f"203.0.113.5{EVIL}") * 2, encoding="utf-8")
    baseline = base / f"baseline{NAME}.json"
    baseline.write_text(json.dumps({"schema_version": 2, "findings": [{"host": EVIL}]}), encoding="utf-8")
    # A check's outputs, for the commands that read them (remediate, whatif).
    checked = base / f"checked{NAME}"
    assert main(["check", str(logs), "--site", SITE, "-o", str(checked), "-q", "--fail-on", "none"]) == 0
    return {"logs": logs, "panos": panos, "baseline": baseline, "base": base, "checked": checked}


def commands(h: dict[str, Path]) -> dict[str, tuple[list[str], Path | None]]:
    """Each command with hostile input: argv, and the OUTDIR whose files are checked (or None)."""
    out = h["base"] / "out"
    logs, panos, baseline, checked = str(h["logs"]), str(h["panos"]), str(h["baseline"]), str(h["checked"])
    flows, rejects = str(out / "p" / "flows.csv"), str(out / "p" / "rej.csv")
    return {
        "formats": (["formats"], None),
        "parse-csv": (["parse", logs, "-o", flows, "--rejects", rejects], out),
        "parse-parquet": (["parse", logs, "-o", str(out / "pq" / "flows.parquet")], None),
        "check": (["check", logs, "--site", SITE, "-o", str(out / "c"), "--fail-on", "none"], out / "c"),
        "check-baseline": (["check", logs, "--site", SITE, "-o", str(out / "b"), "--baseline", baseline], None),
        "check-panos-error": (["check", panos, "--site", SITE, "-o", str(out / "e")], None),
        "parse-panos-error": (["parse", panos, "-o", str(out / "e.csv")], None),
        "missing-path": (["parse", str(h["base"] / f"none{NAME}"), "-o", str(out / "m.csv")], None),
        "bad-format": (["parse", logs, "--format", f"x{NAME}", "-o", str(out / "f.csv")], None),
        "bad-output": (["parse", logs, "-o", str(out / f"x{NAME}.txt")], None),
        "bad-last": (["check", logs, "--site", SITE, "-o", str(out / "l"), "--last", f"7{NAME}"], None),
        "bad-tz": (["check", logs, "--site", SITE, "-o", str(out / "t"), "--tz", f"Mars/{NAME}"], None),
        "explain": (["policy", "explain", HOST], None),
        "explain-site": (["policy", "explain", HOST, "--site", SITE, "--profile", f"p{NAME}"], None),
        "profiles-show": (["profiles", "show", f"p{NAME}"], None),
        "profiles-diff": (["profiles", "diff", "cm2007", f"p{NAME}"], None),
        "bad-choice": (["check", logs, "--site", SITE, "-o", str(out / "x"), "--fail-on", f"x{NAME}"], None),
        "bad-command": ([f"x{NAME}"], None),
        "remediate": (["remediate", checked], None),
        "remediate-files": (["remediate", checked, "-o", str(out / "r")], out / "r"),
        "remediate-bad-server": (["remediate", checked, "--server", f"s{NAME}"], None),
        "whatif": (["whatif", checked, "--profile", "wsus-2025", "-o", str(out / "w")], out / "w"),
        "whatif-logs": (["whatif", logs, "--site", SITE, "--profile", "wsus-2025"], None),
    }


# Commands whose output need not quote the hostile text (it may have nothing to say about it).
SILENT = {"formats", "remediate", "remediate-files", "whatif", "whatif-logs"}


CASES = list(commands({k: Path(k) for k in ("base", "logs", "panos", "baseline", "checked")}))


def _run(argv: list[str], on_terminal: bool) -> tuple[int, bytes]:
    """Run the analyzer as a process; stdout and stderr together, as a user would see them."""
    cmd = [sys.executable, "-m", "analyzer", *argv]
    env = dict(os.environ, TERM="dumb", COLUMNS="120", LINES="40")
    if not on_terminal:
        done = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
        return done.returncode, done.stdout + done.stderr
    leader, follower = pty.openpty()
    tty.setraw(follower)  # no \n -> \r\n translation: what the program wrote, byte for byte
    proc = subprocess.Popen(cmd, stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True)
    os.close(follower)
    output = b""
    while True:
        try:
            block = os.read(leader, 65536)
        except OSError:  # the program has exited and closed the terminal
            break
        if not block:
            break
        output += block
    os.close(leader)
    return proc.wait(timeout=120), output


def assert_inert(data: bytes, where: str) -> str:
    text = data.decode("utf-8")  # valid UTF-8: an undecodable file name did not leak its bytes
    bad = sorted({f"U+{ord(c):04X}" for c in text if has_unsafe(c) and c not in "\t\n"})
    assert not bad, f"{where}: raw control characters {bad} in\n{text[:2000]!r}"
    return text


@pytest.mark.parametrize("on_terminal", [True, False], ids=["terminal", "piped"])
@pytest.mark.parametrize("name", CASES)
def test_no_raw_control_reaches_the_terminal_or_outputs(hostile, name, on_terminal):
    argv, outdir = commands(hostile)[name]
    _code, output = _run(argv, on_terminal)
    text = assert_inert(output, f"{name} output")
    assert "Traceback" not in text and "internal error" not in text, text
    quiet = name in SILENT or (name.startswith("check") and not on_terminal)  # piped: the summary alone
    if not quiet:
        assert "\\x1b" in text or "\\x9b" in text, f"{name}: the hostile text was not shown at all:\n{text}"
    if outdir is not None and not on_terminal:
        written = [p for p in outdir.rglob("*") if p.is_file() and p.suffix not in (".parquet", ".png")]
        assert written, name
        for path in written:
            assert_inert(path.read_bytes(), str(path.relative_to(outdir)))


def test_findings_json_keeps_the_exact_text(hostile, tmp_path):
    """JSON writes controls as its own \\u escapes: inert in the file, the same value when read."""
    argv, _ = commands(hostile)["check"]
    argv = [*argv[:-4], "-o", str(tmp_path), "--fail-on", "none"]
    code, output = _run(argv, on_terminal=False)
    assert code == 0, output
    doc = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))
    assert HOST.lower() in {f["host"] for f in doc["findings"]}  # host names are folded to lower case
