"""analyzer.delivery without servers: options, the subject line, the summary, hostile text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from analyzer.aggregates import FINDINGS_SCHEMA
from analyzer.delivery import (
    PASSWORD_ENV,
    MailSettings,
    build_message,
    headline,
    inert,
    mail_settings,
    parse_server,
    should_mail,
    summary,
    where,
)
from analyzer.errors import AnalyzerError
from analyzer.policy import load_policy

SITE = Path(__file__).resolve().parents[1] / "data" / "samples" / "site.toml"
T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def finding(fid: str, verdict: str, severity: str, host: str, count: int = 1, **extra) -> dict:
    row = dict.fromkeys(FINDINGS_SCHEMA)
    row.update(finding_id=fid, verdict=verdict, severity=severity, server="CAS", direction="outbound")
    row.update(host=host, port=443, scheme="https", count=count, first_seen=T, last_seen=T, evidence=[])
    return row | extra


def result(*rows: dict, status: list[str] | None = None):
    findings = pl.DataFrame(list(rows), schema=FINDINGS_SCHEMA)
    if status is not None:
        findings = findings.with_columns(pl.Series("status", status))
    return SimpleNamespace(findings=findings, policy=load_policy(str(SITE)), summary={"blocked-required": 3})


def test_parse_server_forms():
    assert parse_server("mail.example.com", 25) == ("mail.example.com", 25)
    assert parse_server("mail.example.com:2525", 25) == ("mail.example.com", 2525)
    assert parse_server("[2001:db8::25]:587", 25) == ("2001:db8::25", 587)
    assert parse_server("[2001:db8::25]", 587) == ("2001:db8::25", 587)
    for bad in ("mail.example.com:0", "mail.example.com:x", ":25", "[2001:db8::25", "[::1]x"):
        with pytest.raises(AnalyzerError, match="--smtp: "):
            parse_server(bad, 25)


def test_mail_settings_take_the_password_from_the_environment_only():
    settings = mail_settings(
        ["ops@example.com, wsus@example.com"],
        sender="analyzer@example.com",
        smtp="mail.example.com",
        starttls=True,
        user="reporter",
        environ={PASSWORD_ENV: "pw-from-env"},
    )
    assert settings.to == ("ops@example.com", "wsus@example.com")
    assert (settings.host, settings.port, settings.server) == ("mail.example.com", 587, "mail.example.com:587")
    assert settings.password == "pw-from-env" and "pw-from-env" not in repr(settings)
    assert mail_settings(["a@example.com"], environ={}).port == 25  # no STARTTLS: the plain port
    with pytest.raises(AnalyzerError, match=PASSWORD_ENV):
        mail_settings(["a@example.com"], starttls=True, user="reporter", environ={})


def hostile_result():
    return result(
        finding("a1", "unexpected-allowed", "medium", "evil.test\r\nBcc: victim@example.net\x1b[2J"),
        finding("b2", "unexpected-blocked", "info", "<!channel>&.test", count=9),
    )


def test_log_text_cannot_add_a_mail_header_or_act_in_a_terminal(tmp_path):
    for name in ("report.md", "report.html", "findings.csv"):
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    settings = MailSettings(to=("ops@example.com",), sender="analyzer@example.com")
    message = build_message(hostile_result(), tmp_path, settings)
    subject = message["Subject"]
    assert "\r" not in subject and "\n" not in subject and "\x1b" not in subject
    assert "evil.test\\x0d\\x0aBcc: victim@example.net\\x1b[2J" in subject  # shown, not acted on
    raw = message.as_bytes()
    assert b"\nBcc:" not in raw and b"\x1b" not in raw


def test_the_chat_text_cannot_mention_or_link():
    text = summary(result(finding("b2", "unexpected-blocked", "info", "<!channel>&.test")), "out")["text"]
    assert "&lt;!channel&gt;&amp;.test" in text and "<" not in text


def test_headline_names_the_site_the_worst_finding_and_the_counts():
    both = result(
        finding("a1", "unexpected-allowed", "medium", "a.test", count=2),
        finding("a2", "unexpected-allowed", "medium", "b.test", count=5),
        finding("c3", "required-allowed", "none", "download.windowsupdate.com"),
    )
    assert headline(both) == "analyzer site.toml: medium unexpected-allowed CAS -> b.test:443 (2 medium)"
    calm = result(finding("c3", "required-allowed", "none", "download.windowsupdate.com"))
    assert headline(calm) == "analyzer site.toml: no findings to act on"


def test_resolved_findings_neither_lead_the_headline_nor_trigger_mail_on():
    marked = result(
        finding("a1", "blocked-required", "high", "download.windowsupdate.com"),
        finding("b2", "unexpected-blocked", "info", "x.test"),
        status=["resolved", "new"],
    )
    assert headline(marked) == "analyzer site.toml: info unexpected-blocked CAS -> x.test:443 (1 info)"
    assert not should_mail(marked, "high") and should_mail(marked, "info") and should_mail(marked, "always")
    assert summary(marked, "out")["changes"] == {"new": 1, "persisting": 0, "resolved": 1}


def test_messages_show_a_webhook_url_without_its_secret_path():
    assert where("https://hooks.slack.com/services/T0/B0/XYZ") == "https://hooks.slack.com"
    assert where("https://user:pw@example.com:8443/x?token=1") == "https://example.com:8443"
    assert where("hooks.slack.com/services/T0/B0/XYZ") == "(no scheme)://(no host)"


def test_inert_escapes_controls_separators_and_bidi_overrides():
    assert inert("a\x00b\x7fc\u2028d\u202ee\x9b") == "a\\x00b\\x7fc\\x2028d\\x202ee\\x9b"
