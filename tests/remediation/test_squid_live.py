"""The generated Squid rules in a real Squid (Debian's ``squid``, which .ci/run installs).

Squid listens on loopback with a deny-all configuration that includes the generated fragment;
origin servers listen on 127.x.y.z and a ``hosts_file`` points every name there. The requests
of a scenario are replayed through it from the servers' own (loopback) addresses: every request
the analyzer judges required passes, and the unexpected ones are still denied. ``squid -k
parse`` prints no warning on the fragment.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest

from analyzer.check import check_flows
from analyzer.flows import conform_flows
from analyzer.policy import load_policy
from analyzer.remediation import squid
from analyzer.remediation.model import Device, requirements

SQUID = shutil.which("squid") or ("/usr/sbin/squid" if Path("/usr/sbin/squid").exists() else None)
# A loopback /24 of its own per run (all of 127/8 is loopback on Linux): two test runs on one
# machine (two worktrees, CI beside a developer) never compete for the origin servers' ports.
NET = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}"
ORIGIN = f"{NET}.50"
SERVERS = {"CAS": f"{NET}.10", "PRI1": f"{NET}.20", "IBSUP": f"{NET}.30"}
CLIENT = f"{NET}.150"
FQDN = {"CAS": "sup-cas.corp.example.com", "PRI1": "sup-pri1.corp.example.com", "IBSUP": "ibsup.dmz.example.com"}


def _need_squid():
    if SQUID is None or os.geteuid() != 0:
        why = "Debian's squid is not installed" if SQUID is None else "binding ports 80/443 on loopback needs root"
        if os.environ.get("CI"):
            pytest.fail(f"{why} (.ci/run installs squid and runs as root)")
        pytest.skip(why)


SITE = """
profile = "{profile}"
wildcard = "{wildcard}"
wsus_web_site = "custom"
client_networks = ["{net}.128/25"]

[[server]]
name = "CAS"
fqdn = "sup-cas.corp.example.com"
addresses = ["{net}.10"]
upstream = "microsoft-update"

[[server]]
name = "PRI1"
fqdn = "sup-pri1.corp.example.com"
addresses = ["{net}.20"]
upstream = "CAS"

[[server]]
name = "IBSUP"
fqdn = "ibsup.dmz.example.com"
addresses = ["{net}.30"]
role = "internet-sup"
upstream = "PRI1"
"""

# A profile with what the built-in lists lack: a '*' inside a label and an explicit port.
GLOB_PROFILE = """
name = "glob-test"
title = "test list"
document = "test"
version = "1"
url = "https://example.com/"
role = "update-server"

[[entry]]
url = "http://kv*.prod.do.dsp.mp.microsoft.com"
[[entry]]
url = "https://*.update.microsoft.com"
[[entry]]
url = "http://update.microsoft.com:8080"
"""


def examples(pattern, wildcard: str) -> list[str]:
    """Hosts a pattern covers: the host itself, subdomains at two depths (and the apex in apex
    mode), a '*' inside a label filled in."""
    if pattern.kind == "exact":
        return [pattern.base]
    if pattern.kind == "subdomains":
        return [f"fe2.{pattern.base}", f"a.b.{pattern.base}"] + ([pattern.base] if wildcard == "apex" else [])
    return [pattern.text.replace("*", "x7")]


def required_requests(policy) -> list[tuple[str, str, str, int]]:
    """(source address, method, host, port) for every required flow of the policy."""
    out = []
    for r in requirements(policy):
        method = "CONNECT" if r.scheme == "https" else "GET"
        src = r.server.addresses[0]
        if r.kind == "allow-list":
            out += [(src, method, host, r.port) for host in examples(r.pattern, policy.wildcard)]
        else:
            out += [(src, method, r.upstream.fqdn, r.port), (src, method, r.upstream.addresses[0], r.port)]
    return out


def unexpected_requests(profile: str, wildcard: str) -> list[tuple[str, str, str, int]]:
    cas, pri1, ibsup = SERVERS["CAS"], SERVERS["PRI1"], SERVERS["IBSUP"]
    out = [
        (cas, "GET", "evilupdate.microsoft.com", 80),  # not on a label boundary
        (cas, "GET", "update.microsoft.com.example.net", 80),
        (cas, "GET", "pastebin.test", 80),
        (cas, "CONNECT", "download.windowsupdate.com", 443),  # an http entry, not https
        (cas, "GET", "fe2.update.microsoft.com", 8080),  # another port
        (cas, "CONNECT", "fe2.update.microsoft.com", 8443),
        (pri1, "GET", "download.windowsupdate.com", 80),  # a downstream server reaching Microsoft
        (cas, "GET", FQDN["PRI1"], 8530),  # against the direction of synchronization
        (ibsup, "CONNECT", FQDN["CAS"], 8531),  # not its upstream
        (CLIENT, "GET", "download.windowsupdate.com", 80),  # a client, not an update server
    ]
    if profile == "glob-test":
        out += [
            (cas, "GET", "ab.prod.do.dsp.mp.microsoft.com", 80),
            (cas, "GET", "kv1.x.prod.do.dsp.mp.microsoft.com", 80),
        ]
        out += [(cas, "GET", "update.microsoft.com", 80)]  # listed on port 8080 only
    if profile == "cm2007":
        out.append((cas, "CONNECT", "download.microsoft.com", 443))  # http only in cm2007
    if profile == "wsus-2025":
        out.append((cas, "GET", "download.microsoft.com", 80))  # https only in wsus-2025
    if wildcard == "subdomains" and profile != "glob-test":
        out.append((cas, "GET", "update.microsoft.com", 80))  # the apex of *.update.microsoft.com
        out.append((cas, "CONNECT", "update.microsoft.com", 443))
    return out


def verdicts(policy, requests) -> list[str | None]:
    """The analyzer's own verdict for each request, as if the device had let it through."""
    flows = conform_flows(
        pl.DataFrame(
            {
                "src_ip": [r[0] for r in requests],
                "dst_host": [r[2] for r in requests],
                "dst_port": [r[3] for r in requests],
                "scheme": ["https" if r[1] == "CONNECT" else "http" for r in requests],
                "protocol": ["tcp"] * len(requests),
                "action": ["allowed"] * len(requests),
            }
        )
    )
    return check_flows(flows, policy)["verdict"].to_list()


class Origin(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"origin\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture(scope="module")
def origins():
    servers = []
    binds = [(ORIGIN, p) for p in (80, 443, 8080, 8443)]
    binds += [(SERVERS[n], p) for n in ("CAS", "PRI1") for p in (8530, 8531)]
    _need_squid()
    for addr in binds:
        server = ThreadingHTTPServer(addr, Origin)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield
    for server in servers:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _squid_config(folder: Path, port: int, fragment: str, hosts: list[str]) -> Path:
    (folder / "fragment.conf").write_text(fragment, encoding="utf-8")
    names = {h: ORIGIN for h in hosts} | {FQDN[n]: a for n, a in SERVERS.items()}
    (folder / "hosts").write_text("".join(f"{a} {h}\n" for h, a in names.items() if not h[0].isdigit()))
    conf = folder / "squid.conf"
    conf.write_text(
        f"""http_port 127.0.0.1:{port}
pid_filename {folder}/squid.pid
cache_log {folder}/cache.log
access_log stdio:{folder}/access.log
cache deny all
cache_mem 8 MB
coredump_dir {folder}
hosts_file {folder}/hosts
dns_nameservers 127.0.0.1
shutdown_lifetime 0 seconds
# the site's own rules would follow the fragment; here: deny everything else
include {folder}/fragment.conf
http_access deny all
""",
        encoding="utf-8",
    )
    return conf


def parse_warnings(conf: Path) -> list[str]:
    """The WARNING and ERROR lines of ``squid -k parse``."""
    run = subprocess.run([SQUID, "-k", "parse", "-f", str(conf)], capture_output=True, text=True, timeout=60)
    lines = (run.stdout + run.stderr).splitlines()
    assert run.returncode == 0, "\n".join(lines)
    return [line for line in lines if "WARNING" in line or "ERROR" in line]


def ask(proxy: int, src: str, method: str, host: str, port: int) -> int:
    """The HTTP status Squid answers for one request sent from ``src``."""
    with socket.create_connection(("127.0.0.1", proxy), timeout=10, source_address=(src, 0)) as sock:
        if method == "CONNECT":
            request = f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n"
        else:
            target = f"http://{host}" + ("" if port == 80 else f":{port}") + "/msdownload/x.cab"
            request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode())
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1])


def replay(squid_dir: Path, fragment: str, allowed: list, denied: list) -> tuple[dict, dict]:
    """Start Squid with ``fragment`` before a final deny-all, send every request, stop it:
    ``(status of each allowed request, status of each denied one)``."""
    port = _free_port()
    conf = _squid_config(squid_dir, port, fragment, [r[2] for r in allowed + denied])
    assert parse_warnings(conf) == []
    proc = subprocess.Popen([SQUID, "-N", "-f", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    cache_log = squid_dir / "cache.log"
                    log = cache_log.read_text(errors="replace") if cache_log.exists() else ""
                    pytest.fail(f"squid did not start: {proc.stderr.read().decode(errors='replace')}\n{log}")
                time.sleep(0.2)
        return {r: ask(port, *r) for r in allowed}, {r: ask(port, *r) for r in denied}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def squid_dir():
    folder = Path(tempfile.mkdtemp(prefix="analyzer-squid-"))
    folder.chmod(0o777)  # Squid started as root works as its 'proxy' user
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize(
    ("profile", "wildcard"),
    [("cm2007", "subdomains"), ("wsus-2025", "subdomains"), ("cm2007", "apex"), ("glob-test", "subdomains")],
)
def test_real_squid_passes_required_and_denies_unexpected(origins, squid_dir, tmp_path, profile, wildcard):
    _need_squid()
    if profile == "glob-test":
        (tmp_path / "glob.toml").write_text(GLOB_PROFILE, encoding="utf-8")
        profile_ref = str(tmp_path / "glob.toml")
    else:
        profile_ref = profile
    site = tmp_path / "site.toml"
    site.write_text(SITE.format(profile=profile_ref, wildcard=wildcard, net=NET), encoding="utf-8")
    policy = load_policy(str(site))
    fragment = squid.files(policy, requirements(policy), {}, Device("squid", "squid"), "policy")["policy.conf"]
    required, unexpected = required_requests(policy), unexpected_requests(profile, wildcard)
    # The scenario agrees with the analyzer: the required requests are required, the others not.
    assert set(verdicts(policy, required)) == {"required-allowed"}
    assert not {"required-allowed", "permitted"} & set(verdicts(policy, unexpected))

    passed, denied = replay(squid_dir, fragment, required, unexpected)
    assert {r: s for r, s in passed.items() if s != 200} == {}
    assert {r: s for r, s in denied.items() if s != 403} == {}


def test_squid_parses_the_samples_fixes_and_policy_without_a_warning(squid_dir):
    _need_squid()
    from analyzer.pipeline.check import run_check
    from analyzer.remediation import remediation_files

    here = Path.cwd()
    os.chdir(Path(__file__).resolve().parents[2])
    try:
        result = run_check(["data/samples"], "data/samples/site.toml")
    finally:
        os.chdir(here)
    files = remediation_files(result.findings, result.flows, result.policy, device="squid")
    for name in ("squid/fixes.conf", "squid/policy.conf"):
        conf = _squid_config(squid_dir, _free_port(), files[name], [])
        assert parse_warnings(conf) == [], name


@pytest.mark.parametrize(
    ("naive", "said"),
    [
        # an exact host and its ".x" (cm2007: windowsupdate.microsoft.com and *.windowsupdate.microsoft.com)
        (
            ["windowsupdate.microsoft.com", ".windowsupdate.microsoft.com"],
            "ERROR: '.windowsupdate.microsoft.com' is a subdomain of 'windowsupdate.microsoft.com'",
        ),
        # a host inside a ".x" (cm2007: download.windowsupdate.com and *.windowsupdate.com)
        (
            [".windowsupdate.com", "download.windowsupdate.com"],
            "WARNING: 'download.windowsupdate.com' is a subdomain of '.windowsupdate.com'",
        ),
    ],
)
def test_squid_rejects_the_overlapping_forms_the_rules_avoid(squid_dir, naive, said):
    """Why entries are merged or left out: written value for value, the cm2007 list overlaps
    itself, which Squid 5.7 refuses (an apex and its ".x") or warns about and drops."""
    _need_squid()
    fragment = "".join(f"acl x dstdomain {v}\n" for v in naive)
    conf = _squid_config(squid_dir, _free_port(), fragment, [])
    run = subprocess.run([SQUID, "-k", "parse", "-f", str(conf)], capture_output=True, text=True, timeout=60)
    assert said in run.stdout + run.stderr
    assert (run.returncode != 0) == said.startswith("ERROR")


def test_real_squid_with_the_fixes_lets_exactly_the_fixed_flows_through(origins, squid_dir, tmp_path):
    """The fixes fragment of two blocked-required findings opens those flows and nothing else."""
    _need_squid()
    from analyzer.aggregates import FINDINGS_SCHEMA
    from analyzer.remediation.model import fixes

    site = tmp_path / "site.toml"
    site.write_text(SITE.format(profile="cm2007", wildcard="subdomains", net=NET), encoding="utf-8")
    policy = load_policy(str(site))
    partial = pl.DataFrame(
        {
            "finding_id": ["f1", "f2"],
            "verdict": ["blocked-required"] * 2,
            "server": ["CAS", "IBSUP"],
            "direction": ["outbound"] * 2,
            "host": ["download.microsoft.com", FQDN["PRI1"]],
            "port": [80, 8530],
            "scheme": ["http", "http"],
            "entry": ["http://download.microsoft.com", "IBSUP -> PRI1"],
            "count": [5, 1],
        }
    )
    findings = pl.concat([pl.DataFrame(schema=FINDINGS_SCHEMA), partial], how="diagonal_relaxed")
    reqs = requirements(policy)
    found = fixes(findings, reqs)
    fixing = [r for r in reqs if r.key in found]
    fragment = squid.files(policy, fixing, found, Device("squid", "squid"), "fixes")["fixes.conf"]
    assert "# fixes finding f1 (5 flows)" in fragment and "# fixes finding f2 (1 flow)" in fragment
    cas, ibsup = SERVERS["CAS"], SERVERS["IBSUP"]
    fixed = [(cas, "GET", "download.microsoft.com", 80), (ibsup, "GET", FQDN["PRI1"], 8530)]
    others = [
        (cas, "GET", "download.windowsupdate.com", 80),  # required too, but not blocked this run
        (ibsup, "CONNECT", FQDN["PRI1"], 8531),
        (cas, "CONNECT", "download.microsoft.com", 443),
    ]
    passed, denied = replay(squid_dir, fragment, fixed, others)
    assert {r: s for r, s in passed.items() if s != 200} == {}
    assert {r: s for r, s in denied.items() if s != 403} == {}
