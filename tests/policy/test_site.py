"""The site file: the sample loads; every validation error names the file, the key and the problem."""

from __future__ import annotations

import pytest

from analyzer.errors import PolicyError
from analyzer.policy import load_policy, load_site
from tests.conftest import SAMPLES

BASE = """
profile = "cm2007"
wsus_web_site = "custom"

[[server]]
name = "CAS"
fqdn = "sup-cas.corp.example.com"
addresses = ["192.0.2.10"]
role = "sup"
upstream = "microsoft-update"

[[server]]
name = "PRI1"
fqdn = "sup-pri1.corp.example.com"
addresses = ["192.0.2.20"]
upstream = "CAS"
"""


def test_sample_site():
    site = load_site(SAMPLES / "site.toml")
    assert [(s.name, s.fqdn, s.addresses, s.role, s.upstream) for s in site.servers] == [
        ("CAS", "sup-cas.corp.example.com", ("192.0.2.10",), "sup", "microsoft-update"),
        ("PRI1", "sup-pri1.corp.example.com", ("192.0.2.20",), "sup", "CAS"),
        ("IBSUP", "ibsup.dmz.example.com", ("198.51.100.30",), "internet-sup", "PRI1"),
    ]
    assert site.wsus_web_site == "custom" and site.wsus_ports == {"http": 8530, "https": 8531}
    assert site.timezone == "Europe/Berlin" and site.wildcard == "subdomains" and site.profile == "cm2007"
    assert [a.entry.text for a in site.allow] == ["http://proxy.corp.example.com:8080"]
    assert site.allow[0].entry.port == 8080 and site.allow[0].addresses == ("192.0.2.5",)
    assert [(c.name, p.name) for c, p in site.hierarchy()] == [("PRI1", "CAS"), ("IBSUP", "PRI1")]


def test_defaults(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text(
        '[[server]]\nname = "A"\nfqdn = "a.example.com"\naddresses = ["2001:DB8::0:1"]\n'
        'upstream = "microsoft-update"\n',
        encoding="utf-8",
    )
    site = load_site(path)
    assert (site.profile, site.wildcard, site.wsus_web_site, site.timezone) == (
        "cm2007",
        "subdomains",
        "default",
        "UTC",
    )
    assert site.servers[0].addresses == ("2001:db8::1",)  # normalized
    assert site.wsus_ports == {"http": 80, "https": 443}


def test_required_flows_compile_to_a_table():
    policy = load_policy(str(SAMPLES / "site.toml"))
    req = policy.required
    cas = req.filter(req["server"] == "CAS")
    assert cas.height == 11 and set(cas["kind"]) == {"allow-list"}
    assert set(zip(cas["entry"], cas["port"], strict=True)) >= {
        ("http://*.windowsupdate.com", 80),
        ("https://*.update.microsoft.com", 443),
    }
    hier = req.filter(req["kind"] == "hierarchy").select("server", "entry", "scheme", "port").rows()
    assert hier == [
        ("PRI1", "PRI1 -> CAS", "http", 8530),
        ("PRI1", "PRI1 -> CAS", "https", 8531),
        ("IBSUP", "IBSUP -> PRI1", "http", 8530),
        ("IBSUP", "IBSUP -> PRI1", "https", 8531),
    ]


@pytest.mark.parametrize(
    ("change", "key", "why"),
    [
        (('upstream = "CAS"', 'upstream = "CSA"'), "server[1].upstream", "unknown upstream 'CSA'; did you mean 'CAS'"),
        (('upstream = "microsoft-update"', 'upstream = "PRI1"'), "server[0].upstream", "cycle: CAS -> PRI1 -> CAS"),
        (('upstream = "CAS"', 'upstream = "PRI1"'), "server[1].upstream", "itself"),
        (('profile = "cm2007"', 'profile = "cm207"'), "profile", "did you mean 'cm2007'"),
        (('["192.0.2.20"]', '["192.0.2.300"]'), "server[1].addresses[0]", "'192.0.2.300' is not a valid IP address"),
        (('["192.0.2.20"]', '"192.0.2.20"'), "server[1].addresses", "must be a list"),
        (('["192.0.2.20"]', '["192.0.2.10"]'), "server[1]", "also belongs to server 'CAS'"),
        (('name = "PRI1"', 'name = "CAS"'), "server[1].name", "used twice"),
        (('role = "sup"', 'role = "wsus"'), "server[0].role", "'wsus' is not one of: sup, internet-sup"),
        (('wsus_web_site = "custom"', 'wsus_web_site = "8530"'), "wsus_web_site", "not one of: default, custom"),
        (('wsus_web_site = "custom"', 'wildcard = "all"'), "wildcard", "not one of: subdomains, apex"),
        (('wsus_web_site = "custom"', 'timezone = "Mars/Olympus"'), "timezone", "unknown time zone"),
        (('wsus_web_site = "custom"', 'clients = ["x"]'), "clients", "unknown key"),
        (('role = "sup"', 'rolle = "sup"'), "server[0].rolle", "unknown key"),
        (('fqdn = "sup-cas.corp.example.com"', 'fqdn = "*.corp.example.com"'), "server[0].fqdn", "not a pattern"),
        (('fqdn = "sup-cas.corp.example.com"', ""), "server[0].fqdn", "missing"),
        (
            ('wsus_web_site = "custom"', 'client_networks = ["10.0.0.0/33"]'),
            "client_networks[0]",
            "not a valid network",
        ),
    ],
)
def test_errors_name_file_key_and_problem(tmp_path, change, key, why):
    old, new = change
    assert old in BASE
    path = tmp_path / "site.toml"
    path.write_text(BASE.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(str(path))
    assert info.value.file == str(path)
    assert info.value.key == key
    assert why in str(info.value)


@pytest.mark.parametrize(
    ("allow", "key", "why"),
    [
        ('[[allow]]\nurl = "proxy.example.com:8080"\n', "allow[0]", "no scheme"),
        (
            '[[allow]]\nurl = "http://proxy.example.com"\naddresses = ["proxy"]\n',
            "allow[0].addresses[0]",
            "not a valid",
        ),
        ('[[allow]]\nlink = "http://proxy.example.com"\n', "allow[0].link", "unknown key"),
    ],
)
def test_allow_errors(tmp_path, allow, key, why):
    path = tmp_path / "site.toml"
    path.write_text(BASE + allow, encoding="utf-8")
    with pytest.raises(PolicyError, match=why) as info:
        load_site(path)
    assert info.value.key == key


def test_unreadable_site_files(tmp_path):
    with pytest.raises(PolicyError, match="cannot read site file"):
        load_site(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("profile = \n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_site(bad)
    empty = tmp_path / "empty.toml"
    empty.write_text('profile = "cm2007"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="at least one"):
        load_site(empty)
