"""Delivery of a check's reports for periodic runs: by mail (SMTP, STARTTLS) and to a webhook.

After ``analyzer check`` has written every output, :func:`send_mail` mails ``report.md`` as the
body with ``report.html`` and ``findings.csv`` attached, and :func:`post_webhook` posts
:func:`summary` as JSON (a ``text`` line that Slack and Teams incoming webhooks show, plus the
counts and the most severe findings for a SOAR). Both raise :class:`AnalyzerError` with one line
when delivery fails; the caller decides the exit code.

The SMTP password is read from the environment variable :data:`PASSWORD_ENV` only, never from an
argument (arguments are visible to every user of the machine), and never printed: error lines
name the server and the user, not the password. A login is only done over STARTTLS, and the
server's certificate is verified against the system's trust store (``SSL_CERT_FILE`` points
OpenSSL at another one).
"""

from __future__ import annotations

import os
import re
import socket
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from . import __version__
from .baseline import changes, current_only
from .controls import dumps
from .errors import AnalyzerError
from .verdicts import SEVERITIES, SEVERITY_RANK

if TYPE_CHECKING:  # imported where used: the CLI imports this module for its options alone
    from email.message import EmailMessage

PASSWORD_ENV = "ANALYZER_SMTP_PASSWORD"
"""The environment variable holding the password of ``--smtp-user``."""

MAIL_BODY = "report.md"
MAIL_ATTACHMENTS = {"report.html": ("text", "html"), "findings.csv": ("text", "csv")}
"""File of OUTDIR → MIME type, attached in this order."""

TIMEOUT = 60.0
"""Seconds to wait for the SMTP server or the webhook before giving up."""

TOP_FINDINGS = 10
"""How many of the most severe findings the webhook summary lists."""

# Characters that must not reach a mail header, a terminal or a chat message as themselves:
# C0 and C1 controls, line and paragraph separators, bidirectional overrides.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def inert(text: object) -> str:
    """``text`` on one line with control characters shown as ``\\xNN`` escapes (never acted on)."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


@dataclass(frozen=True)
class MailSettings:
    """Where and how to mail the report. Build with :func:`mail_settings`."""

    to: tuple[str, ...]
    sender: str
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never shown, not even in a repr
    mail_on: str = "always"

    @property
    def server(self) -> str:
        """``host:port`` as error lines name it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _address(text: str, option: str) -> str:
    from email.headerregistry import Address

    try:
        address = Address(addr_spec=text.strip())
    except (ValueError, IndexError) as exc:
        raise AnalyzerError(f"{option}: '{inert(text)}' is not a mail address ({exc})") from None
    if not address.username or not address.domain:
        raise AnalyzerError(f"{option}: '{inert(text)}' is not a mail address (user@domain)")
    return address.addr_spec


def parse_server(text: str, default_port: int) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT`` or ``[IPv6]:PORT`` → (host, port). Example: ``("mail.test", 587)``."""
    host, port = text.strip(), str(default_port)
    if host.startswith("["):
        inside, sep, rest = host[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise AnalyzerError(f"--smtp: '{inert(text)}' is not HOST[:PORT] ([IPv6]:PORT for IPv6 addresses)")
        host, port = inside, rest[1:] or port
    elif host.count(":") == 1:
        host, port = host.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise AnalyzerError(f"--smtp: '{inert(text)}' is not HOST[:PORT] with a port from 1 to 65535")
    return host, int(port)


def mail_settings(
    to: list[str],
    *,
    sender: str | None = None,
    smtp: str | None = None,
    starttls: bool = False,
    user: str | None = None,
    mail_on: str = "always",
    environ: dict | None = None,
) -> MailSettings:
    """Validated settings from the check's options; the password comes from :data:`PASSWORD_ENV`.

    Raises :class:`AnalyzerError` (a usage error, before the check runs) on a bad address or
    server, a user without STARTTLS, or a user without the password variable.
    Example: ``mail_settings(["ops@example.com"], smtp="mail.example.com:587", starttls=True)``.
    """
    environ = os.environ if environ is None else environ
    recipients = tuple(_address(a, "--mail-to") for text in to for a in text.split(",") if a.strip())
    if not recipients:
        raise AnalyzerError("--mail-to: no address given")
    from_address = _address(sender, "--mail-from") if sender else f"analyzer@{socket.gethostname() or 'localhost'}"
    host, port = parse_server(smtp or "localhost", 587 if starttls else 25)
    password = None
    if user is not None:
        if not starttls:
            raise AnalyzerError("--smtp-user needs --smtp-starttls: the password must not cross the network in clear")
        password = environ.get(PASSWORD_ENV)
        if not password:
            raise AnalyzerError(
                f"--smtp-user {inert(user)}: set the password in the environment variable {PASSWORD_ENV}"
            )
    if mail_on != "always" and mail_on not in SEVERITIES:
        raise AnalyzerError(f"--mail-on: '{inert(mail_on)}' is not one of: always, {', '.join(SEVERITIES)}")
    return MailSettings(recipients, from_address, host, port, starttls, user, password, mail_on)


def _to_act_on(result) -> pl.DataFrame:
    """Current findings that need action, most severe first, most flows first among equals."""
    current = current_only(result.findings).filter(pl.col("severity").is_in(SEVERITIES))
    rank = pl.col("severity").replace_strict(SEVERITY_RANK, return_dtype=pl.Int32)
    return current.sort(rank, -pl.col("count"), "finding_id")


def worst_finding(result) -> dict | None:
    """The most severe current finding (most flows first among equals), or None when no finding
    needs action (severity ``none`` only, or no findings)."""
    ranked = _to_act_on(result)
    return None if ranked.is_empty() else ranked.row(0, named=True)


def severity_counts(result) -> dict[str, int]:
    """Current findings per severity that needs action, every severity listed (0 when absent)."""
    current = current_only(result.findings)
    got = dict(current.get_column("severity").value_counts().iter_rows())
    return {s: int(got.get(s, 0)) for s in SEVERITIES}


def site_name(result) -> str:
    """The site as mail subjects and chat messages name it: the site file's ``name``, else the file."""
    site = result.policy.site
    return site.name or Path(site.file).name


def _destination(finding: dict) -> str:
    remote = finding["host"] or finding["address"] or "(no destination)"
    port = f":{finding['port']}" if finding["port"] is not None else ""
    arrow = "<-" if finding["direction"] == "inbound" else "->"
    return f"{finding['server']} {arrow} {remote}{port}"


def headline(result) -> str:
    """One line on the run: the site, the worst finding and the counts per severity.

    Example: ``analyzer site.toml: high blocked-required CAS -> ctldl.windowsupdate.com:80
    (3 high, 6 medium, 10 low, 10 info)``.
    """
    counts = severity_counts(result)
    worst = worst_finding(result)
    tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if worst is None:
        return inert(f"analyzer {site_name(result)}: no findings to act on")
    return inert(
        f"analyzer {site_name(result)}: {worst['severity']} {worst['verdict']} {_destination(worst)} ({tally})"
    )


def should_mail(result, mail_on: str) -> bool:
    """Whether ``--mail-on`` asks for a mail: ``always``, or a current finding at that severity
    or a more severe one (resolved findings do not count)."""
    if mail_on == "always":
        return True
    limit = SEVERITY_RANK[mail_on]
    return any(SEVERITY_RANK[s] <= limit for s in _to_act_on(result)["severity"].to_list())


def build_message(result, outdir: str | Path, settings: MailSettings) -> EmailMessage:
    """The mail: subject :func:`headline`, ``report.md`` as the text body, the HTML report and
    the findings CSV attached (read from ``outdir``, where the check wrote them)."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    folder = Path(outdir)
    message = EmailMessage()
    message["Subject"] = headline(result)
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message["X-Mailer"] = f"analyzer {__version__}"
    try:
        message.set_content((folder / MAIL_BODY).read_text(encoding="utf-8"))
        for name, (maintype, subtype) in MAIL_ATTACHMENTS.items():
            message.add_attachment((folder / name).read_bytes(), maintype=maintype, subtype=subtype, filename=name)
    except OSError as exc:
        raise AnalyzerError(f"mail not sent: cannot read {exc.filename}: {exc.strerror}") from None
    return message


def send_mail(message: EmailMessage, settings: MailSettings, *, timeout: float = TIMEOUT) -> None:
    """Send ``message`` through the settings' server (STARTTLS and login when asked).

    Never falls back to a plain connection when STARTTLS was asked for. Raises
    :class:`AnalyzerError` with one line naming the server (never the password) on failure.
    """
    import smtplib
    import ssl

    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as smtp:
            smtp.ehlo()
            if settings.starttls:
                if not smtp.has_extn("starttls"):
                    raise AnalyzerError(f"mail not sent: {settings.server} does not offer STARTTLS")
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.user is not None:
                smtp.login(settings.user, settings.password or "")
            smtp.send_message(message, from_addr=settings.sender, to_addrs=list(settings.to))
    except AnalyzerError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise AnalyzerError(
            f"mail not sent: {settings.server} refused the login of {inert(settings.user)} ({exc.smtp_code})"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(sorted(exc.recipients))
        raise AnalyzerError(f"mail not sent: {settings.server} refused the recipients {inert(refused)}") from None
    except smtplib.SMTPResponseException as exc:
        reason = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        raise AnalyzerError(f"mail not sent: {settings.server} answered {exc.smtp_code} {inert(reason)}") from None
    except ssl.SSLCertVerificationError as exc:
        raise AnalyzerError(
            f"mail not sent: the certificate of {settings.server} is not trusted ({inert(exc.verify_message)})"
        ) from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise AnalyzerError(f"mail not sent: {settings.server}: {inert(reason)}") from None


def _finding_summary(row: dict) -> dict:
    return {
        "finding_id": row["finding_id"],
        "severity": row["severity"],
        "verdict": row["verdict"],
        "server": row["server"],
        "direction": row["direction"],
        "host": row["host"],
        "address": row["address"],
        "port": row["port"],
        "scheme": row["scheme"],
        "entry": row["entry"],
        "count": row["count"],
        "first_seen": None if row["first_seen"] is None else row["first_seen"].isoformat().replace("+00:00", "Z"),
        "last_seen": None if row["last_seen"] is None else row["last_seen"].isoformat().replace("+00:00", "Z"),
    }


def summary(result, outdir: str | Path) -> dict:
    """The webhook's JSON: ``text`` (the :func:`headline`, for Slack and Teams), the site and
    profile, current findings per severity, flows per verdict, the baseline's changes, the most
    severe findings and where the reports are."""
    top = _to_act_on(result).head(TOP_FINDINGS)
    worst = top.row(0, named=True) if top.height else None
    folder = Path(outdir)
    return {
        "text": _chat_text(headline(result)),
        "site": site_name(result),
        "profile": result.policy.profile.name,
        "worst": None if worst is None else _finding_summary(worst),
        "findings": severity_counts(result),
        "flows": dict(result.summary),
        "changes": changes(result.findings),
        "top": [_finding_summary(r) for r in top.iter_rows(named=True)],
        "reports": {name: str(folder / name) for name in ("report.html", "report.md", "findings.json")},
        "analyzer": __version__,
    }


def _chat_text(text: str) -> str:
    # Slack reads <...> as links and mentions (<!channel>) and & as an entity; Teams renders the
    # same entities. Log text in the headline must stay text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def check_webhook(url: str) -> str:
    """``url`` if it is an http(s) URL with a host, else :class:`AnalyzerError` (a usage error)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AnalyzerError(f"--webhook: '{where(url)}...' is not an http:// or https:// URL")
    return url


def where(url: str) -> str:
    """The scheme, host and port of ``url``: what messages show (the path of a Slack or Teams
    webhook is its secret)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2] or "(no host)"  # never a user or password before the @
    return inert(f"{parts.scheme or '(no scheme)'}://{host}")


def post_webhook(url: str, payload: dict, *, timeout: float = TIMEOUT) -> None:
    """POST ``payload`` as JSON to ``url``; raises :class:`AnalyzerError` with one line unless
    the endpoint answers 2xx. Honours the usual proxy variables (``https_proxy``, ``no_proxy``)."""
    import urllib.error
    import urllib.request

    data = dumps(payload).encode("utf-8")
    request = urllib.request.Request(
        check_webhook(url),
        data=data,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": f"analyzer/{__version__}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise AnalyzerError(
            f"webhook not delivered: {where(url)} answered HTTP {exc.code} {inert(exc.reason)}"
        ) from None
    except urllib.error.URLError as exc:
        reason = exc.reason.strerror if isinstance(exc.reason, OSError) and exc.reason.strerror else exc.reason
        raise AnalyzerError(f"webhook not delivered: {where(url)}: {inert(reason)}") from None
    except (OSError, ValueError) as exc:
        raise AnalyzerError(f"webhook not delivered: {where(url)}: {inert(exc)}") from None


def deliver(result, outdir: str | Path, mail: MailSettings | None, webhook: str | None) -> list[tuple[bool, str]]:
    """Mail and post a check's result as asked, after its files are written. Returns, per
    attempt, whether it went out and what to say: what was done, or why it failed (one line).
    A mail that ``mail_on`` holds back is said, and is no failure."""
    said: list[tuple[bool, str]] = []
    if mail is not None and not should_mail(result, mail.mail_on):
        said.append((True, f"mail not sent: no current finding at {mail.mail_on} or above"))
    elif mail is not None:
        sent = f"mailed to {', '.join(mail.to)} via {mail.server}"
        said.append(_attempt(lambda: send_mail(build_message(result, outdir, mail), mail), sent))
    if webhook is not None:
        said.append(
            _attempt(lambda: post_webhook(webhook, summary(result, outdir)), f"summary posted to {where(webhook)}")
        )
    return said


def _attempt(send, done: str) -> tuple[bool, str]:
    try:
        send()
    except AnalyzerError as exc:
        return False, str(exc)
    return True, done
