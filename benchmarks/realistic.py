"""A realistic population of hosts and clients for the high-cardinality benchmark generators.

What the low-cardinality generators (``gen_squid.py``: 128 hosts, 142 clients) hide: a real
proxy or firewall sees tens of thousands of destination hosts, most of them rare, many of them
subdomains of the same registrable domains (``cdn3.shop42.co.uk``, ``img.shop42.co.uk``),
thousands of clients, and URL paths that are nearly all distinct. This module draws that
population once, reproducibly from a seed:

* ``N_HOSTS`` (60,000) destination hosts over ``N_DOMAINS`` registrable domains under a mix of
  public suffixes (``com``, ``co.uk``, ``com.au`` ...), picked with Zipf popularity (``s`` = 1);
* their addresses in 198.18.0.0/15 (RFC 2544, the range reserved for benchmarks), some shared
  as CDN addresses are, and Microsoft's update hosts (with their subdomains) beside them;
* ``N_CLIENTS`` (3,200) clients in 10.20.0.0/16, and the update servers of
  ``data/samples/site.toml`` (192.0.2.10, 192.0.2.20, 198.51.100.30), which reach Microsoft
  hosts mostly (``SERVER_MICROSOFT``) and any of the other hosts sometimes.

Everything is vectorized (numpy draws, polars string building), so 20M lines take about a
minute to write. Example: ``pop = population(0); pick_hosts(pop, rng, 10)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

N_DOMAINS = 9_000
N_HOSTS = 60_000
N_CLIENTS = 3_200
ZIPF_S = 1.0
SERVERS = ("192.0.2.10", "192.0.2.20", "198.51.100.30")
SERVER_SHARE = 0.12
"""Share of lines from the update servers (the rest are clients)."""
SERVER_MICROSOFT = 0.7
"""Share of the servers' lines that go to Microsoft update hosts."""

SUFFIXES = (
    ("com", 40),
    ("net", 12),
    ("org", 8),
    ("io", 4),
    ("de", 6),
    ("fr", 3),
    ("nl", 2),
    ("co.uk", 6),
    ("org.uk", 1),
    ("com.au", 3),
    ("co.jp", 3),
    ("com.br", 3),
    ("info", 2),
    ("cloudfront.net", 2),  # a private PSL suffix: each subdomain is its own registrable domain
    ("blogspot.com", 1),
)
LABELS = ("www", "cdn", "api", "img", "static", "edge", "s", "assets", "media", "login", "telemetry", "m")
MICROSOFT = (
    "www.update.microsoft.com",
    "fe2.update.microsoft.com",
    "sws.update.microsoft.com",
    "fe3.delivery.mp.microsoft.com",
    "download.windowsupdate.com",
    "au.download.windowsupdate.com",
    "ctldl.windowsupdate.com",
    "dl.delivery.mp.microsoft.com",
    "download.microsoft.com",
    "windowsupdate.microsoft.com",
    *(f"{i}.au.download.windowsupdate.com" for i in range(1, 9)),
    *(f"{i}.tlu.dl.delivery.mp.microsoft.com" for i in range(1, 9)),
)


@dataclass(frozen=True)
class Population:
    """Hosts (by popularity rank), their addresses, their Zipf weights, clients and servers."""

    hosts: np.ndarray
    host_ips: np.ndarray
    weights: np.ndarray
    cumulative: np.ndarray
    microsoft: np.ndarray
    microsoft_ips: np.ndarray
    clients: np.ndarray


def _ip(i: np.ndarray) -> np.ndarray:
    """Addresses in 198.18.0.0/15 from integers 0 .. 131,071."""
    i = i % 131_072
    return np.char.add(
        np.char.add(
            np.char.add("198.", (18 + i // 65_536).astype(str)), np.char.add(".", ((i // 256) % 256).astype(str))
        ),
        np.char.add(".", (i % 256).astype(str)),
    )


def zipf_weights(n: int, s: float = ZIPF_S) -> np.ndarray:
    """Normalized Zipf weights of ranks 1..n."""
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def population(seed: int = 0) -> Population:
    """The hosts, addresses and clients of a benchmark, the same for the same seed."""
    rng = np.random.default_rng(seed)
    names, weights = zip(*SUFFIXES, strict=True)
    p = np.array(weights, float) / sum(weights)
    suffix = rng.choice(np.array(names), N_DOMAINS, p=p)
    domains = np.char.add(np.char.add("d", np.arange(N_DOMAINS).astype(str)), np.char.add("-site.", suffix))
    # Popular domains have many subdomains: each host's domain is a Zipf draw over domains.
    dom = rng.choice(N_DOMAINS, N_HOSTS, p=zipf_weights(N_DOMAINS))
    label = rng.choice(np.array(LABELS), N_HOSTS)
    hosts = np.char.add(np.char.add(np.char.add(label, np.arange(N_HOSTS).astype(str)), "."), domains[dom])
    # One host in ten is the domain's apex (the first host of each domain keeps its label).
    apex = rng.random(N_HOSTS) < 0.1
    hosts = np.where(apex, domains[dom], hosts)
    hosts = np.unique(hosts)
    rng.shuffle(hosts)  # popularity rank is not the order of creation
    # CDN-style sharing: one address in four is shared by ~8 hosts.
    addr = np.arange(len(hosts))
    shared = rng.random(len(hosts)) < 0.25
    addr = np.where(shared, addr // 8, addr)
    clients = np.char.add(
        np.char.add("10.20.", (np.arange(N_CLIENTS) // 250).astype(str)),
        np.char.add(".", (np.arange(N_CLIENTS) % 250 + 1).astype(str)),
    )
    microsoft = np.array(MICROSOFT)
    return Population(
        hosts=hosts,
        host_ips=_ip(addr + 4096),
        weights=zipf_weights(len(hosts)),
        cumulative=np.cumsum(zipf_weights(len(hosts))),
        microsoft=microsoft,
        microsoft_ips=_ip(np.arange(len(microsoft))),
        clients=clients,
    )


def pick_hosts(pop: Population, rng: np.random.Generator, n: int) -> tuple[pl.Series, pl.Series, pl.Series]:
    """``n`` draws of (source address, host name, host address): clients with Zipf popularity
    (5 % of their lines to Microsoft), the update servers to Microsoft hosts mostly and otherwise
    uniformly over all hosts (thousands of distinct rare destinations: the findings of a real
    site). Drawn as indices, gathered as polars strings (numpy's fixed-width text is slow)."""
    from_server = rng.random(n) < SERVER_SHARE
    to_microsoft = (from_server & (rng.random(n) < SERVER_MICROSOFT)) | (~from_server & (rng.random(n) < 0.05))
    sources = pl.Series([*SERVERS, *pop.clients.tolist()])
    src = np.where(from_server, rng.integers(0, len(SERVERS), n), len(SERVERS) + rng.integers(0, len(pop.clients), n))
    # Zipf draws by inverting the cumulative weights (rng.choice with p does the same, slower).
    zipf = np.minimum(np.searchsorted(pop.cumulative, rng.random(n)), len(pop.hosts) - 1)
    idx = np.where(from_server, rng.integers(0, len(pop.hosts), n), zipf)
    # Microsoft hosts follow the others in one table, so one gather serves both.
    names = pl.Series([*pop.hosts.tolist(), *pop.microsoft.tolist()])
    ips = pl.Series([*pop.host_ips.tolist(), *pop.microsoft_ips.tolist()])
    idx = np.where(to_microsoft, len(pop.hosts) + rng.integers(0, len(pop.microsoft), n), idx)
    return sources.gather(src), names.gather(idx), ips.gather(idx)
