"""Keep network allow-lists equal to a selection of the published AWS IP ranges.

Runs on the ``AmazonIpSpaceChanged`` SNS topic
(``arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged``) and on a schedule (SNS delivery
is not guaranteed). Each run downloads
``https://ip-ranges.amazonaws.com/ip-ranges.json``, selects the prefixes of the configured services
and regions, collapses them, and brings every configured target to exactly that set: adds first,
removes last, with the fewest write calls the APIs allow. The applied document is stored in S3 only
after every target succeeded.

Environment contract (set by the ``IpRangeSync`` component; every value is a plain string)
-----------------------------------------------------------------------------------------
``SERVICES``             required. Comma list of ip-ranges.json ``service`` values, e.g.
                         ``CLOUDFRONT`` or ``EC2,S3`` (case-insensitive).
``REGIONS``              comma list of ``region`` values (``GLOBAL`` is one); empty = every region.
``IPV6``                 ``true`` / ``false`` (default ``false``): also select ``ipv6_prefixes``.
``PREFIX_LIST_IPV4_ID``  ``pl-...`` of a customer-managed IPv4 prefix list owned by this function;
                         empty = target off.
``PREFIX_LIST_IPV6_ID``  same for IPv6 (requires ``IPV6=true``).
``SECURITY_GROUP_IDS``   comma list of ``sg-...``: a pool of pre-created groups (same VPC); empty =
                         target off. Only ingress rules whose description is ``MARKER`` are touched.
``PORTS``                comma list of TCP ports for the security group rules (default ``443``).
``RULES_PER_GROUP``      inbound rules quota per group and per address family (default ``60``).
``WAF_IPV4_SET``         ``name|id|scope`` of a WAFv2 IPv4 IP set (scope ``CLOUDFRONT`` or
                         ``REGIONAL``); empty = target off. CLOUDFRONT sets are called in us-east-1.
``WAF_IPV6_SET``         same for IPv6 (requires ``IPV6=true``).
``STATE_BUCKET``         required. Bucket holding the last applied document.
``STATE_KEY``            object key (default ``ip-range-sync/ip-ranges.json``); the object body is
                         the document; its metadata ``synctoken`` / ``md5`` is read by HeadObject.

Refusals: a foreign URL or a syncToken not newer than the stored one *return* (a retry cannot help);
a wrong MD5 or an unparsable document *raise* ``DocumentRejected`` (may be a truncated download, so
the SNS/Lambda retries and the on-failure destination fire). Failures while applying also raise.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import math
import os
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

IP_RANGES_URL = "https://ip-ranges.amazonaws.com/ip-ranges.json"
MARKER = "lambda-exposure:ip-range-sync"
DEFAULT_STATE_KEY = "ip-range-sync/ip-ranges.json"
PREFIX_LIST_BATCH = (
    100  # botocore ec2 model: AddPrefixListEntries / RemovePrefixListEntries max 100
)
WAF_MAX_ATTEMPTS = 5
PREFIX_LIST_WAIT_SECONDS = 120.0
PREFIX_LIST_POLL_SECONDS = 1.0
FETCH_TIMEOUT_SECONDS = 20

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Indirection so tests can make waiting instantaneous.
_sleep = time.sleep


class ConfigError(ValueError):
    """The environment contract is not met."""


class DocumentRejected(Exception):
    """The downloaded document failed an integrity check (retryable: raised)."""


class PoolTooSmall(Exception):
    """The security group pool cannot hold the selection; raised before any write."""


# --------------------------------------------------------------------------- configuration


def _csv(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


@dataclass(frozen=True)
class WafSet:
    name: str
    id: str
    scope: str

    @classmethod
    def parse(cls, var: str, value: str) -> WafSet | None:
        if not value.strip():
            return None
        parts = [p.strip() for p in value.split("|")]
        if len(parts) != 3 or not all(parts) or parts[2] not in ("CLOUDFRONT", "REGIONAL"):
            raise ConfigError(
                f"{var}: {value!r} is not 'name|id|scope' with scope CLOUDFRONT|REGIONAL"
            )
        return cls(*parts)


@dataclass(frozen=True)
class Config:
    services: tuple[str, ...]
    regions: tuple[str, ...] = ()
    ipv6: bool = False
    prefix_list_ipv4_id: str = ""
    prefix_list_ipv6_id: str = ""
    security_group_ids: tuple[str, ...] = ()
    ports: tuple[int, ...] = (443,)
    rules_per_group: int = 60
    waf_ipv4_set: WafSet | None = None
    waf_ipv6_set: WafSet | None = None
    state_bucket: str = ""
    state_key: str = DEFAULT_STATE_KEY

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        services = tuple(s.upper() for s in _csv(env.get("SERVICES")))
        if not services:
            raise ConfigError("SERVICES: at least one ip-ranges.json service is required")
        ipv6_raw = env.get("IPV6", "false").strip().lower() or "false"
        if ipv6_raw not in ("true", "false"):
            raise ConfigError(f"IPV6: {ipv6_raw!r} is not true|false")
        ipv6 = ipv6_raw == "true"
        try:
            ports = tuple(int(p) for p in _csv(env.get("PORTS", "443")))
        except ValueError as exc:
            raise ConfigError(f"PORTS: {env.get('PORTS')!r} is not a comma list of ports") from exc
        if any(not 0 <= p <= 65535 for p in ports):
            raise ConfigError(f"PORTS: {env.get('PORTS')!r} has a port outside 0-65535")
        try:
            rules_per_group = int(env.get("RULES_PER_GROUP", "60") or "60")
        except ValueError as exc:
            raise ConfigError(
                f"RULES_PER_GROUP: {env.get('RULES_PER_GROUP')!r} is not an int"
            ) from exc
        groups = tuple(_csv(env.get("SECURITY_GROUP_IDS")))
        if groups and not ports:
            raise ConfigError("PORTS: required when SECURITY_GROUP_IDS is set")
        if groups and rules_per_group < len(ports):
            raise ConfigError(f"RULES_PER_GROUP: {rules_per_group} < {len(ports)} ports")
        cfg = cls(
            services=services,
            regions=tuple(_csv(env.get("REGIONS"))),
            ipv6=ipv6,
            prefix_list_ipv4_id=env.get("PREFIX_LIST_IPV4_ID", "").strip(),
            prefix_list_ipv6_id=env.get("PREFIX_LIST_IPV6_ID", "").strip(),
            security_group_ids=groups,
            ports=ports,
            rules_per_group=rules_per_group,
            waf_ipv4_set=WafSet.parse("WAF_IPV4_SET", env.get("WAF_IPV4_SET", "")),
            waf_ipv6_set=WafSet.parse("WAF_IPV6_SET", env.get("WAF_IPV6_SET", "")),
            state_bucket=env.get("STATE_BUCKET", "").strip(),
            state_key=env.get("STATE_KEY", "").strip() or DEFAULT_STATE_KEY,
        )
        if not cfg.state_bucket:
            raise ConfigError("STATE_BUCKET: required")
        if not ipv6 and (cfg.prefix_list_ipv6_id or cfg.waf_ipv6_set):
            raise ConfigError("IPV6: an IPv6 target is configured but IPV6 is not 'true'")
        return cfg


# --------------------------------------------------------------------------- document


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The document comes from one URL; a redirect elsewhere is refused, not followed (a
    scheduled run has no md5 to catch a document served by another host)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        raise ValueError(f"refusing redirect {code} from {req.full_url} to {newurl!r}")


_OPENER = urllib.request.build_opener(_NoRedirects)


def fetch_ranges(url: str) -> bytes:
    """The only download in this module (tests patch it)."""
    if url != IP_RANGES_URL:
        raise ValueError(f"refusing to download {url!r}")
    with _OPENER.open(url, timeout=FETCH_TIMEOUT_SECONDS) as resp:
        return resp.read()


@dataclass(frozen=True)
class Notification:
    url: str
    md5: str | None
    synctoken: int | None
    create_time: str | None


def parse_event(event: Any) -> Notification | None:
    """The SNS notification, or None for a scheduled / empty invocation."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not records:
        return None
    sns = records[0].get("Sns") or {}
    try:
        message = json.loads(sns.get("Message") or "")
    except json.JSONDecodeError as exc:
        raise DocumentRejected(f"SNS message is not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise DocumentRejected("SNS message is not a JSON object")
    if not message.get("md5"):
        # AWS always sends one; without it the download could not be verified.
        raise DocumentRejected("SNS message has no md5: the document could not be verified")
    token = message.get("synctoken")
    try:
        token = int(token) if token not in (None, "") else None
    except (TypeError, ValueError):
        token = None
    return Notification(
        url=str(message.get("url") or ""),
        md5=(str(message["md5"]).lower() if message.get("md5") else None),
        synctoken=token,
        create_time=message.get("create-time"),
    )


@dataclass(frozen=True)
class Document:
    sync_token: int
    create_date: str
    prefixes: list[dict[str, Any]]
    ipv6_prefixes: list[dict[str, Any]]


def parse_document(body: bytes) -> Document:
    try:
        data = json.loads(body)
        doc = Document(
            sync_token=int(data["syncToken"]),
            create_date=str(data.get("createDate", "")),
            prefixes=list(data["prefixes"]),
            ipv6_prefixes=list(data.get("ipv6_prefixes", [])),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise DocumentRejected(f"ip-ranges document is malformed: {exc!r}") from exc
    return doc


def md5_hex(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def select_networks(
    doc: Document,
    services: Iterable[str],
    regions: Iterable[str] = (),
    ipv6: bool = False,
    collapse: bool = True,
) -> tuple[list[ipaddress.IPv4Network], list[ipaddress.IPv6Network]]:
    """Prefixes of the services in the regions (all when empty), collapsed, sorted."""
    svc = {s.upper() for s in services}
    reg = {r.lower() for r in regions}

    def pick(items: list[dict[str, Any]], key: str) -> set[str]:
        return {
            p[key]
            for p in items
            if p.get("service", "").upper() in svc
            and (not reg or p.get("region", "").lower() in reg)
        }

    v4 = [ipaddress.IPv4Network(c, strict=False) for c in pick(doc.prefixes, "ip_prefix")]
    v6 = (
        [ipaddress.IPv6Network(c, strict=False) for c in pick(doc.ipv6_prefixes, "ipv6_prefix")]
        if ipv6
        else []
    )
    if collapse:
        return list(ipaddress.collapse_addresses(v4)), list(ipaddress.collapse_addresses(v6))
    return sorted(set(v4)), sorted(set(v6))


def norm(cidr: str) -> str:
    return str(ipaddress.ip_network(cidr, strict=False))


def chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


# --------------------------------------------------------------------------- pure planners


@dataclass
class PrefixListPlan:
    adds: list[str]
    removes: list[str]
    calls: list[tuple[list[str], list[str]]]  # (add entries, remove entries) per modify call
    grow_to: int | None  # MaxEntries to set (separate call, first), None = large enough

    @property
    def write_calls(self) -> int:
        return len(self.calls) + (1 if self.grow_to else 0)


def plan_prefix_list(
    current: Iterable[str], desired: Iterable[str], max_entries: int, batch: int = PREFIX_LIST_BATCH
) -> PrefixListPlan:
    """Add batches first; the last add call also carries the first remove batch (one version, so
    the list never lacks a desired entry); the remaining removes follow."""
    cur = {norm(c) for c in current}
    want = {norm(c) for c in desired}
    adds = sorted(want - cur, key=ipaddress.ip_network)
    removes = sorted(cur - want, key=ipaddress.ip_network)
    add_batches, remove_batches = chunks(adds, batch), chunks(removes, batch)
    calls: list[tuple[list[str], list[str]]] = [(b, []) for b in add_batches]
    if calls and remove_batches:
        calls[-1] = (calls[-1][0], remove_batches.pop(0))
    calls += [([], b) for b in remove_batches]
    size, peak = len(cur), len(cur)
    for add, rem in calls:
        size += len(add) - len(rem)
        peak = max(peak, size)
    grow_to = peak if calls and peak > max_entries else None
    return PrefixListPlan(adds, removes, calls, grow_to)


@dataclass
class GroupState:
    """Live ingress rules of one security group, as far as planning needs them."""

    group_id: str
    managed: dict[int, dict[str, set[int]]]  # family -> cidr -> ports with a MARKER rule
    other_rules: dict[int, int]  # family -> number of rules this function does not manage
    other_keys: set[tuple[str, int]] = field(default_factory=set)  # (cidr, port) unmanaged tcp


@dataclass
class SgPlan:
    authorize: dict[str, list[tuple[int, str, int]]]  # group -> [(family, cidr, port)]
    revoke: dict[str, list[tuple[int, str, int]]]
    groups_in_use: list[str]
    added: dict[int, int]  # family -> rules added
    removed: dict[int, int]

    @property
    def write_calls(self) -> int:
        return len(self.authorize) + len(self.revoke)


def plan_security_groups(
    groups: Sequence[GroupState],
    desired: Mapping[int, Iterable[str]],
    ports: Sequence[int],
    rules_per_group: int,
) -> SgPlan:
    """Place each desired CIDR (all ports) in one group of the pool.

    A CIDR already managed in a group stays there. New CIDRs go first-fit into the groups sorted by
    free room (largest first), so adds touch as few groups as possible. Room is counted with the
    stale rules still present, because they are revoked only after every add succeeded.
    """
    ports = sorted(set(ports))
    order = {g.group_id: i for i, g in enumerate(groups)}
    home: dict[tuple[int, str], str] = {}
    shortfall: dict[int, int] = {}
    touched: set[str] = set()  # groups already getting an authorize call

    def new_count(family: int) -> int:
        held = {c for g in groups for c in g.managed.get(family, {})}
        return len({norm(c) for c in desired.get(family, ())} - held)

    # The family with more new prefixes picks its groups first; the other one then prefers them.
    for family in sorted((4, 6), key=lambda f: (-new_count(f), f)):
        want = sorted({norm(c) for c in desired.get(family, ())}, key=ipaddress.ip_network)
        used = {
            g.group_id: g.other_rules.get(family, 0)
            + sum(len(p) for p in g.managed.get(family, {}).values())
            for g in groups
        }
        homeless: list[str] = []
        for cidr in want:
            holders = [g for g in groups if cidr in g.managed.get(family, {})]
            holders.sort(key=lambda g: (-len(g.managed[family][cidr]), order[g.group_id]))
            placed = False
            for g in holders[:1]:
                missing = len(set(ports) - g.managed[family][cidr])
                if used[g.group_id] + missing <= rules_per_group:
                    used[g.group_id] += missing
                    home[(family, cidr)] = g.group_id
                    placed = True
                    if missing:
                        touched.add(g.group_id)
            if not placed:
                homeless.append(cidr)
        # Groups already getting adds first (one authorize call carries both families), then the
        # roomiest: the items are all the same size, so largest-first touches the fewest groups.
        by_room = sorted(
            groups,
            key=lambda g: (g.group_id not in touched, used[g.group_id], order[g.group_id]),
        )
        left = []
        for cidr in homeless:
            for g in by_room:
                fits = used[g.group_id] + len(ports) <= rules_per_group
                if fits and not any((cidr, p) in g.other_keys for p in ports):
                    used[g.group_id] += len(ports)
                    home[(family, cidr)] = g.group_id
                    touched.add(g.group_id)
                    break
            else:
                left.append(cidr)
        if left:
            shortfall[family] = len(left)
    if shortfall:
        per_group = rules_per_group // len(ports)
        parts, extra = [], 0
        for family, n in sorted(shortfall.items()):
            parts.append(f"{n} IPv{family} prefixes")
            extra = max(extra, math.ceil(n / per_group))
        raise PoolTooSmall(
            f"security group pool of {len(groups)} group(s) cannot hold the selection: "
            f"{' and '.join(parts)} x {len(ports)} port(s) do not fit "
            f"(RULES_PER_GROUP={rules_per_group}, adds land before stale rules are revoked); "
            f"SECURITY_GROUP_IDS needs at least {len(groups) + extra} groups"
        )
    wanted: dict[str, set[tuple[int, str, int]]] = {g.group_id: set() for g in groups}
    for (family, cidr), gid in home.items():
        wanted[gid].update((family, cidr, p) for p in ports)
    authorize, revoke = {}, {}
    added, removed = {4: 0, 6: 0}, {4: 0, 6: 0}
    for g in groups:
        have = {
            (family, cidr, p)
            for family, by_cidr in g.managed.items()
            for cidr, ps in by_cidr.items()
            for p in ps
        }
        add = sorted(wanted[g.group_id] - have)
        rem = sorted(have - wanted[g.group_id])
        if add:
            authorize[g.group_id] = add
        if rem:
            revoke[g.group_id] = rem
        for family, *_ in add:
            added[family] += 1
        for family, *_ in rem:
            removed[family] += 1
    in_use = [g.group_id for g in groups if wanted[g.group_id]]
    return SgPlan(authorize, revoke, in_use, added, removed)


def plan_waf(current: Iterable[str], desired: Iterable[str]) -> tuple[list[str] | None, int, int]:
    """(new address list or None when nothing changes, added, removed)."""
    cur = {norm(c) for c in current}
    want = {norm(c) for c in desired}
    if cur == want:
        return None, 0, 0
    return sorted(want, key=ipaddress.ip_network), len(want - cur), len(cur - want)


# --------------------------------------------------------------------------- AWS edges


def _error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


class Clients:
    """boto3 clients, created on first use (the module imports without boto3 credentials)."""

    def __init__(self, **overrides: Any) -> None:
        self._cache: dict[str, Any] = dict(overrides)

    def get(self, name: str, region: str | None = None) -> Any:
        key = f"{name}:{region}" if region else name
        if key not in self._cache:
            import boto3

            self._cache[key] = (
                boto3.client(name, region_name=region) if region else boto3.client(name)
            )
        return self._cache[key]

    def wafv2(self, scope: str) -> Any:
        return self.get("wafv2", "us-east-1") if scope == "CLOUDFRONT" else self.get("wafv2")


def wait_prefix_list(ec2: Any, pl_id: str, timeout: float = PREFIX_LIST_WAIT_SECONDS) -> dict:
    """Describe the list until it is not ``*-in-progress``; raise on ``*-failed``."""
    deadline = time.monotonic() + timeout
    while True:
        pl = ec2.describe_managed_prefix_lists(PrefixListIds=[pl_id])["PrefixLists"][0]
        state = pl.get("State", "")
        if state.endswith("-failed"):
            raise RuntimeError(f"prefix list {pl_id} is {state}: {pl.get('StateMessage', '')}")
        if not state.endswith("-in-progress"):
            return pl
        if time.monotonic() > deadline:
            raise TimeoutError(f"prefix list {pl_id} still {state} after {timeout:.0f}s")
        _sleep(PREFIX_LIST_POLL_SECONDS)


def read_prefix_list(ec2: Any, pl_id: str, family: int) -> tuple[dict, set[str]]:
    pl = wait_prefix_list(ec2, pl_id)
    expected = f"IPv{family}"
    if pl.get("AddressFamily") and pl["AddressFamily"] != expected:
        raise ConfigError(f"PREFIX_LIST_IPV{family}_ID: {pl_id} is {pl['AddressFamily']}")
    entries: set[str] = set()
    kwargs: dict[str, Any] = {"PrefixListId": pl_id, "MaxResults": 100}
    if pl.get("Version"):
        kwargs["TargetVersion"] = pl["Version"]
    while True:
        resp = ec2.get_managed_prefix_list_entries(**kwargs)
        entries.update(norm(e["Cidr"]) for e in resp.get("Entries", []))
        if not resp.get("NextToken"):
            return pl, entries
        kwargs["NextToken"] = resp["NextToken"]


def apply_prefix_list(
    ec2: Any, pl_id: str, plan: PrefixListPlan, version: int | None = None
) -> int:
    """Apply ``plan``. ``version`` is the list version the plan was computed from: the first call
    sends it as ``CurrentVersion`` and each entries call expects the next one ("adding or
    removing entries creates a new version"), so a concurrent writer (another run of this
    function, someone in the console) makes the call fail instead of having its change undone
    by a plan computed from entries that no longer exist."""
    calls = 0
    if plan.grow_to:
        pl = wait_prefix_list(ec2, pl_id)
        ec2.modify_managed_prefix_list(
            PrefixListId=pl_id,
            CurrentVersion=pl["Version"] if version is None else version,
            MaxEntries=plan.grow_to,
        )
        calls += 1
        # Whether a resize creates a version is not documented: read it back once it is done.
        version = None
    for add, rem in plan.calls:
        pl = wait_prefix_list(ec2, pl_id)
        if version is None:
            version = pl["Version"]
        kwargs: dict[str, Any] = {"PrefixListId": pl_id, "CurrentVersion": version}
        version += 1
        if add:
            kwargs["AddEntries"] = [{"Cidr": c, "Description": MARKER} for c in add]
        if rem:
            kwargs["RemoveEntries"] = [{"Cidr": c} for c in rem]
        ec2.modify_managed_prefix_list(**kwargs)
        calls += 1
    if calls:
        wait_prefix_list(ec2, pl_id)
    return calls


def read_security_groups(ec2: Any, group_ids: Sequence[str]) -> list[GroupState]:
    found: dict[str, dict] = {}
    kwargs: dict[str, Any] = {"GroupIds": list(group_ids)}
    while True:
        resp = ec2.describe_security_groups(**kwargs)
        for sg in resp["SecurityGroups"]:
            found[sg["GroupId"]] = sg
        if not resp.get("NextToken"):
            break
        kwargs["NextToken"] = resp["NextToken"]
    states = []
    for gid in group_ids:
        if gid not in found:
            raise ConfigError(f"SECURITY_GROUP_IDS: {gid} not found")
        managed: dict[int, dict[str, set[int]]] = {4: {}, 6: {}}
        other = {4: 0, 6: 0}
        other_keys: set[tuple[str, int]] = set()
        for perm in found[gid].get("IpPermissions", []):
            tcp_port = None
            if perm.get("IpProtocol") == "tcp" and perm.get("FromPort") == perm.get("ToPort"):
                tcp_port = perm.get("FromPort")
            for family, key, cidr_key in ((4, "IpRanges", "CidrIp"), (6, "Ipv6Ranges", "CidrIpv6")):
                for r in perm.get(key, []):
                    cidr = norm(r[cidr_key])
                    if tcp_port is not None and r.get("Description") == MARKER:
                        managed[family].setdefault(cidr, set()).add(tcp_port)
                    else:
                        other[family] += 1
                        if tcp_port is not None:
                            other_keys.add((cidr, tcp_port))
            # Group references count against both families; a prefix-list reference counts
            # its MaxEntries in AWS (approximated here as one rule per family).
            refs = len(perm.get("UserIdGroupPairs", [])) + len(perm.get("PrefixListIds", []))
            other[4] += refs
            other[6] += refs
        states.append(GroupState(gid, managed, other, other_keys))
    return states


def _ip_permissions(rules: Iterable[tuple[int, str, int]], with_description: bool) -> list[dict]:
    by_port: dict[int, dict[str, list[dict]]] = {}
    for family, cidr, port in rules:
        slot = by_port.setdefault(port, {"IpRanges": [], "Ipv6Ranges": []})
        entry: dict[str, str] = {"CidrIp" if family == 4 else "CidrIpv6": cidr}
        if with_description:
            entry["Description"] = MARKER
        slot["IpRanges" if family == 4 else "Ipv6Ranges"].append(entry)
    perms = []
    for port, ranges in sorted(by_port.items()):
        perm: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
        perm.update({k: v for k, v in ranges.items() if v})
        perms.append(perm)
    return perms


def apply_security_groups(ec2: Any, plan: SgPlan) -> int:
    calls = 0
    for gid, rules in plan.authorize.items():
        ec2.authorize_security_group_ingress(
            GroupId=gid, IpPermissions=_ip_permissions(rules, with_description=True)
        )
        calls += 1
    for gid, rules in plan.revoke.items():
        ec2.revoke_security_group_ingress(
            GroupId=gid, IpPermissions=_ip_permissions(rules, with_description=False)
        )
        calls += 1
    return calls


def read_waf(waf: Any, ip_set: WafSet) -> dict:
    return waf.get_ip_set(Name=ip_set.name, Scope=ip_set.scope, Id=ip_set.id)


def apply_waf(waf: Any, ip_set: WafSet, desired: Sequence[str], first: dict | None = None) -> int:
    """One UpdateIPSet with the whole list; on a stale lock token, re-read and retry (bounded)."""
    want = {norm(c) for c in desired}
    resp = first
    calls = 0
    for attempt in range(WAF_MAX_ATTEMPTS):
        if resp is None:
            resp = read_waf(waf, ip_set)
        current = resp["IPSet"].get("Addresses", [])
        addresses, _, _ = plan_waf(current, want)
        if addresses is None:
            return calls
        kwargs: dict[str, Any] = {
            "Name": ip_set.name,
            "Scope": ip_set.scope,
            "Id": ip_set.id,
            "Addresses": addresses,
            "LockToken": resp["LockToken"],
        }
        if resp["IPSet"].get("Description"):  # UpdateIPSet replaces every mutable field
            kwargs["Description"] = resp["IPSet"]["Description"]
        try:
            calls += 1
            waf.update_ip_set(**kwargs)
            return calls
        except Exception as exc:
            if _error_code(exc) != "WAFOptimisticLockException" or attempt == WAF_MAX_ATTEMPTS - 1:
                raise
            resp = None
    return calls  # pragma: no cover


def read_state_token(s3: Any, bucket: str, key: str) -> int | None:
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    token = head.get("Metadata", {}).get("synctoken")
    if token:
        return int(token)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return parse_document(body).sync_token


def superseded(s3: Any, cfg: Config, sync_token: int) -> bool:
    """True when the stored state already holds this document or a newer one (another run)."""
    stored = read_state_token(s3, cfg.state_bucket, cfg.state_key)
    return stored is not None and stored >= sync_token


def write_state(s3: Any, bucket: str, key: str, body: bytes, doc: Document) -> None:
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentType="application/json",
        Metadata={
            "synctoken": str(doc.sync_token),
            "md5": md5_hex(body),
            "createdate": doc.create_date,
        },
    )


# --------------------------------------------------------------------------- one run


@dataclass
class Planned:
    name: str
    added: int
    removed: int
    apply: Any  # callable () -> write calls
    expected_calls: int


def plan_targets(
    cfg: Config, clients: Clients, v4: Sequence[str], v6: Sequence[str]
) -> tuple[list[Planned], list[str]]:
    """Read every target's live state and plan it; raises before any write."""
    planned: list[Planned] = []
    groups_in_use: list[str] = []
    ec2 = (
        clients.get("ec2")
        if (cfg.prefix_list_ipv4_id or cfg.prefix_list_ipv6_id or cfg.security_group_ids)
        else None
    )
    for family, pl_id, want in ((4, cfg.prefix_list_ipv4_id, v4), (6, cfg.prefix_list_ipv6_id, v6)):
        if not pl_id:
            continue
        pl, current = read_prefix_list(ec2, pl_id, family)
        plan = plan_prefix_list(current, want, int(pl.get("MaxEntries") or 0))
        version = pl.get("Version")  # the plan's base: apply_prefix_list sends it
        planned.append(
            Planned(
                f"prefixList.ipv{family}",
                len(plan.adds),
                len(plan.removes),
                lambda pl_id=pl_id, plan=plan, version=version: apply_prefix_list(
                    ec2, pl_id, plan, version
                ),
                plan.write_calls,
            )
        )
    if cfg.security_group_ids:
        states = read_security_groups(ec2, cfg.security_group_ids)
        sg_plan = plan_security_groups(states, {4: v4, 6: v6}, cfg.ports, cfg.rules_per_group)
        groups_in_use = sg_plan.groups_in_use
        planned.append(
            Planned(
                "securityGroups",
                sum(sg_plan.added.values()),
                sum(sg_plan.removed.values()),
                lambda: apply_security_groups(ec2, sg_plan),
                sg_plan.write_calls,
            )
        )
    for family, ip_set, want in ((4, cfg.waf_ipv4_set, v4), (6, cfg.waf_ipv6_set, v6)):
        if ip_set is None:
            continue
        waf = clients.wafv2(ip_set.scope)
        first = read_waf(waf, ip_set)
        addresses, added, removed = plan_waf(first["IPSet"].get("Addresses", []), want)
        planned.append(
            Planned(
                f"wafIpSet.ipv{family}",
                added,
                removed,
                lambda waf=waf, ip_set=ip_set, want=want, first=first: apply_waf(
                    waf, ip_set, want, first
                ),
                0 if addresses is None else 1,
            )
        )
    return planned, groups_in_use


def run(event: Any, cfg: Config, clients: Clients) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {"outcome": "error", "syncToken": None, "targets": {}, "writeCalls": 0}
    try:
        note = parse_event(event)
        url = note.url if note else IP_RANGES_URL
        result["trigger"] = "sns" if note else "schedule"
        if url != IP_RANGES_URL:
            result.update(outcome="refused", reason=f"foreign url {url!r}")
            return result
        s3 = clients.get("s3")
        stored = read_state_token(s3, cfg.state_bucket, cfg.state_key)
        result["storedSyncToken"] = stored
        if note and note.synctoken is not None and stored is not None and note.synctoken <= stored:
            result.update(
                outcome="refused",
                syncToken=str(note.synctoken),
                reason="synctoken not newer than state",
            )
            return result
        body = fetch_ranges(url)
        if note and note.md5 and md5_hex(body) != note.md5:
            raise DocumentRejected(f"md5 {md5_hex(body)} != message md5 {note.md5}")
        doc = parse_document(body)
        result["syncToken"] = str(doc.sync_token)
        if stored is not None and doc.sync_token <= stored:
            result.update(outcome="refused", reason="syncToken not newer than state")
            return result
        n4, n6 = select_networks(doc, cfg.services, cfg.regions, cfg.ipv6)
        v4, v6 = [str(n) for n in n4], [str(n) for n in n6]
        result["selected"] = {"ipv4": len(v4), "ipv6": len(v6)}
        planned, groups_in_use = plan_targets(cfg, clients, v4, v6)
        for target in planned:
            # An SNS run and a scheduled run may overlap. If a run with this document or a newer
            # one finished meanwhile, stop: going on would put older ranges over its newer ones.
            if superseded(s3, cfg, doc.sync_token):
                result.update(outcome="superseded", reason="a newer sync finished meanwhile")
                return result
            calls = target.apply()
            result["writeCalls"] += calls
            result["targets"][target.name] = {
                "added": target.added,
                "removed": target.removed,
                "writeCalls": calls,
            }
        if cfg.security_group_ids:
            result["securityGroupsInUse"] = groups_in_use
        if superseded(s3, cfg, doc.sync_token):
            result.update(outcome="superseded", reason="a newer sync finished meanwhile")
            return result
        write_state(s3, cfg.state_bucket, cfg.state_key, body, doc)
        result["outcome"] = "applied"
        return result
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        result["durationMs"] = round((time.monotonic() - started) * 1000, 1)
        print(json.dumps({"event": "ip-range-sync", **result}, default=str), flush=True)


def handler(event: Any, context: Any) -> dict[str, Any]:
    return run(event, Config.from_env(os.environ), Clients())


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handlers.ip_range_sync")
    sub = parser.add_subparsers(dest="command", required=True)
    lst = sub.add_parser("list", help="print the selected prefixes, one CIDR per line")
    lst.add_argument("--service", action="append", required=True, help="repeatable")
    lst.add_argument("--region", action="append", default=[], help="repeatable; none = all")
    lst.add_argument("--file", help="a local ip-ranges.json (default: download it)")
    lst.add_argument("--ipv6", action="store_true", help="also print IPv6 prefixes")
    lst.add_argument("--collapse", action="store_true", help="merge adjacent/overlapping CIDRs")
    args = parser.parse_args(argv)
    if args.file:
        with open(args.file, "rb") as fh:
            body = fh.read()
    else:
        body = fetch_ranges(IP_RANGES_URL)
    try:
        doc = parse_document(body)
    except DocumentRejected as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    v4, v6 = select_networks(doc, args.service, args.region, args.ipv6, args.collapse)
    sys.stdout.write("".join(f"{n}\n" for n in [*v4, *v6]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
