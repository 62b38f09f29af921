"""Pattern semantics, table-driven: the scalar reference and the vectorized matcher must agree."""

from __future__ import annotations

import polars as pl
import pytest

from analyzer.match import match_hosts
from analyzer.policy.patterns import PatternError, fold_host, parse_host, parse_target

# pattern, host as a log shows it, covered in "subdomains" mode, covered in "apex" mode
CASES = [
    # label boundaries
    ("*.update.microsoft.com", "fe2.update.microsoft.com", True, True),
    ("*.update.microsoft.com", "evilupdate.microsoft.com", False, False),
    ("*.update.microsoft.com", "update.microsoft.com.evil.test", False, False),
    ("*.update.microsoft.com", "a.b.c.update.microsoft.com", True, True),  # any depth
    ("*.windowsupdate.com", "download.windowsupdate.com", True, True),
    ("*.windowsupdate.com", "au.download.windowsupdate.com", True, True),
    ("*.windowsupdate.com", "windowsupdate.microsoft.com", False, False),
    ("*.higan.org", "michigan.org", False, False),
    ("higan.org", "michigan.org", False, False),
    # the apex in both modes
    ("*.update.microsoft.com", "update.microsoft.com", False, True),
    ("*.windowsupdate.microsoft.com", "windowsupdate.microsoft.com", False, True),
    # exact entries cover exactly one host
    ("download.windowsupdate.com", "download.windowsupdate.com", True, True),
    ("download.windowsupdate.com", "au.download.windowsupdate.com", False, False),
    ("download.microsoft.com", "xdownload.microsoft.com", False, False),
    # a wildcard inside a label stays within that label
    ("kv*.prod.do.dsp.mp.microsoft.com", "kv501.prod.do.dsp.mp.microsoft.com", True, True),
    ("kv*.prod.do.dsp.mp.microsoft.com", "kv.prod.do.dsp.mp.microsoft.com", True, True),
    ("kv*.prod.do.dsp.mp.microsoft.com", "kv5.x.prod.do.dsp.mp.microsoft.com", False, False),
    ("kv*.prod.do.dsp.mp.microsoft.com", "a.kv5.prod.do.dsp.mp.microsoft.com", False, False),
    ("kv*.prod.do.dsp.mp.microsoft.com", "geo.prod.do.dsp.mp.microsoft.com", False, False),
    ("kv*.prod.do.dsp.mp.microsoft.com", "prod.do.dsp.mp.microsoft.com", False, False),
    ("a*b.example.com", "axxb.example.com", True, True),
    ("a*b.example.com", "ax.xb.example.com", False, False),
    # case, trailing dot, port
    ("*.update.microsoft.com", "FE2.Update.Microsoft.COM", True, True),
    ("*.update.microsoft.com", "fe2.update.microsoft.com.", True, True),
    ("*.UPDATE.microsoft.com", "fe2.update.microsoft.com", True, True),
    ("download.microsoft.com.", "download.microsoft.com", True, True),
    # IDNA: Unicode names fold to their ASCII form on both sides
    ("*.bücher.example", "www.xn--bcher-kva.example", True, True),
    ("*.xn--bcher-kva.example", "www.bücher.example", True, True),
    ("*.bücher.example", "www.bucher.example", False, False),
]


@pytest.mark.parametrize(("pattern", "host", "subdomains", "apex"), CASES)
def test_scalar_matching(pattern, host, subdomains, apex):
    p = parse_host(pattern)
    folded = fold_host(host)
    assert p.matches(folded, "subdomains") is subdomains
    assert p.matches(folded, "apex") is apex


@pytest.mark.parametrize("wildcard", ["subdomains", "apex"])
def test_vectorized_matching_agrees(wildcard):
    patterns = sorted({c[0] for c in CASES})
    entries = pl.DataFrame(
        [
            {"entry_id": i, "kind": p.kind, "base": p.base, "regex": p.regex}
            for i, p in enumerate(parse_host(t) for t in patterns)
        ],
        schema={"entry_id": pl.Int32, "kind": pl.String, "base": pl.String, "regex": pl.String},
    )
    hosts = sorted({c[1] for c in CASES})
    hits = set(match_hosts(pl.Series(hosts), entries, wildcard).iter_rows())
    for pattern, host, subdomains, apex in CASES:
        expected = subdomains if wildcard == "subdomains" else apex
        assert ((host, patterns.index(pattern)) in hits) is expected, (pattern, host, wildcard)


def test_vectorized_matching_is_over_distinct_hosts():
    entries = pl.DataFrame(
        {"entry_id": [0], "kind": ["subdomains"], "base": ["update.microsoft.com"], "regex": [None]},
        schema={"entry_id": pl.Int32, "kind": pl.String, "base": pl.String, "regex": pl.String},
    )
    hosts = pl.Series(["fe2.update.microsoft.com"] * 1000 + [None] * 5)
    assert match_hosts(hosts, entries).height == 1


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("*", "two labels"),
        ("*.com", "two labels"),
        ("a..b.com", "empty label"),
        ("-bad.example.com", "not a valid host name label"),
        ("exa mple.com", "no spaces"),
        ("kv**.example.com", r"'\*\*'"),
        ("x.*", "two fixed labels"),
        ("192.0.2.1:80:1", "addresses"),
        ("host.example.com:http", "not a number"),
    ],
)
def test_unreadable_patterns_say_why(text, why):
    with pytest.raises(PatternError, match=why):
        parse_host(text)


@pytest.mark.parametrize(
    ("text", "scheme", "expected"),
    [
        ("http://*.windowsupdate.com", None, ("http", "*.windowsupdate.com", 80)),
        ("https://*.update.microsoft.com", None, ("https", "*.update.microsoft.com", 443)),
        ("HTTP://Download.Microsoft.com/", None, ("http", "download.microsoft.com", 80)),
        ("http://proxy.corp.example.com:8080", None, ("http", "proxy.corp.example.com", 8080)),
        ("*.prod.do.dsp.mp.microsoft.com", "https", ("https", "*.prod.do.dsp.mp.microsoft.com", 443)),
    ],
)
def test_targets(text, scheme, expected):
    t = parse_target(text, scheme=scheme)
    assert (t.scheme, t.host.text, t.port) == expected


@pytest.mark.parametrize(
    ("text", "scheme", "why"),
    [
        ("ftp://x.example.com", None, "scheme 'ftp'"),
        ("x.example.com", None, "no scheme"),
        ("http://x.example.com", "https", "contradicts"),
        ("http://x.example.com:99999", None, "out of range"),
        ("http://x.example.com:abc", None, "not a number"),
        ("http:/x.example.com", None, "no scheme"),
    ],
)
def test_unreadable_targets(text, scheme, why):
    with pytest.raises(PatternError, match=why):
        parse_target(text, scheme=scheme)


def test_patterns_are_frozen_and_validated():
    p = parse_host("*.update.microsoft.com")
    with pytest.raises(AttributeError):
        p.base = "x"  # type: ignore[misc]
    with pytest.raises(PatternError):
        type(p)(text="x", kind="regex", base="x")


def test_explain_says_why():
    p = parse_host("*.update.microsoft.com")
    assert "label boundary" in p.explain("evilupdate.microsoft.com")[1]
    assert "apex" in p.explain("update.microsoft.com")[1]
    assert "subdomains" in parse_host("download.microsoft.com").explain("a.download.microsoft.com")[1]
    assert "own label" in parse_host("kv*.prod.example.com").explain("a.kv.prod.example.com")[1]
