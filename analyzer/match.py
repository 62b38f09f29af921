"""Match: a pure function of (flows, policy) that says what each in-scope flow is to the policy.

Host patterns are matched over the DISTINCT destination hosts only: each host's label suffixes
(``a.b.c`` → ``a.b.c``, ``b.c``, ``c``) are joined against the exact and ``*.`` pattern tables,
and the few patterns with a wildcard inside a label are tried as a regex over the distinct hosts.
The flows are then reduced to distinct keys (server, destination, scheme, port, ...), each key is
classified once, and the result is joined back: the cost grows with distinct hosts and keys, not
with lines.

Every in-scope flow gets a ``reason_code`` (see :data:`analyzer.verdicts.REASONS`) and the
``entry`` involved: the allow-list entry literal, or the hierarchy pair ``"PRI1 -> CAS"``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import polars as pl

from .flows import fold_host_expr
from .policy import MICROSOFT_UPDATE, Policy, hierarchy_pair
from .policy.patterns import PatternError, fold_host

_KEY = ("server", "direction_to_server", "src_server", "dst_server", "dst_host", "_dst_ip", "_src_ip")
_KEY += ("scheme", "dst_port", "protocol", "action")


def fold_hosts(hosts: pl.Series) -> pl.DataFrame:
    """Distinct hosts → ``host, folded`` (lower case, no trailing dot, IDNA for non-ASCII names)."""
    distinct = hosts.drop_nulls().unique()
    folded = distinct.to_frame("host").select(fold_host_expr(pl.col("host"))).to_series()
    frame = pl.DataFrame({"host": distinct, "folded": folded})
    non_ascii = frame.filter(~pl.col("folded").str.contains(r"^[\x00-\x7f]*$"))
    if non_ascii.height:  # rare in logs (proxies log the punycode form); fold those few in Python
        fixed = {h: _fold_or_keep(h) for h in non_ascii["host"].to_list()}
        frame = frame.with_columns(
            pl.col("host").replace_strict(fixed, default=pl.col("folded"), return_dtype=pl.String).alias("folded")
        )
    return frame


def _fold_or_keep(host: str) -> str:
    try:
        return fold_host(host)
    except PatternError:
        return host.lower()


def match_hosts(hosts: pl.Series, entries: pl.DataFrame, wildcard: str = "subdomains") -> pl.DataFrame:
    """Which entries cover which of ``hosts``: ``host, entry_id`` (many to many).

    ``entries`` is :attr:`analyzer.policy.Policy.entries` (``entry_id, kind, base, regex``).
    Example: ``match_hosts(pl.Series(["fe2.update.microsoft.com"]), policy.entries)``.
    """
    names = fold_hosts(hosts)
    labels = pl.col("folded").str.split(".")
    suffixes = (
        names.with_columns(pl.int_ranges(0, labels.list.len()).alias("depth"))
        .explode("depth")
        .with_columns(labels.list.slice(pl.col("depth")).list.join(".").alias("suffix"))
    )
    fixed = entries.filter(pl.col("kind") != "glob").select(
        "entry_id",
        pl.col("base"),
        pl.when(pl.col("kind") == "exact").then(0).otherwise(0 if wildcard == "apex" else 1).alias("min_depth"),
        pl.when(pl.col("kind") == "exact").then(0).otherwise(1 << 30).alias("max_depth"),
    )
    hits = [
        suffixes.join(fixed, left_on="suffix", right_on="base", how="inner")
        .filter(pl.col("depth").is_between(pl.col("min_depth"), pl.col("max_depth")))
        .select("host", "entry_id")
    ]
    for row in entries.filter(pl.col("kind") == "glob").iter_rows(named=True):
        # A handful of patterns, each one regex pass over the distinct hosts.
        hit = names.filter(pl.col("folded").str.contains(f"^{row['regex']}$"))
        hits.append(hit.select("host", pl.lit(row["entry_id"], pl.Int32).alias("entry_id")))
    return pl.concat(hits).unique().sort("host", "entry_id")


def _key_exprs() -> list[pl.Expr]:
    """The key columns, masked to null outside scope (so out-of-scope flows share one key)."""
    in_scope = pl.col("server").is_not_null()
    ip_only = pl.col("dst_host").is_null()
    inbound = pl.col("direction_to_server") == "inbound"
    plain = ("server", "direction_to_server", "src_server", "dst_server", "dst_host", "scheme", "dst_port")
    exprs = {c: pl.when(in_scope).then(pl.col(c)) for c in plain}
    exprs["protocol"] = pl.when(in_scope).then(pl.col("protocol").str.to_lowercase())
    # The action does not change the match, but carrying it lets the verdict be decided per key too.
    exprs["action"] = pl.when(in_scope).then(pl.col("action").cast(pl.String))
    exprs["_dst_ip"] = pl.when(in_scope & ip_only).then(pl.col("dst_ip"))
    exprs["_src_ip"] = pl.when(in_scope & inbound).then(pl.col("src_ip"))
    return [exprs[c].alias(f"_key{c}") for c in _KEY]


def _fits(scheme: pl.Expr, port: pl.Expr, want_scheme: pl.Expr, want_port: pl.Expr) -> pl.Expr:
    """A flow fits an entry's scheme and port; an unknown scheme or port does not disqualify."""
    return (scheme.is_null() | (scheme == want_scheme)) & (port.is_null() | (port == want_port))


def _best(cands: pl.DataFrame, cond: pl.Expr, name: str) -> pl.DataFrame:
    return (
        cands.filter(cond)
        .sort("_k", "specificity", "entry_id", descending=[False, True, False])
        .group_by("_k", maintain_order=True)
        .agg(pl.col("entry").first().alias(name))
    )


def classify_keys(keys: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Classify distinct flow keys: adds ``reason_code`` and ``entry``. See :func:`match`."""
    keys = keys.with_row_index("_k")
    entries = policy.entries
    hm = match_hosts(keys["dst_host"], entries, policy.wildcard)
    cands = (
        keys.select("_k", "dst_host", "scheme", "dst_port")
        .join(hm, left_on="dst_host", right_on="host", how="inner")
        .join(entries.rename({"scheme": "e_scheme", "port": "e_port"}), on="entry_id", how="inner")
        .with_columns(_fits(pl.col("scheme"), pl.col("dst_port"), pl.col("e_scheme"), pl.col("e_port")).alias("fits"))
    )
    is_profile, is_allow = pl.col("set") == "profile", pl.col("set") == "allow"
    found = [
        _best(cands, is_profile & pl.col("fits"), "_req"),
        _best(cands, is_allow & pl.col("fits"), "_allow"),
        _best(cands, (is_profile | is_allow) & ~pl.col("fits"), "_listed"),
        _best(cands, pl.col("set") == "other-role", "_other"),
    ]
    for frame in found:
        keys = keys.join(frame, on="_k", how="left")

    # Peer ports of other roles (Delivery Optimization 7680/tcp, Teredo 3544/udp).
    peer = policy.peer_ports.select(
        pl.col("protocol"),
        pl.col("port").alias("dst_port"),
        (pl.col("profile") + ": " + pl.col("entry")).alias("_peer"),
    )
    keys = keys.join(peer.unique(["protocol", "dst_port"]), on=["protocol", "dst_port"], how="left")
    # Addresses of the site's [[allow]] entries, for IP-only flows (or hosts written as addresses).
    allow_addr = policy.allow_addresses
    keys = keys.with_columns(pl.coalesce("_dst_ip", "dst_host").alias("_addr"))
    keys = keys.join(
        allow_addr.select(
            pl.col("address").alias("_addr"),
            pl.col("scheme").alias("_a_scheme"),
            pl.col("port").alias("_a_port"),
            pl.col("entry").alias("_allow_addr"),
        ).unique("_addr"),
        on="_addr",
        how="left",
    )
    allow_addr_fits = pl.col("_allow_addr").is_not_null() & _fits(
        pl.col("scheme"), pl.col("dst_port"), pl.col("_a_scheme"), pl.col("_a_port")
    )
    # Servers: upstreams and WSUS ports, for hierarchy flows and inbound connections.
    servers = pl.DataFrame(
        [(s.name, s.upstream) for s in policy.site.servers],
        schema={"_name": pl.String, "_upstream": pl.String},
        orient="row",
    )
    keys = keys.join(servers.rename({"_name": "src_server", "_upstream": "_src_up"}), on="src_server", how="left")
    keys = keys.join(servers.rename({"_name": "dst_server", "_upstream": "_dst_up"}), on="dst_server", how="left")
    keys = keys.join(_client_ok(keys, policy), on=["_src_ip", "dst_server"], how="left").with_columns(
        pl.col("_client").fill_null(False)
    )
    wsus = policy.site.wsus_ports
    on_wsus_port = _fits(pl.col("scheme"), pl.col("dst_port"), pl.lit("http"), pl.lit(wsus["http"])) | _fits(
        pl.col("scheme"), pl.col("dst_port"), pl.lit("https"), pl.lit(wsus["https"])
    )
    top = pl.col("_src_up") == MICROSOFT_UPDATE
    outbound = pl.col("direction_to_server") == "outbound"
    to_server = outbound & pl.col("dst_server").is_not_null()
    ip_only = pl.col("dst_host").is_null()
    up_pair = pl.col("src_server") + pl.lit(" -> ") + pl.col("dst_server")
    down_pair = pl.col("dst_server") + pl.lit(" -> ") + pl.col("src_server")
    code = (
        pl.when(pl.col("server").is_null())
        .then(pl.lit(None, pl.String))
        .when(pl.col("direction_to_server") == "inbound")
        .then(pl.when(pl.col("_client") & on_wsus_port).then(pl.lit("client-service")).otherwise(pl.lit("inbound")))
        .when(to_server & (pl.col("_src_up") == pl.col("dst_server")))
        .then(pl.when(on_wsus_port).then(pl.lit("required-hierarchy")).otherwise(pl.lit("scheme-port")))
        .when(to_server & (pl.col("_dst_up") == pl.col("src_server")))
        .then(pl.lit("against-sync"))
        .when(to_server)
        .then(pl.lit("not-listed"))
        .when(pl.col("_req").is_not_null())
        .then(pl.when(top).then(pl.lit("required-entry")).otherwise(pl.lit("not-required-here")))
        .when(pl.col("_allow").is_not_null() | allow_addr_fits)
        .then(pl.lit("permitted"))
        .when(pl.col("_listed").is_not_null() | pl.col("_allow_addr").is_not_null())
        .then(pl.lit("scheme-port"))
        .when(pl.col("_other").is_not_null() | pl.col("_peer").is_not_null())
        .then(pl.lit("other-role"))
        .when(ip_only & pl.col("_dst_ip").is_null())
        .then(pl.lit("no-destination"))
        .when(ip_only)
        .then(pl.lit("no-evidence"))
        .otherwise(pl.lit("not-listed"))
    )
    entry = (
        pl.when(pl.col("server").is_null())
        .then(pl.lit(None, pl.String))
        .when(pl.col("direction_to_server") == "inbound")
        .then(pl.lit(None, pl.String))
        .when(to_server & (pl.col("_src_up") == pl.col("dst_server")))
        .then(up_pair)
        .when(to_server & (pl.col("_dst_up") == pl.col("src_server")))
        .then(down_pair)
        .when(to_server)
        .then(pl.lit(None, pl.String))
        .otherwise(pl.coalesce("_req", "_allow", "_allow_addr", "_listed", "_other", "_peer"))
    )
    return keys.with_columns(code.alias("reason_code"), entry.alias("entry"))


def _client_ok(keys: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Whether an inbound key's source lies in the destination server's client networks:
    ``_src_ip, dst_server, _client`` for the distinct inbound (source, server) pairs."""
    pairs = keys.select("_src_ip", "dst_server").filter(pl.col("_src_ip").is_not_null()).unique()
    nets = {s.name: [ipaddress.ip_network(n) for n in s.client_networks] for s in policy.site.servers}
    ok = []
    for src, server in pairs.iter_rows():  # distinct inbound (source, server) pairs only
        try:
            addr = ipaddress.ip_address(src.strip("[]").removeprefix("::ffff:"))
        except ValueError:
            ok.append(False)
            continue
        ok.append(any(addr.version == n.version and addr in n for n in nets.get(server, ())))
    return pairs.with_columns(pl.Series("_client", ok, dtype=pl.Boolean))


def match(flows: pl.DataFrame, policy: Policy, *, then: Callable[[pl.DataFrame], pl.DataFrame] | None = None):
    """Add ``reason_code`` and ``entry`` to scoped flows (see :func:`analyzer.scope.scope`).

    Out-of-scope flows get nulls. ``then`` may add columns computed from the classified distinct
    keys (which carry ``server``, ``action``, ``reason_code``, ``entry``) before they are joined
    back, so per-flow work such as the verdict is done once per key, not once per line.

    Example::

        matched = match(scope(flows, policy.site), policy)
        matched.group_by("reason_code").len()
    """
    key_names = [f"_key{c}" for c in _KEY]
    rename_back = dict(zip(_KEY, key_names, strict=True))

    def classify(keys: pl.DataFrame) -> pl.DataFrame:
        out = classify_keys(keys, policy).select(*_KEY, "reason_code", "entry")
        return (then(out) if then is not None else out).rename(rename_back)

    # Only in-scope flows are keyed and joined (usually a small share of a proxy log); the others
    # all get the answer for the all-null key, filled in without a join.
    in_scope = flows["server"].is_not_null()
    inside = flows.filter(in_scope).with_columns(_key_exprs())
    keys = inside.select(key_names).unique().rename(dict(zip(key_names, _KEY, strict=True)))
    # The all-null key (no server) is classified with the others: one pass of the ~50 small
    # joins and expressions of classify_keys per batch, not two (a third of match's time).
    null_key = pl.DataFrame([[None] * len(_KEY)], schema=keys.schema, orient="row")
    both = classify(pl.concat([keys, null_key]))
    out_of_scope = pl.col("_keyserver").is_null()
    classified, outside = both.filter(~out_of_scope), both.filter(out_of_scope)
    added = [c for c in classified.columns if c not in key_names]
    joined = inside.join(classified, on=key_names, how="left", nulls_equal=True, maintain_order="left")
    if joined.height == flows.height:
        return flows.with_columns(joined.select(added))
    rows = in_scope.arg_true()
    columns = []
    for name in added:
        default = pl.repeat(outside[name][0], flows.height, dtype=classified.schema[name], eager=True)
        columns.append(default.scatter(rows, joined[name]).alias(name))
    return flows.with_columns(columns)


__all__ = ["classify_keys", "fold_hosts", "hierarchy_pair", "match", "match_hosts"]
