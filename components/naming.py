"""Physical names that AWS accepts, for every config the program accepts.

Pulumi autonames a resource ``<logical name>-<7 random characters>``; the provider refuses a
name longer than the service allows *at preview*, before anything is created. A logical name
built from config (a function name of up to 40 characters, a region of ``staticIp.regions``)
can make that name too long: ``static-ip-tg-orders-service`` plus the suffix is 35 characters
where a target group takes 32.

``physical_name(logical, kind)`` keeps autonaming whenever the suffix fits (a resource deployed
with an autoname keeps it: changing ``name`` would replace it). Otherwise it returns an explicit
name: a readable prefix of the logical name (a region shortened to its usual code,
``ap-southeast-2`` -> ``apse2``), truncated, then ``-`` and a hash of the project, the stack and
the full logical name. The hash makes the name unique in the stack *and* between two stacks of
the project in one account (physical names are unique per account and region, not per stack),
and it is deterministic, so previews and deployments agree. Logical names, and so URNs, never
change here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# Pulumi's autoname: "-" and 7 random characters after the logical name.
AUTONAME_SUFFIX = 8
HASH_LENGTH = 8


@dataclass(frozen=True)
class NameRule:
    """What a service accepts as a name: the limit, the characters, what it may not start with."""

    limit: int
    allowed: str  # a regex character class body
    reserved_prefixes: tuple[str, ...] = ()
    # Characters a name may not begin or end with.
    edges: str = ""
    lowercase: bool = False
    url: str = ""

    def accepts(self, name: str) -> bool:
        return (
            0 < len(name) <= self.limit
            and re.fullmatch(f"[{self.allowed}]+", name, flags=re.ASCII) is not None
            and not name.startswith(self.reserved_prefixes)
            and not (self.edges and (name[0] in self.edges or name[-1] in self.edges))
            and not (self.lowercase and name != name.lower())
        )


_ELB = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html"
_TG = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html"
_LAMBDA = "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html"
_IAM = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"

# The kinds whose logical names grow with config (function names, regions) past what an
# autoname can carry. Every other limited name of the program is a constant that fits with the
# suffix, or a config value validated by components/config.py (tests/test_names.py checks all
# of them on the longest config the program accepts).
KINDS: dict[str, NameRule] = {
    # "must contain only alphanumeric characters or hyphens, must not begin or end with a
    # hyphen, and must not begin with internal-"
    "load-balancer": NameRule(32, "A-Za-z0-9-", ("internal-",), "-", url=_ELB),
    "target-group": NameRule(32, "A-Za-z0-9-", (), "-", url=_TG),
    "lambda-function": NameRule(64, "A-Za-z0-9_-", url=_LAMBDA),
    "iam-role": NameRule(64, r"\w+=,.@-", url=_IAM),
}

_COMPASS = (("central", "c"), ("north", "n"), ("south", "s"), ("east", "e"), ("west", "w"))


def region_code(region: str) -> str:
    """The short form people write for a region: ``ap-southeast-2`` -> ``apse2``."""
    parts = region.split("-")
    middle = []
    for word in parts[1:-1]:
        for long, short in _COMPASS:
            word = word.replace(long, short)
        middle.append(word)
    return parts[0] + "".join(middle) + parts[-1]


def autoname_fits(logical: str, kind: str) -> bool:
    """Whether Pulumi's ``<logical>-<7 characters>`` is a name the service accepts."""
    return KINDS[kind].accepts(f"{logical}-{'0' * (AUTONAME_SUFFIX - 1)}")


def explicit_name(logical: str, kind: str, scope: str, region: str | None = None) -> str:
    """The deterministic name for a logical name whose autoname would not fit."""
    rule = KINDS[kind]
    digest = hashlib.sha256(f"{scope}/{logical}".encode()).hexdigest()[:HASH_LENGTH]
    readable = logical.replace(region, region_code(region)) if region else logical
    if rule.lowercase:
        readable = readable.lower()
    readable = re.sub(f"[^{rule.allowed}]+", "-", readable, flags=re.ASCII)
    for prefix in rule.reserved_prefixes:
        readable = readable.removeprefix(prefix)
    strip = rule.edges or "-"
    readable = readable[: rule.limit - HASH_LENGTH - 1].strip(strip)
    return f"{readable}-{digest}" if readable else digest


def physical_name(logical: str, kind: str, region: str | None = None) -> str | None:
    """``None`` (keep Pulumi's autoname) when it fits the kind's rule, else an explicit name.

    ``region``, when the logical name contains one, is shortened in the readable part only.
    """
    if autoname_fits(logical, kind):
        return None
    import pulumi

    return explicit_name(logical, kind, f"{pulumi.get_project()}/{pulumi.get_stack()}", region)
