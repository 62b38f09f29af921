"""Generate realistic PAN-OS 10.x syslog: TRAFFIC lines (115 columns) mixed with URL logs (THREAT/url).

The lines follow the 10.2 column layout of ``docs/formats.md`` §2.3/§2.4, with the quoted App
Characteristic list every 10.x line carries, a BSD syslog header, documentation addresses and the
real Microsoft update host names. Example::

    generate(Path("/tmp/pan.log"), 1_000_000)
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

SERIAL = "0123456789AB"
CLIENTS = [f"192.0.2.{i}" for i in range(100, 200)]
SERVERS = ["192.0.2.10", "192.0.2.20", "198.51.100.30"]
# Documentation addresses standing in for Microsoft CDN addresses, with the names a URL log gives.
CDN = {
    "203.0.113.50": "download.windowsupdate.com",
    "203.0.113.51": "au.download.windowsupdate.com",
    "203.0.113.52": "www.update.microsoft.com",
    "198.51.100.60": "dl.delivery.mp.microsoft.com",
    "198.51.100.61": "ctldl.windowsupdate.com",
}
APPS = [("ssl", 443), ("web-browsing", 80), ("ms-update", 443), ("ms-update", 80), ("dns-base", 53)]
CHARACTERISTIC = '"able-to-transfer-file,has-known-vulnerability,tunnel-other-application,pervasive-use"'


def _ts(t: datetime) -> str:
    return t.strftime("%Y/%m/%d %H:%M:%S")


def _hires(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+01:00"


def traffic_line(t: datetime, src: str, dst: str, sport: int, dport: int, app: str, action: str, session: int) -> str:
    """One 10.x TRAFFIC/end line (115 columns) with a BSD header."""
    proto = "udp" if dport == 53 else "tcp"
    subtype = "end" if action == "allow" else "deny"
    reason = "tcp-fin" if action == "allow" else "policy-deny"
    sent, recv = 1200 + session % 5000, 40000 + session % 900000
    # fmt: off
    cols = [
        "1", _ts(t), SERIAL, "TRAFFIC", subtype, "2561", _ts(t), src, dst, "203.0.113.1", dst,
        "allow-updates" if action == "allow" else "deny-all", "", "", app, "vsys1", "trust", "untrust",
        "ethernet1/2", "ethernet1/1", "fwd-syslog", _ts(t), str(session), "1", str(sport), str(dport),
        str(40000 + sport % 20000), str(dport), "0x400053", proto, action, str(sent + recv), str(sent), str(recv),
        str(20 + session % 200), _ts(t - timedelta(seconds=30)), "30", "computer-and-internet-info", "",
        str(7300000000000000000 + session), "0x0", "192.0.2.0-192.0.2.255", "United States", "",
        str(10 + session % 100), str(10 + session % 120), reason, "0", "0", "0", "0", "", "PA-3220", "from-policy",
        "", "", "0", "", "0", "", "N/A", "0", "0", "0", "0", "5f2c1d3e-0a4b-4c6d-8e9f-0123456789ab", "0", "0",
        *[""] * 34, _hires(t), "", "", "software-update", "business-systems", "client-server", "2", CHARACTERISTIC,
        "", "untunneled", "no", "no", "0",
    ]
    # fmt: on
    assert len(cols) == 115, len(cols)
    return f"<14>{t.strftime('%b %e %H:%M:%S')} PA-3220 " + ",".join(cols)


def url_line(
    t: datetime,
    src: str,
    dst: str,
    sport: int,
    dport: int,
    app: str,
    host: str,
    action: str,
    session: int,
    path: str = "/",
) -> str:
    """One 10.x THREAT/url line (121 columns) with a BSD header; the URL is ``host`` + ``path``."""
    # fmt: off
    cols = [
        "1", _ts(t), SERIAL, "THREAT", "url", "2561", _ts(t), src, dst, "203.0.113.1", dst, "allow-updates", "", "",
        app, "vsys1", "trust", "untrust", "ethernet1/2", "ethernet1/1", "fwd-syslog", _ts(t), str(session), "1",
        str(sport), str(dport), str(40000 + sport % 20000), str(dport), "0x40b000", "tcp", action, f'"{host}{path}"',
        "(9999)", "computer-and-internet-info", "informational", "client-to-server",
        str(7300000000000000000 + session), "0x8000000000000000", "192.0.2.0-192.0.2.255", "United States", "", "",
        "0", "", "", "0", "Windows-Update-Agent/10.0.10011.16384 Client-Protocol/2.50", "", "", "", "", "", "", "0",
        "0", "0", "0", "0", "", "PA-3220", "", "", "", "GET", "0", "", "0", "", "N/A", "unknown",
        "AppThreat-8700-8000", "0x0", "0", "4294967295", "", '"computer-and-internet-info,low-risk"',
        "5f2c1d3e-0a4b-4c6d-8e9f-0123456789ab", "0", "", "", *[""] * 16, "", "", "", "", "", "", "", "", "", "", "",
        _hires(t), "", "", "", "software-update", "business-systems", "client-server", "2", CHARACTERISTIC, "",
        "untunneled", "no", "no", "0",
    ]
    # fmt: on
    assert len(cols) == 121, len(cols)
    return f"<14>{t.strftime('%b %e %H:%M:%S')} PA-3220 " + ",".join(cols)


def generate(path: Path, n_lines: int, seed: int = 0, url_share: float = 0.1) -> None:
    """Write ``n_lines`` PAN-OS syslog lines to ``path``: 10.x TRAFFIC, and about ``url_share``
    of URL logs (10 % by default)."""
    rng = random.Random(seed)
    t = datetime(2026, 11, 2, 8, 0, 0)
    cdn = list(CDN.items())
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n_lines):
            t += timedelta(milliseconds=rng.randint(1, 40))
            src = rng.choice(SERVERS if rng.random() < 0.3 else CLIENTS)
            dst, host = rng.choice(cdn)
            sport = rng.randint(49152, 65535)
            session = 100000 + i
            if rng.random() < url_share:
                action = rng.choice(["alert", "alert", "block-url"])
                fh.write(url_line(t, src, dst, sport, 443, "ms-update", host, action, session) + "\n")
            else:
                app, dport = rng.choice(APPS)
                action = rng.choice(["allow"] * 8 + ["deny", "reset-both"])
                fh.write(traffic_line(t, src, dst, sport, dport, app, action, session) + "\n")


def generate_traffic(path: Path, n_lines: int) -> None:
    """Write ``n_lines`` 10.x TRAFFIC lines and nothing else (the workload issue 3's target names)."""
    generate(path, n_lines, url_share=0.0)
