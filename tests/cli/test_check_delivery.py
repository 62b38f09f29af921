"""`analyzer check --mail-to ... / --webhook URL` against a real SMTP server and HTTP server on loopback.

The SMTP server is aiosmtpd with STARTTLS (a certificate made by trustme for 127.0.0.1, trusted
through SSL_CERT_FILE) and a login; the webhook is http.server. What the servers received is
parsed back (the mail with the ``email`` module) and compared with the files the check wrote.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from analyzer.cli import main
from analyzer.delivery import PASSWORD_ENV
from tests.conftest import SAMPLES

PASSWORD = "s3cret-Pa55word-never-shown"
USER = "reporter"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps each message with whether it came over TLS and who logged in."""

    def __init__(self):
        self.messages: list[tuple[email.message.EmailMessage, bool, list[str]]] = []
        self.logins: list[tuple[str, bool]] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        # A long subject may be folded right after "Subject:"; the parser keeps the space of the
        # fold where mail programs drop it.
        message.replace_header("Subject", message["Subject"].strip())
        self.messages.append((message, session.ssl is not None, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        self.logins.append((auth_data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    authority = trustme.CA()
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    return authority, str(bundle)


def smtp_server(inbox: Inbox, tls_context=None, **options):
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=tls_context,
        authenticator=inbox.authenticate,
        **options,
    )
    controller.start()
    return controller


@pytest.fixture
def starttls_server(ca):
    """An SMTP server that requires STARTTLS before anything else and a login over it."""
    authority, _ = ca
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    inbox = Inbox()
    controller = smtp_server(inbox, context, require_starttls=True, auth_require_tls=True)
    yield controller, inbox
    controller.stop()


@pytest.fixture
def plain_server():
    """An SMTP server without TLS (a relay on the same host)."""
    inbox = Inbox()
    controller = smtp_server(inbox, auth_required=False)
    yield controller, inbox
    controller.stop()


@pytest.fixture
def site(tmp_path) -> str:
    text = (SAMPLES / "site.toml").read_text(encoding="utf-8")
    path = tmp_path / "site.toml"
    path.write_text('name = "Example Corp updates"\n' + text, encoding="utf-8")
    return str(path)


@pytest.fixture(autouse=True)
def environment(monkeypatch, ca):
    monkeypatch.setenv("SSL_CERT_FILE", ca[1])  # OpenSSL's default trust store: the test's CA
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def check(site: str, out: Path, *options: str) -> int:
    # The samples are copied nowhere: the check reads them in place and writes into `out`.
    return main(
        ["check", str(SAMPLES / "squid"), str(SAMPLES / "winfirewall"), "--site", site, "-o", str(out), *options]
    )


def every_output(out: Path) -> list[Path]:
    names = ("findings.json", "findings.csv", "coverage.csv", "flows.parquet", "report.html", "report.md")
    assert all((out / n).is_file() for n in names)
    return [p for p in out.rglob("*") if p.is_file()]


def assert_no_password(capsys, caplog, out: Path) -> None:
    printed = capsys.readouterr()
    assert PASSWORD not in printed.out and PASSWORD not in printed.err
    assert PASSWORD not in caplog.text
    for path in every_output(out):
        assert PASSWORD.encode() not in path.read_bytes(), path


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("analyzer: error: ")
    return err


def test_mail_over_starttls_with_login_has_body_attachments_and_subject(
    starttls_server, site, tmp_path, capsys, caplog
):
    controller, inbox = starttls_server
    out = tmp_path / "out"
    code = check(
        site, out, "--mail-to", "ops@example.com,wsus@example.com", "--mail-from", "analyzer@example.com",
        "--smtp", f"127.0.0.1:{controller.port}", "--smtp-starttls", "--smtp-user", USER,
    )  # fmt: skip
    assert code == 1  # the samples hold a blocked required flow: the mail changes nothing of that
    assert inbox.logins == [(USER, True)]
    ((message, over_tls, recipients),) = inbox.messages
    assert over_tls  # the server saw STARTTLS before the message
    assert recipients == ["ops@example.com", "wsus@example.com"]
    assert message["From"] == "analyzer@example.com"
    subject = message["Subject"]
    assert subject.startswith("analyzer Example Corp updates: high blocked-required CAS -> ")
    assert "high" in subject and "medium" in subject  # the counts per severity
    body = message.get_body(("plain",))
    # Mail carries text with CRLF line ends (RFC 5322); the text is the same.
    assert body.get_content().replace("\r\n", "\n") == (out / "report.md").read_text(encoding="utf-8")
    attached = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(attached) == {"report.html", "findings.csv"}
    assert attached["report.html"].get_content_type() == "text/html"
    assert attached["report.html"].get_payload(decode=True) == (out / "report.html").read_bytes()
    assert attached["findings.csv"].get_payload(decode=True) == (out / "findings.csv").read_bytes()
    assert PASSWORD not in message.as_string()
    assert_no_password(capsys, caplog, out)


def test_without_starttls_the_message_goes_in_clear_to_a_plain_relay(plain_server, site, tmp_path, capsys):
    controller, inbox = plain_server
    code = check(site, tmp_path / "out", "--mail-to", "ops@example.com", "--smtp", f"127.0.0.1:{controller.port}")
    assert code == 1
    ((message, over_tls, _),) = inbox.messages
    assert not over_tls and message["Subject"].startswith("analyzer Example Corp updates: high")
    assert f"mailed to ops@example.com via 127.0.0.1:{controller.port}" in capsys.readouterr().out


def test_starttls_asked_of_a_server_without_it_fails_after_every_file(plain_server, site, tmp_path, capsys):
    controller, inbox = plain_server
    out = tmp_path / "out"
    code = check(site, out, "--mail-to", "ops@example.com", "--smtp", f"127.0.0.1:{controller.port}", "--smtp-starttls")
    assert code == 4
    assert "does not offer STARTTLS" in one_error_line(capsys)
    assert inbox.messages == []  # never a fallback to a plain connection
    every_output(out)


def test_an_untrusted_certificate_is_refused(starttls_server, site, tmp_path, capsys, monkeypatch):
    controller, inbox = starttls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    code = check(
        site,
        tmp_path / "out",
        "--mail-to",
        "o@example.com",
        "--smtp",
        f"127.0.0.1:{controller.port}",
        "--smtp-starttls",
    )
    assert code == 4
    assert "is not trusted" in one_error_line(capsys)
    assert inbox.messages == []


def test_a_refused_login_is_one_line_without_the_password(starttls_server, site, tmp_path, capsys, caplog, monkeypatch):
    controller, inbox = starttls_server
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD + "-wrong")
    out = tmp_path / "out"
    options = ("--smtp", f"127.0.0.1:{controller.port}", "--smtp-starttls", "--smtp-user", USER)
    code = check(site, out, "--mail-to", "ops@example.com", *options)
    assert code == 4
    err = one_error_line(capsys)
    assert f"refused the login of {USER}" in err and "-wrong" not in err
    # smtplib tries each mechanism the server offers (PLAIN, then LOGIN); all were refused.
    assert inbox.logins and set(inbox.logins) == {(USER, False)} and inbox.messages == []
    assert_no_password(capsys, caplog, out)


def test_an_unreachable_server_is_one_line_and_exit_3_after_every_file(site, tmp_path, capsys):
    out = tmp_path / "out"
    code = check(site, out, "--mail-to", "ops@example.com", "--smtp", f"127.0.0.1:{free_port()}")
    assert code == 4
    assert "mail not sent: 127.0.0.1:" in one_error_line(capsys)
    every_output(out)


def test_mail_on_sends_only_at_or_above_the_severity(plain_server, tmp_path, capsys):
    controller, inbox = plain_server
    log = tmp_path / "access.log"
    # One unexpected request that the proxy denied: a finding of severity info only.
    log.write_text("1793610000.000     50 192.0.2.10 TCP_DENIED/403 900 GET http://evil.test/x - HIER_NONE/- -\n")
    site = str(SAMPLES / "site.toml")
    smtp = ("--mail-to", "ops@example.com", "--smtp", f"127.0.0.1:{controller.port}")
    assert main(["check", str(log), "--site", site, "-o", str(tmp_path / "a"), *smtp, "--mail-on", "low"]) == 0
    assert inbox.messages == []
    assert "mail not sent: no current finding at low or above" in capsys.readouterr().out
    assert main(["check", str(log), "--site", site, "-o", str(tmp_path / "b"), *smtp, "--mail-on", "info"]) == 0
    ((message, _, _),) = inbox.messages
    assert message["Subject"] == "analyzer site.toml: info unexpected-blocked CAS -> evil.test:80 (1 info)"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--mail-to", "ops@example.com", "--smtp-user", USER], "--smtp-user needs --smtp-starttls"),
        (["--mail-to", "not an address"], "--mail-to: 'not an address' is not a mail address"),
        (["--mail-to", "ops@example.com", "--smtp", "mail.test:99999"], "a port from 1 to 65535"),
        (["--smtp", "mail.test"], "--smtp: needs --mail-to"),
        (["--webhook", "file:///etc/passwd"], "is not an http:// or https:// URL"),
    ],
)
def test_bad_delivery_options_fail_before_the_check(options, says, site, tmp_path, capsys):
    out = tmp_path / "out"
    assert check(site, out, *options) == 2
    assert says in one_error_line(capsys)
    assert not out.exists()  # nothing was checked or written


def test_a_user_without_the_password_variable_fails_before_the_check(site, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV)
    options = ("--mail-to", "ops@example.com", "--smtp-starttls", "--smtp-user", USER)
    assert check(site, tmp_path / "out", *options) == 2
    assert f"set the password in the environment variable {PASSWORD_ENV}" in one_error_line(capsys)


class Hook(BaseHTTPRequestHandler):
    """Records each POST (path, headers, body) on the server; answers with the server's status."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, dict(self.headers), body))
        self.send_response(self.server.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):  # keep the test's stderr for the analyzer's lines
        pass


@pytest.fixture
def webhook_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    server.received, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_webhook_receives_the_summary_as_json(webhook_server, site, tmp_path, capsys):
    url = f"http://127.0.0.1:{webhook_server.server_port}/services/T000/B000/secret-token"
    out = tmp_path / "out"
    assert check(site, out, "--webhook", url) == 1
    ((path, headers, body),) = webhook_server.received
    assert path == "/services/T000/B000/secret-token"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    payload = json.loads(body)
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))["findings"]
    assert payload["site"] == "Example Corp updates" and payload["profile"] == "cm2007"
    assert payload["text"].startswith("analyzer Example Corp updates: high blocked-required CAS -&gt; ")
    assert payload["worst"]["severity"] == "high" and payload["worst"]["finding_id"] in {
        f["finding_id"] for f in findings
    }
    assert payload["findings"]["high"] == sum(f["severity"] == "high" for f in findings)
    assert sum(payload["flows"].values()) > 0 and len(payload["top"]) == 10
    assert payload["reports"]["report.html"] == str(out / "report.html")
    printed = capsys.readouterr().out
    assert f"summary posted to http://127.0.0.1:{webhook_server.server_port}" in printed
    assert "secret-token" not in printed  # the path of a webhook URL is its secret


def test_a_webhook_error_is_one_line_without_the_secret_path(webhook_server, site, tmp_path, capsys):
    webhook_server.status = 500
    url = f"http://127.0.0.1:{webhook_server.server_port}/hooks/secret-token"
    out = tmp_path / "out"
    assert check(site, out, "--webhook", url, "--fail-on", "none") == 4
    err = one_error_line(capsys)
    assert "webhook not delivered" in err and "HTTP 500" in err and "secret-token" not in err
    every_output(out)


def test_a_failed_mail_does_not_stop_the_webhook(webhook_server, site, tmp_path, capsys):
    url = f"http://127.0.0.1:{webhook_server.server_port}/hook"
    options = ("--mail-to", "ops@example.com", "--smtp", f"127.0.0.1:{free_port()}", "--webhook", url)
    assert check(site, tmp_path / "out", *options) == 4
    assert "mail not sent" in one_error_line(capsys)
    assert len(webhook_server.received) == 1
