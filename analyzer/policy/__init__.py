"""The policy: a site file plus its allow-list profile, compiled to tables.

``load_policy("site.toml")`` reads the site, loads its profile (or ``profile=`` overriding it)
and the adjacent lists of other Microsoft roles, and offers the policy as polars tables:
:meth:`Policy.entries` (every host pattern, one row each) and :meth:`Policy.required` (the flows
each server must be able to make: allow-list entries for servers that synchronize from Microsoft
Update, hierarchy pairs on the WSUS ports for the others).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import polars as pl

from ..errors import PolicyError, UnknownNameError
from .patterns import fold_host, parse_host, parse_target
from .profiles import DEFAULT_PROFILE, Entry, PortEntry, Profile, builtin_names, diff_profiles, load_profile
from .site import MICROSOFT_UPDATE, Allow, Server, Site, load_site, parse_site

__all__ = [
    "DEFAULT_PROFILE",
    "MICROSOFT_UPDATE",
    "Allow",
    "Entry",
    "Policy",
    "PortEntry",
    "Profile",
    "Server",
    "Site",
    "builtin_names",
    "diff_profiles",
    "fold_host",
    "load_policy",
    "load_profile",
    "load_site",
    "parse_host",
    "parse_site",
    "parse_target",
]

ENTRY_SETS = ("profile", "allow", "other-role")
"""Where a host pattern comes from: the site's profile, the site's ``[[allow]]`` list, or an
adjacent list of another Microsoft role (``wu-client``, ``delivery-optimization``)."""


@dataclass(frozen=True)
class Policy:
    """A site with its profile and the adjacent lists. Example::

    policy = load_policy("data/samples/site.toml")
    policy.profile.name, policy.wildcard, policy.required()
    """

    site: Site
    profile: Profile
    others: tuple[Profile, ...] = ()

    @property
    def wildcard(self) -> str:
        return self.site.wildcard

    @property
    def servers(self) -> tuple[Server, ...]:
        return self.site.servers

    def all_entries(self) -> list[tuple[str, str, Entry]]:
        """(set, profile name, entry) for every host pattern, the site's profile first."""
        rows = [("profile", self.profile.name, e) for e in self.profile.entries]
        rows += [("allow", "site", a.entry) for a in self.site.allow]
        for other in self.others:
            rows += [("other-role", other.name, e) for e in other.entries]
        return rows

    @cached_property
    def entries(self) -> pl.DataFrame:
        """One row per host pattern: ``entry_id, set, profile, entry`` (label), ``scheme, port,
        kind, base, regex, specificity`` (higher = more specific, to pick the best of several)."""
        rows = []
        for i, (kind_set, profile, e) in enumerate(self.all_entries()):
            p = e.target.host
            rank = {"exact": 2, "glob": 1, "subdomains": 0}[p.kind]
            rows.append(
                {
                    "entry_id": i,
                    "set": kind_set,
                    "profile": profile,
                    "entry": e.label,
                    "scheme": e.scheme,
                    "port": e.port,
                    "kind": p.kind,
                    "base": p.base,
                    "regex": p.regex,
                    "specificity": rank * 1000 + len(p.base),
                }
            )
        schema = {
            "entry_id": pl.Int32,
            "set": pl.String,
            "profile": pl.String,
            "entry": pl.String,
            "scheme": pl.String,
            "port": pl.Int32,
            "kind": pl.String,
            "base": pl.String,
            "regex": pl.String,
            "specificity": pl.Int32,
        }
        return pl.DataFrame(rows, schema=schema)

    @cached_property
    def peer_ports(self) -> pl.DataFrame:
        """Ports other roles use towards peers: ``protocol, port, profile, entry``."""
        rows = [
            {"protocol": p.protocol, "port": p.port, "profile": o.name, "entry": p.label}
            for o in (self.profile, *self.others)
            for p in o.ports
        ]
        schema = {"protocol": pl.String, "port": pl.Int32, "profile": pl.String, "entry": pl.String}
        return pl.DataFrame(rows, schema=schema)

    @cached_property
    def allow_addresses(self) -> pl.DataFrame:
        """Addresses of the site's ``[[allow]]`` entries: ``address, scheme, port, entry``."""
        rows = [
            {"address": addr, "scheme": a.entry.scheme, "port": a.entry.port, "entry": a.entry.label}
            for a in self.site.allow
            for addr in a.addresses
        ]
        schema = {"address": pl.String, "scheme": pl.String, "port": pl.Int32, "entry": pl.String}
        return pl.DataFrame(rows, schema=schema)

    @cached_property
    def required(self) -> pl.DataFrame:
        """The required flows: ``server, entry, kind`` ("allow-list" | "hierarchy"),
        ``scheme, port, entry_id`` (allow-list) and ``upstream`` (hierarchy parent).

        A server synchronizing from Microsoft Update must reach every profile entry over its
        scheme; a server synchronizing from another server must reach that server over http and
        https on the WSUS ports of ``wsus_web_site``.
        """
        rows = []
        for s in self.site.servers:
            if s.upstream == MICROSOFT_UPDATE:
                for i, e in enumerate(self.profile.entries):
                    rows.append(
                        {
                            "server": s.name,
                            "entry": e.label,
                            "kind": "allow-list",
                            "scheme": e.scheme,
                            "port": e.port,
                            "entry_id": i,
                            "upstream": None,
                        }
                    )
            else:
                for scheme, port in self.site.wsus_ports.items():
                    rows.append(
                        {
                            "server": s.name,
                            "entry": hierarchy_pair(s.name, s.upstream),
                            "kind": "hierarchy",
                            "scheme": scheme,
                            "port": port,
                            "entry_id": None,
                            "upstream": s.upstream,
                        }
                    )
        schema = {
            "server": pl.String,
            "entry": pl.String,
            "kind": pl.String,
            "scheme": pl.String,
            "port": pl.Int32,
            "entry_id": pl.Int32,
            "upstream": pl.String,
        }
        return pl.DataFrame(rows, schema=schema)


def hierarchy_pair(child: str, parent: str) -> str:
    """The name of a synchronization pair, child first: ``"PRI1 -> CAS"``."""
    return f"{child} -> {parent}"


def load_policy(site: str | Site, profile: str | None = None) -> Policy:
    """Load a site file (or take a :class:`Site`) with its profile, or ``profile`` instead.

    The adjacent lists are every built-in profile whose role is not ``update-server``, except the
    chosen profile itself. Example: ``load_policy("data/samples/site.toml").profile.name``.
    """
    site_obj = load_site(site) if isinstance(site, str) else site
    name = profile or site_obj.profile
    try:
        chosen = load_profile(name, site_file=site_obj.file)
    except UnknownNameError as exc:
        if profile:  # from --profile: the user knows which flag
            raise
        raise PolicyError(str(exc), file=site_obj.file, key="profile") from None
    others = tuple(
        load_profile(n) for n in builtin_names() if n != chosen.name and load_profile(n).role != "update-server"
    )
    return Policy(site=site_obj, profile=chosen, others=others)
