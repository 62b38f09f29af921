"""Built-in profiles: every one loads, without duplicates, with its source; the drift table of
endpoints.md is what `profiles diff` reproduces; broken profile files name file, entry and why."""

from __future__ import annotations

import pytest

from analyzer.errors import PolicyError, UnknownNameError
from analyzer.policy import builtin_names, diff_profiles, load_profile
from analyzer.policy.profiles import DEFAULT_PROFILE

EXPECTED = {"cm2007", "cmcb", "wsus-2017", "wsus-2022", "wsus-2025", "wu-client", "delivery-optimization"}


def test_the_official_lists_are_built_in():
    assert set(builtin_names()) == EXPECTED
    assert DEFAULT_PROFILE == "cm2007"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_profile_loads_without_duplicates(name):
    p = load_profile(name)
    assert p.name == name and p.entries
    assert p.url.startswith("https://learn.microsoft.com/")
    keys = [(e.scheme, e.host, e.port) for e in p.entries]
    assert len(keys) == len(set(keys)), "duplicate entry"
    texts = [e.label for e in p.entries]
    assert len(texts) == len(set(texts))
    for e in p.entries:
        assert e.source == p.source  # document, version and URL travel with each entry
        assert e.scheme in ("http", "https") and e.port == {"http": 80, "https": 443}[e.scheme]


def test_cm2007_is_the_seed_list_verbatim():
    p = load_profile("cm2007")
    assert [e.text for e in p.entries] == [
        "http://windowsupdate.microsoft.com",
        "http://*.windowsupdate.microsoft.com",
        "https://*.windowsupdate.microsoft.com",
        "http://*.update.microsoft.com",
        "https://*.update.microsoft.com",
        "http://*.windowsupdate.com",
        "http://download.windowsupdate.com",
        "http://download.microsoft.com",
        "http://*.download.windowsupdate.com",
        "http://test.stats.update.microsoft.com",
        "http://ntservicepack.microsoft.com",
    ]
    assert p.role == "update-server"


def test_adjacent_lists():
    wu = load_profile("wu-client")
    assert wu.role == "client"
    by_host = {e.host: e for e in wu.entries}
    assert by_host["*.update.microsoft.com"].scheme == "https"  # "TLS 1.2" means https
    assert by_host["*.update.microsoft.com"].label == "*.update.microsoft.com (TLS 1.2)"
    assert by_host["emdl.ws.microsoft.com"].scheme == "http"
    do = load_profile("delivery-optimization")
    assert do.role == "delivery-optimization"
    kinds = {e.host: (e.scheme, e.target.host.kind) for e in do.entries}
    assert kinds["kv*.prod.do.dsp.mp.microsoft.com"] == ("https", "glob")
    assert kinds["*.do.dsp.mp.microsoft.com"] == ("https", "subdomains")
    assert kinds["*.emdl.ws.microsoft.com"] == ("http", "subdomains")
    assert {(p.protocol, p.port) for p in do.ports} == {("tcp", 7680), ("udp", 3544)}


# The "Drift at a glance" table of endpoints.md, as the changes between consecutive lists.
DRIFT = [
    ("cm2007", "cmcb", [("test.stats.update.microsoft.com", "removed", "http", "-")]),
    (
        "cmcb",
        "wsus-2017",
        [
            ("dl.delivery.mp.microsoft.com", "added", "-", "http, https"),
            ("download.microsoft.com", "scheme changed", "http", "https"),
            ("go.microsoft.com", "added", "-", "http"),
            ("wustat.windows.com", "added", "-", "http"),
        ],
    ),
    ("wsus-2017", "wsus-2022", [("*.delivery.mp.microsoft.com", "added", "-", "http, https")]),
    ("wsus-2022", "wsus-2025", [("wustat.windows.com", "removed", "http", "-")]),
    ("wsus-2025", "wsus-2025", []),
]


@pytest.mark.parametrize(("a", "b", "rows"), DRIFT)
def test_diff_reproduces_the_drift_table(a, b, rows):
    got = [(r["host"], r["change"], r["before"], r["after"]) for r in diff_profiles(load_profile(a), load_profile(b))]
    assert got == rows


def test_diff_against_the_client_list():
    rows = {r["host"]: r for r in diff_profiles(load_profile("cm2007"), load_profile("wu-client"))}
    assert rows["*.update.microsoft.com"]["change"] == "scheme changed"  # http, https → https only
    assert rows["*.update.microsoft.com"]["after"] == "https"
    assert rows["*.delivery.mp.microsoft.com"]["change"] == "added"


def test_unknown_profile_suggests():
    with pytest.raises(UnknownNameError, match="did you mean 'cm2007'"):
        load_profile("cm2070")


HEAD = 'name = "x"\ntitle = "t"\ndocument = "d"\nversion = "1"\nurl = "https://x.test/"\nrole = "update-server"\n'


@pytest.mark.parametrize(
    ("body", "key", "why"),
    [
        ('[[entry]]\nurl = "http://*.com"\n', "entry[0]", r"cannot read entry 'http://\*.com'.*two labels"),
        ('[[entry]]\nurl = "gopher://x.example.com"\n', "entry[0]", "scheme 'gopher'"),
        ('[[entry]]\nhost = "x.example.com"\n', "entry[0]", "no scheme"),
        ('[[entry]]\nurl = "http://a.example.com"\nhost = "b.example.com"\n', "entry[0]", "exactly one"),
        ('[[entry]]\nurl = "http://a.example.com"\nschema = "http"\n', "entry[0].schema", "unknown key"),
        (
            '[[entry]]\nurl = "http://a.example.com"\n[[entry]]\nurl = "HTTP://A.example.com/"\n',
            "entry[1]",
            r"duplicates entry\[0\]",
        ),
        ("", "entry", "at least one"),
        ('colour = "red"\n[[entry]]\nurl = "http://a.example.com"\n', "colour", "unknown key"),
    ],
)
def test_broken_profile_files_name_file_entry_and_why(tmp_path, body, key, why):
    path = tmp_path / "mine.toml"
    path.write_text(HEAD + body, encoding="utf-8")
    with pytest.raises(PolicyError, match=why) as info:
        load_profile(str(path))
    assert info.value.file == str(path) and info.value.key == key
    assert str(path) in str(info.value)


def test_profile_file_relative_to_site(tmp_path):
    (tmp_path / "mine.toml").write_text(HEAD + '[[entry]]\nurl = "http://a.example.com"\n', encoding="utf-8")
    p = load_profile("mine.toml", site_file=str(tmp_path / "site.toml"))
    assert p.name == "x" and p.entries[0].host == "a.example.com"
    with pytest.raises(PolicyError, match="cannot read profile file"):
        load_profile("missing.toml", site_file=str(tmp_path / "site.toml"))


def _profile_file(tmp_path, name: str, body: str):
    path = tmp_path / f"{name}.toml"
    path.write_text(HEAD.replace('name = "x"', f'name = "{name}"') + body, encoding="utf-8")
    return load_profile(str(path))


def test_diff_lists_port_changes(tmp_path):
    """Item 13: matching depends on ports, so 80 -> 8080 is a change."""
    a = _profile_file(tmp_path, "a", '[[entry]]\nhost = "x.test"\nscheme = "http"\n')
    b = _profile_file(tmp_path, "b", '[[entry]]\nhost = "x.test"\nscheme = "http"\nport = 8080\n')
    assert diff_profiles(a, b) == [{"host": "x.test", "change": "port changed", "before": "http", "after": "http:8080"}]


def test_diff_lists_peer_ports():
    rows = diff_profiles(load_profile("wu-client"), load_profile("delivery-optimization"))
    peer = [(r["change"], r["before"], r["after"]) for r in rows if r["host"] == "(peer port)"]
    assert peer == [("added", "-", "tcp/7680"), ("added", "-", "udp/3544")]
    back = diff_profiles(load_profile("delivery-optimization"), load_profile("wu-client"))
    assert [(r["change"], r["after"]) for r in back if r["host"] == "(peer port)"] == [("removed", "-")] * 2
