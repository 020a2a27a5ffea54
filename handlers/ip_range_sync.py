"""Keep network allow-lists equal to a selection of the published AWS IP ranges.

Runs on the ``AmazonIpSpaceChanged`` SNS topic
(``arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged``), on a schedule (SNS delivery is not
guaranteed), once during ``pulumi up`` and whenever someone invokes it with ``{}``. Every run reads
the live state of every configured target and brings it to exactly the selection of the newest
document it knows (the one just downloaded, or the one stored in S3 when that is newer), so a
change made by hand to a target is repaired by the next run: adds first, removes last, with the
fewest write calls the APIs allow. The stored document advances only when a newer one was applied
to every target, with a conditional write.

Runs are serialized by a lease object in the state bucket (created with ``If-None-Match: *``,
expiring after the invocation's own deadline, released with ``If-Match``), so an older document
can never be applied over a newer one by an overlapping run.

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
``STATE_BUCKET``         required. Bucket holding the last applied document and the lease.
``STATE_KEY``            object key (default ``ip-range-sync/ip-ranges.json``); the object body is
                         the document; its metadata ``synctoken`` / ``md5`` is read by HeadObject.
``LEASE_KEY``            object key of the lease (default ``ip-range-sync/lease``).

Events: an SNS notification, an EventBridge ``Scheduled Event``, ``{}`` (a manual run) or
``{"trigger": "deploy"}`` (the deploy-time run). Anything else is refused (returned, logged).

Refusals that a retry cannot change *return* ``outcome: refused``:
an unsupported event, a foreign URL. Everything else *raises*, so Lambda's asynchronous retries
and the on-failure queue see it and the deploy-time run fails the deployment:
``DocumentRejected`` (a wrong MD5, a malformed message or document: maybe a truncated download),
``DoesNotFit`` (the selection exceeds a target's capacity; raised before any write),
``LeaseBusy`` (an SNS or scheduled run that found another run holding the lease: the retry
comes later), and any failure while applying. The deploy-time and manual runs answer
``outcome: busy`` instead of raising ``LeaseBusy``.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import ipaddress
import json
import math
import os
import re
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

IP_RANGES_URL = "https://ip-ranges.amazonaws.com/ip-ranges.json"
MARKER = "lambda-exposure:ip-range-sync"
DEFAULT_STATE_KEY = "ip-range-sync/ip-ranges.json"
DEFAULT_LEASE_KEY = "ip-range-sync/lease"
PREFIX_LIST_BATCH = (
    100  # botocore ec2 model: AddPrefixListEntries / RemovePrefixListEntries max 100
)
# "Maximum number of entries per prefix list: 1,000", not adjustable
# (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html, Managed prefix lists).
PREFIX_LIST_MAX_ENTRIES = 1000
# "Maximum number of IP addresses in CIDR notation per IP set: 10,000"
# (https://docs.aws.amazon.com/waf/latest/developerguide/limits.html).
WAF_MAX_ADDRESSES = 10_000
WAF_MAX_ATTEMPTS = 5
PREFIX_LIST_WAIT_SECONDS = 120.0
PREFIX_LIST_POLL_SECONDS = 1.0
FETCH_TIMEOUT_SECONDS = 20
# Without a Lambda context (CLI, tests) a run is assumed to last as long as the component's
# function timeout allows; in Lambda the invocation's own remaining time is used.
DEFAULT_RUN_SECONDS = 300.0
# The lease outlives its holder's deadline by this much, so a live run never loses it and a run
# killed by its timeout blocks the next one for at most this long.
LEASE_MARGIN_SECONDS = 30.0
# How long a run waits for a lease held by another run (runs take seconds). Bounded by a quarter
# of the invocation's remaining time, so the wait never eats the time the sync itself needs.
LEASE_WAIT_SECONDS = 60.0
LEASE_POLL_SECONDS = 2.0
STATE_WRITE_ATTEMPTS = 3
DRIFT_SAMPLE = 20  # entries listed per target and direction in the drift log

# SNS and EventBridge invoke asynchronously: a run of theirs that cannot get the lease raises, and
# Lambda retries it. The deploy-time and manual runs are synchronous: they answer "busy" instead,
# so a deployment never fails because another run was converging the same targets.
ASYNC_TRIGGERS = ("sns", "schedule")
SYNC_TRIGGERS = ("manual", "deploy")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Indirections so tests can make waiting instantaneous and control the clocks.
_sleep = time.sleep
_monotonic = time.monotonic
_now = time.time

_HEX32 = re.compile(r"[0-9a-f]{32}")
_DIGITS = re.compile(r"[0-9]{1,20}")
_SERVICE = re.compile(r"[A-Z0-9_]{1,64}")


def _env_int(name: str, raw: str, low: int, high: int) -> int:
    """An integer from the environment: ASCII digits only (``int()`` would also take " 443",
    "4_43" or full-width digits), within [low, high]."""
    value = raw.strip()
    if not _DIGITS.fullmatch(value) or not low <= int(value) <= high:
        raise ConfigError(f"{name}: {raw!r} is not a whole number from {low} to {high}")
    return int(value)


_NOT_FOUND = ("404", "NoSuchKey", "NotFound")
_PRECONDITION = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


class ConfigError(ValueError):
    """The environment contract is not met."""


class DocumentRejected(Exception):
    """The notification or the document failed a check (retryable: raised)."""


class UnsupportedEvent(ValueError):
    """The event is neither an SNS notification, a scheduled event nor a manual run."""


class DoesNotFit(Exception):
    """The selection cannot fit a target; raised before any write."""


class PoolTooSmall(DoesNotFit):
    """The security group pool cannot hold the selection; raised before any write."""


class LeaseBusy(Exception):
    """Another run held the lease for longer than this one could wait (retryable: raised)."""


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
    lease_key: str = DEFAULT_LEASE_KEY

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        # ASCII-only upper-casing: the long s (U+017F) upper-cases to "S" and would select a
        # service by accident.
        services = tuple(s.upper() if s.isascii() else s for s in _csv(env.get("SERVICES")))
        if not services:
            raise ConfigError("SERVICES: at least one ip-ranges.json service is required")
        for service in services:
            if not _SERVICE.fullmatch(service):
                raise ConfigError(f"SERVICES: {service!r} is not an ip-ranges.json service id")
        ipv6_raw = env.get("IPV6", "false").strip().lower() or "false"
        if ipv6_raw not in ("true", "false"):
            raise ConfigError(f"IPV6: {ipv6_raw!r} is not true|false")
        ipv6 = ipv6_raw == "true"
        ports = tuple(_env_int("PORTS", p, 1, 65535) for p in _csv(env.get("PORTS", "443")))
        rules_per_group = _env_int("RULES_PER_GROUP", env.get("RULES_PER_GROUP") or "60", 1, 1000)
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
            lease_key=env.get("LEASE_KEY", "").strip() or DEFAULT_LEASE_KEY,
        )
        if not cfg.state_bucket:
            raise ConfigError("STATE_BUCKET: required")
        if cfg.lease_key == cfg.state_key:
            raise ConfigError(f"LEASE_KEY: {cfg.lease_key!r} is the STATE_KEY")
        if not ipv6 and (cfg.prefix_list_ipv6_id or cfg.waf_ipv6_set):
            raise ConfigError("IPV6: an IPv6 target is configured but IPV6 is not 'true'")
        return cfg


# --------------------------------------------------------------------------- events


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
        body: bytes = resp.read()
    return body


@dataclass(frozen=True)
class Notification:
    url: str
    md5: str | None
    synctoken: int | None
    create_time: str | None


@dataclass(frozen=True)
class Trigger:
    kind: str  # sns | schedule | manual | deploy
    note: Notification | None = None


def _token(value: Any) -> int | None:
    """A syncToken as published (a string of ASCII digits; an int is accepted), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None


def parse_message(raw: Any) -> Notification:
    """The ``AmazonIpSpaceChanged`` message; DocumentRejected when it cannot be trusted."""
    if not isinstance(raw, str):
        raise DocumentRejected(f"SNS message is {type(raw).__name__}, not a JSON string")
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise DocumentRejected(f"SNS message is not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise DocumentRejected("SNS message is not a JSON object")
    md5 = message.get("md5")
    if md5 in (None, ""):
        # AWS always sends one; without it the download could not be verified.
        raise DocumentRejected("SNS message has no md5: the document could not be verified")
    if not isinstance(md5, str) or not _HEX32.fullmatch(md5.lower()):
        raise DocumentRejected(f"SNS message md5 {md5!r} is not 32 hex digits")
    url = message.get("url")
    if url is not None and not isinstance(url, str):
        raise DocumentRejected(f"SNS message url is {type(url).__name__}, not a string")
    raw_token = message.get("synctoken")
    token = _token(raw_token)
    if raw_token not in (None, "") and token is None:
        raise DocumentRejected(f"SNS message synctoken {raw_token!r} is not a number")
    created = message.get("create-time")
    return Notification(
        url=url or "",
        md5=md5.lower(),
        synctoken=token,
        create_time=created if isinstance(created, str) else None,
    )


def parse_event(event: Any) -> Trigger:
    """What invoked this run. UnsupportedEvent for an envelope of no known kind (refused),
    DocumentRejected for an SNS record whose content cannot be trusted."""
    if not isinstance(event, dict):
        raise UnsupportedEvent(f"the event is {type(event).__name__}, not a JSON object")
    if "Records" in event:
        records = event["Records"]
        if not isinstance(records, list) or not records:
            raise UnsupportedEvent("'Records' is not a non-empty list")
        record = records[0]
        if not isinstance(record, dict) or not (
            record.get("EventSource") == "aws:sns" or isinstance(record.get("Sns"), dict)
        ):
            raise UnsupportedEvent("'Records[0]' is not an SNS record")
        sns = record.get("Sns")
        if not isinstance(sns, dict):
            raise DocumentRejected("SNS record has no 'Sns' object")
        return Trigger("sns", parse_message(sns.get("Message")))
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return Trigger("schedule")
    if not event:
        return Trigger("manual")
    if set(event) == {"trigger"} and event["trigger"] in SYNC_TRIGGERS:
        return Trigger(event["trigger"])
    keys = sorted(str(k) for k in event)[:8]
    raise UnsupportedEvent(
        f"an object with keys {keys} is neither an SNS notification, an EventBridge "
        "'Scheduled Event', {} nor {'trigger': 'deploy'}"
    )


# --------------------------------------------------------------------------- document


@dataclass(frozen=True)
class Document:
    sync_token: int
    create_date: str
    prefixes: list[dict[str, Any]]
    ipv6_prefixes: list[dict[str, Any]]


def _rejected(what: str) -> DocumentRejected:
    return DocumentRejected(f"ip-ranges document is malformed: {what}")


def parse_document(body: bytes) -> Document:
    """The document, its envelope checked; select_networks checks each prefix as it reads it."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise _rejected(f"not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise _rejected("not a JSON object")
    token = _token(data.get("syncToken"))
    if token is None:
        raise _rejected(f"syncToken {data.get('syncToken')!r} is not a number")
    prefixes: Any = data.get("prefixes")
    ipv6_prefixes: Any = data.get("ipv6_prefixes", [])  # absent from older documents
    for name, items in (("prefixes", prefixes), ("ipv6_prefixes", ipv6_prefixes)):
        if not isinstance(items, list):
            raise _rejected(f"{name} is not a list")
    created = data.get("createDate", "")
    return Document(
        sync_token=token,
        create_date=created if isinstance(created, str) else "",
        prefixes=prefixes,
        ipv6_prefixes=ipv6_prefixes,
    )


def md5_hex(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def select_networks(
    doc: Document,
    services: Iterable[str],
    regions: Iterable[str] = (),
    ipv6: bool = False,
    collapse: bool = True,
) -> tuple[list[ipaddress.IPv4Network], list[ipaddress.IPv6Network]]:
    """Prefixes of the services in the regions (all when empty), collapsed, sorted.

    Only the selected prefixes are parsed as networks (parsing all ~16,000 would double a run's
    pure work); one that is not a network of its family rejects the document.
    """
    svc = {s.upper() for s in services}
    reg = {r.lower() for r in regions}

    def pick(items: list[Any], key: str, name: str) -> set[str]:
        # One pass over all ~16,000 entries: each is checked as it is read, selected or not.
        picked = set()
        for index, p in enumerate(items):
            if not isinstance(p, dict):
                raise _rejected(f"{name}[{index}] is not an object")
            service, region, cidr = p.get("service"), p.get("region"), p.get(key)
            if not (isinstance(service, str) and isinstance(region, str) and isinstance(cidr, str)):
                raise _rejected(f"{name}[{index}] has no string {key}/service/region")
            if service.upper() in svc and (not reg or region.lower() in reg):
                picked.add(cidr)
        return picked

    def parse(cidrs: set[str], kind: type[Network], name: str) -> list[Any]:
        try:
            return [kind(c, strict=False) for c in cidrs]
        except (ValueError, TypeError) as exc:
            raise _rejected(
                f"a selected {name} is not an {kind.__name__[:4]} network: {exc}"
            ) from exc

    v4 = parse(pick(doc.prefixes, "ip_prefix", "prefixes"), ipaddress.IPv4Network, "ip_prefix")
    v6 = (
        parse(
            pick(doc.ipv6_prefixes, "ipv6_prefix", "ipv6_prefixes"),
            ipaddress.IPv6Network,
            "ipv6_prefix",
        )
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


def check_fits(cfg: Config, v4: Sequence[str], v6: Sequence[str]) -> None:
    """Refuse, before any target is read or written, a selection some target can never hold.

    A prefix list holds at most PREFIX_LIST_MAX_ENTRIES, an IP set WAF_MAX_ADDRESSES, the pool
    ``groups x (RULES_PER_GROUP // ports)`` CIDRs per family. The live state can only lower the
    pool's room (rules it does not manage, stale rules awaiting their revoke): the planners check
    that part.
    """
    problems: list[str] = []
    pool_short = False
    for family, pl_id, want in ((4, cfg.prefix_list_ipv4_id, v4), (6, cfg.prefix_list_ipv6_id, v6)):
        if pl_id and len(want) > PREFIX_LIST_MAX_ENTRIES:
            problems.append(
                f"prefixList.ipv{family}: {len(want)} IPv{family} prefixes, a prefix list "
                f"holds at most {PREFIX_LIST_MAX_ENTRIES} entries"
            )
    if cfg.security_group_ids:
        ports = len(set(cfg.ports))
        per_group = cfg.rules_per_group // ports
        for family, want in ((4, v4), (6, v6)):
            if len(want) > len(cfg.security_group_ids) * per_group:
                pool_short = True
                problems.append(
                    f"securityGroups: {len(want)} IPv{family} prefixes x {ports} port(s) do not "
                    f"fit {len(cfg.security_group_ids)} group(s) of RULES_PER_GROUP="
                    f"{cfg.rules_per_group}; SECURITY_GROUP_IDS needs at least "
                    f"{math.ceil(len(want) / per_group)} groups"
                )
    for family, ip_set, want in ((4, cfg.waf_ipv4_set, v4), (6, cfg.waf_ipv6_set, v6)):
        if ip_set is not None and len(want) > WAF_MAX_ADDRESSES:
            problems.append(
                f"wafIpSet.ipv{family}: {len(want)} IPv{family} prefixes, an IP set holds at "
                f"most {WAF_MAX_ADDRESSES} addresses"
            )
    if problems:
        error = PoolTooSmall if pool_short else DoesNotFit
        raise error(
            "the selection cannot fit its targets, nothing was written: " + "; ".join(problems)
        )


@dataclass
class PrefixListPlan:
    adds: list[str]
    removes: list[str]
    calls: list[tuple[list[str], list[str]]]  # (add entries, remove entries) per modify call
    grow_to: int | None  # MaxEntries to set (separate call, first), None = large enough

    @property
    def write_calls(self) -> int:
        return len(self.calls) + (1 if self.grow_to else 0)


def _entry_calls(
    adds: list[str], removes: list[str], batch: int
) -> list[tuple[list[str], list[str]]]:
    add_batches, remove_batches = chunks(adds, batch), chunks(removes, batch)
    calls: list[tuple[list[str], list[str]]] = [(b, []) for b in add_batches]
    if calls and remove_batches:
        calls[-1] = (calls[-1][0], remove_batches.pop(0))
    return calls + [([], b) for b in remove_batches]


def _peak(size: int, calls: Iterable[tuple[list[str], list[str]]]) -> int:
    peak = size
    for add, rem in calls:
        size += len(add) - len(rem)
        peak = max(peak, size)
    return peak


def _disjoint_from(removes: list[str], wanted: Iterable[str]) -> list[str]:
    """The entries of ``removes`` that share no address with any wanted network."""
    # One family per list: collapse_addresses accepts it, the type checker cannot know.
    family: Any = [ipaddress.ip_network(c) for c in wanted]
    nets = sorted(ipaddress.collapse_addresses(family))
    starts = [int(n.network_address) for n in nets]
    ends = [int(n.broadcast_address) for n in nets]
    out = []
    for cidr in removes:
        net = ipaddress.ip_network(cidr)
        # The collapsed networks are disjoint and sorted: only the last one starting at or
        # before this entry's end can overlap it.
        i = bisect.bisect_right(starts, int(net.broadcast_address)) - 1
        if i < 0 or ends[i] < int(net.network_address):
            out.append(cidr)
    return out


def plan_prefix_list(
    current: Iterable[str],
    desired: Iterable[str],
    max_entries: int,
    batch: int = PREFIX_LIST_BATCH,
    limit: int = PREFIX_LIST_MAX_ENTRIES,
) -> PrefixListPlan:
    """Add batches first; the last add call also carries the first remove batch (one version, so
    the list never lacks a desired entry); the remaining removes follow.

    When that order would need more than ``limit`` entries at its peak, the removes that overlap
    no desired network go first: dropping them refuses no current address. If the peak still
    exceeds the limit, the update cannot be made and DoesNotFit is raised (before any write).
    """
    cur = {norm(c) for c in current}
    want = {norm(c) for c in desired}
    if len(want) > limit:
        raise DoesNotFit(
            f"prefix list: {len(want)} prefixes selected, a prefix list holds at most {limit}"
        )
    adds = sorted(want - cur, key=ipaddress.ip_network)
    removes = sorted(cur - want, key=ipaddress.ip_network)
    calls = _entry_calls(adds, removes, batch)
    peak = _peak(len(cur), calls)
    if peak > limit:
        early = _disjoint_from(removes, want)
        early_set = set(early)
        late = [c for c in removes if c not in early_set]
        calls = [([], b) for b in chunks(early, batch)] + _entry_calls(adds, late, batch)
        peak = _peak(len(cur), calls)
        if peak > limit:
            raise DoesNotFit(
                f"prefix list: adding {len(adds)} entries before removing the "
                f"{len(late)} stale ones they overlap needs {peak} entries at the peak, "
                f"above the {limit} a prefix list holds"
            )
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
    code: str = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return code


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
    deadline = _monotonic() + timeout
    while True:
        pl: dict = ec2.describe_managed_prefix_lists(PrefixListIds=[pl_id])["PrefixLists"][0]
        state = pl.get("State", "")
        if state.endswith("-failed"):
            raise RuntimeError(f"prefix list {pl_id} is {state}: {pl.get('StateMessage', '')}")
        if not state.endswith("-in-progress"):
            return pl
        if _monotonic() > deadline:
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
    found: dict = waf.get_ip_set(Name=ip_set.name, Scope=ip_set.scope, Id=ip_set.id)
    return found


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


# --------------------------------------------------------------------------- S3: state and lease


@dataclass(frozen=True)
class StoredState:
    """What HeadObject says about the last applied document."""

    etag: str
    sync_token: int


def read_state(s3: Any, bucket: str, key: str) -> StoredState | None:
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if _error_code(exc) in _NOT_FOUND:
            return None
        raise
    token = _token(head.get("Metadata", {}).get("synctoken"))
    if token is None:
        token = parse_document(read_state_body(s3, bucket, key, head["ETag"])).sync_token
    return StoredState(head["ETag"], token)


def read_state_token(s3: Any, bucket: str, key: str) -> int | None:
    state = read_state(s3, bucket, key)
    return None if state is None else state.sync_token


def read_state_body(s3: Any, bucket: str, key: str, etag: str) -> bytes:
    """The stored document, exactly the version whose ETag was read (If-Match)."""
    obj = s3.get_object(Bucket=bucket, Key=key, IfMatch=etag)
    body: bytes = obj["Body"].read()
    stored_md5 = obj.get("Metadata", {}).get("md5")
    if stored_md5 and stored_md5 != md5_hex(body):
        raise DocumentRejected(f"stored state s3://{bucket}/{key} does not match its md5")
    return body


def overtaken(s3: Any, cfg: Config, start: StoredState | None, sync_token: int) -> bool:
    """True when another run stored this document or a newer one since this run read the state.

    The lease makes that impossible for runs of this function; the check stays as the last line
    against anything else (a run whose lease was taken over after a clock jump, a person)."""
    now = read_state(s3, cfg.state_bucket, cfg.state_key)
    changed = now is not None and (start is None or now.etag != start.etag)
    return changed and now is not None and now.sync_token >= sync_token


def write_state(
    s3: Any,
    bucket: str,
    key: str,
    body: bytes,
    doc: Document,
    *,
    if_match: str | None = None,
    if_absent: bool = False,
) -> None:
    """Store the applied document. ``if_match`` / ``if_absent`` make it a conditional write
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html)."""
    kwargs: dict[str, Any] = {}
    if if_match is not None:
        kwargs["IfMatch"] = if_match
    elif if_absent:
        kwargs["IfNoneMatch"] = "*"
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
        **kwargs,
    )


def commit_state(
    s3: Any, cfg: Config, body: bytes, doc: Document, start: StoredState | None
) -> str:
    """Write the state only over the version read at the start (or where there was none).

    On a failed precondition, re-read: a state at least as new as this document wins
    (``superseded``, nothing overwritten); an older one is replaced, again conditionally."""
    expected = start
    for _ in range(STATE_WRITE_ATTEMPTS):
        try:
            write_state(
                s3,
                cfg.state_bucket,
                cfg.state_key,
                body,
                doc,
                if_match=expected.etag if expected else None,
                if_absent=expected is None,
            )
            return "applied"
        except Exception as exc:
            if _error_code(exc) not in (*_PRECONDITION, *_NOT_FOUND):
                raise
        expected = read_state(s3, cfg.state_bucket, cfg.state_key)
        if expected is not None and expected.sync_token >= doc.sync_token:
            return "superseded"
    raise RuntimeError(f"state write lost its precondition {STATE_WRITE_ATTEMPTS} times")


@dataclass(frozen=True)
class Lease:
    key: str
    etag: str
    owner: str
    expires: float


def _put_lease(
    s3: Any, bucket: str, key: str, owner: str, ttl: float, replace: str | None
) -> Lease | None:
    """Create the lease (If-None-Match: *) or take over an expired one (If-Match its ETag).

    The body names the owner and the expiry, so no two leases share an ETag and If-Match
    cannot mistake a newer lease for the one it read."""
    expires = _now() + ttl
    body = json.dumps({"owner": owner, "expires": expires}).encode()
    condition = {"IfMatch": replace} if replace else {"IfNoneMatch": "*"}
    try:
        resp = s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            Metadata={"owner": owner, "expires": f"{expires:.3f}"},
            **condition,
        )
    except Exception as exc:
        if _error_code(exc) in (*_PRECONDITION, *_NOT_FOUND):
            return None  # someone else holds it, took it over, or released it meanwhile
        raise
    return Lease(key, resp["ETag"], owner, expires)


def acquire_lease(
    s3: Any,
    bucket: str,
    key: str,
    owner: str,
    ttl: Callable[[], float],
    wait: float,
) -> tuple[Lease | None, dict[str, Any]]:
    """The lease, or None after ``wait`` seconds; also what is known of the holder.

    A lease whose expiry has passed belongs to a run that died (Lambda ended it at its timeout,
    which the expiry exceeds) and is taken over with a compare-and-swap on its ETag."""
    deadline = _monotonic() + wait
    holder: dict[str, Any] = {}
    while True:
        lease = _put_lease(s3, bucket, key, owner, ttl(), None)
        if lease is not None:
            return lease, holder
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            if _error_code(exc) not in _NOT_FOUND:
                raise
            head = None  # released between our two calls: try again
        if head is not None:
            meta = head.get("Metadata", {})
            try:
                expires = float(meta.get("expires", ""))
            except ValueError:
                expires = 0.0  # not a lease this function wrote: nobody honours it
            holder = {"owner": meta.get("owner", ""), "expiresInSeconds": round(expires - _now())}
            if expires <= _now():
                lease = _put_lease(s3, bucket, key, owner, ttl(), head["ETag"])
                if lease is not None:
                    return lease, {**holder, "expired": True}
        if _monotonic() >= deadline:
            return None, holder
        _sleep(LEASE_POLL_SECONDS)


def release_lease(s3: Any, bucket: str, lease: Lease) -> bool:
    """Delete the lease if it is still ours (If-Match); never fails the run: it expires anyway.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html"""
    try:
        s3.delete_object(Bucket=bucket, Key=lease.key, IfMatch=lease.etag)
    except Exception:
        return False
    return True


# --------------------------------------------------------------------------- one run


def _drift_label(family: int, cidr: str, port: int) -> str:
    return f"{cidr} tcp/{port}"


@dataclass
class Planned:
    name: str
    adds: list[str]  # what the target lacks (labels for the log)
    removes: list[str]  # what it has and should not
    apply: Any  # callable () -> write calls
    expected_calls: int

    @property
    def added(self) -> int:
        return len(self.adds)

    @property
    def removed(self) -> int:
        return len(self.removes)

    def drift(self) -> dict[str, Any]:
        return {
            "missing": self.adds[:DRIFT_SAMPLE],
            "missingCount": len(self.adds),
            "extra": self.removes[:DRIFT_SAMPLE],
            "extraCount": len(self.removes),
        }


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
        try:
            plan = plan_prefix_list(current, want, int(pl.get("MaxEntries") or 0))
        except DoesNotFit as exc:
            raise DoesNotFit(
                f"prefixList.ipv{family} ({pl_id}): {exc}; nothing was written"
            ) from exc
        version = pl.get("Version")  # the plan's base: apply_prefix_list sends it
        planned.append(
            Planned(
                f"prefixList.ipv{family}",
                plan.adds,
                plan.removes,
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
                [_drift_label(*r) for rules in sg_plan.authorize.values() for r in rules],
                [_drift_label(*r) for rules in sg_plan.revoke.values() for r in rules],
                lambda: apply_security_groups(ec2, sg_plan),
                sg_plan.write_calls,
            )
        )
    for family, ip_set, want in ((4, cfg.waf_ipv4_set, v4), (6, cfg.waf_ipv6_set, v6)):
        if ip_set is None:
            continue
        waf = clients.wafv2(ip_set.scope)
        first = read_waf(waf, ip_set)
        live = {norm(c) for c in first["IPSet"].get("Addresses", [])}
        wanted = {norm(c) for c in want}
        addresses, _, _ = plan_waf(live, wanted)
        planned.append(
            Planned(
                f"wafIpSet.ipv{family}",
                sorted(wanted - live, key=ipaddress.ip_network),
                sorted(live - wanted, key=ipaddress.ip_network),
                lambda waf=waf, ip_set=ip_set, want=want, first=first: apply_waf(
                    waf, ip_set, want, first
                ),
                0 if addresses is None else 1,
            )
        )
    return planned, groups_in_use


def _remaining_seconds(context: Any) -> Callable[[], float]:
    """Seconds left in this invocation (Lambda's context), else DEFAULT_RUN_SECONDS from now."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        return lambda: max(0.0, remaining() / 1000)
    deadline = _monotonic() + DEFAULT_RUN_SECONDS
    return lambda: max(0.0, deadline - _monotonic())


def _owner(context: Any) -> str:
    request_id = getattr(context, "aws_request_id", None)
    if isinstance(request_id, str) and request_id.isascii() and request_id.isprintable():
        return request_id[:64]
    return f"pid-{os.getpid()}"


def _choose_document(
    s3: Any, cfg: Config, note: Notification | None, stored: StoredState | None
) -> tuple[bytes, Document, str, str | None]:
    """(body, document, where it came from, why) of the document to converge the targets to.

    Never one older than the stored state: that one was applied already, and going back to it
    would put older ranges over newer ones. A notification that announces nothing newer than
    the state needs no download at all: the stored document is the newest known."""
    if note and note.synctoken is not None and stored and note.synctoken <= stored.sync_token:
        body = read_state_body(s3, cfg.state_bucket, cfg.state_key, stored.etag)
        return body, parse_document(body), "stored", "message synctoken not newer than state"
    body = fetch_ranges(IP_RANGES_URL)
    if note and note.md5 and md5_hex(body) != note.md5:
        raise DocumentRejected(f"md5 {md5_hex(body)} != message md5 {note.md5}")
    doc = parse_document(body)
    if stored and doc.sync_token < stored.sync_token:
        body = read_state_body(s3, cfg.state_bucket, cfg.state_key, stored.etag)
        return body, parse_document(body), "stored", "downloaded syncToken older than state"
    return body, doc, "downloaded", None


def run(event: Any, cfg: Config, clients: Clients, context: Any = None) -> dict[str, Any]:
    started = _monotonic()
    result: dict[str, Any] = {
        "outcome": "error",
        "trigger": None,
        "syncToken": None,
        "targets": {},
        "writeCalls": 0,
    }
    s3: Any = None
    lease: Lease | None = None
    try:
        try:
            trigger = parse_event(event)
        except UnsupportedEvent as exc:
            # Retrying cannot turn it into a notification: refuse, loudly, and write nothing.
            result.update(outcome="refused", reason=f"unsupported event: {exc}")
            return result
        note = trigger.note
        result["trigger"] = trigger.kind
        if note and note.url != IP_RANGES_URL:
            result.update(outcome="refused", reason=f"foreign url {note.url!r}")
            return result

        s3 = clients.get("s3")
        remaining = _remaining_seconds(context)
        lease, holder = acquire_lease(
            s3,
            cfg.state_bucket,
            cfg.lease_key,
            _owner(context),
            ttl=lambda: remaining() + LEASE_MARGIN_SECONDS,
            wait=min(LEASE_WAIT_SECONDS, remaining() / 4),
        )
        if holder:
            result["leaseHolder"] = holder
        if lease is None:
            result.update(outcome="busy", reason="another run holds the lease")
            if trigger.kind in ASYNC_TRIGGERS:
                raise LeaseBusy(f"another run holds s3://{cfg.state_bucket}/{cfg.lease_key}")
            return result

        stored = read_state(s3, cfg.state_bucket, cfg.state_key)
        result["storedSyncToken"] = stored.sync_token if stored else None
        body, doc, source, why = _choose_document(s3, cfg, note, stored)
        fresh = stored is None or doc.sync_token > stored.sync_token
        result.update(syncToken=str(doc.sync_token), document=source)
        if why:
            result["reason"] = why
        n4, n6 = select_networks(doc, cfg.services, cfg.regions, cfg.ipv6)
        v4, v6 = [str(n) for n in n4], [str(n) for n in n6]
        result["selected"] = {"ipv4": len(v4), "ipv6": len(v6)}
        check_fits(cfg, v4, v6)
        planned, groups_in_use = plan_targets(cfg, clients, v4, v6)
        if not fresh:
            # This document was applied already: whatever differs was changed behind our back.
            result["drift"] = {t.name: t.drift() for t in planned if t.adds or t.removes}
        for target in planned:
            if target.expected_calls and overtaken(s3, cfg, stored, doc.sync_token):
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
        if not fresh:
            result["outcome"] = "converged"
            return result
        result["outcome"] = commit_state(s3, cfg, body, doc, stored)
        if result["outcome"] == "superseded":
            result["reason"] = "a newer state was stored meanwhile"
        return result
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        if lease is not None:
            result["leaseReleased"] = release_lease(s3, cfg.state_bucket, lease)
        result["durationMs"] = round((_monotonic() - started) * 1000, 1)
        print(json.dumps({"event": "ip-range-sync", **result}, default=str), flush=True)


def handler(event: Any, context: Any) -> dict[str, Any]:
    return run(event, Config.from_env(os.environ), Clients(), context)


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
    try:
        if args.file:
            with open(args.file, "rb") as fh:
                body = fh.read()
        else:
            body = fetch_ranges(IP_RANGES_URL)
    except (OSError, ValueError) as exc:  # URLError, timeouts and refused redirects included
        reason = getattr(exc, "reason", None) or exc
        source = args.file or IP_RANGES_URL
        hint = "" if args.file else " (no network? pass a saved copy with --file)"
        print(f"error: cannot read {source}: {reason}{hint}", file=sys.stderr)
        return 1
    try:
        doc = parse_document(body)
        v4, v6 = select_networks(doc, args.service, args.region, args.ipv6, args.collapse)
    except DocumentRejected as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write("".join(f"{n}\n" for n in [*v4, *v6]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
