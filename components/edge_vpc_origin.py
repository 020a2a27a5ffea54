"""The edge pattern's ``origin: vpc``: CloudFront VPC origin → internal ALB → Lambda.

Instead of one AWS_IAM function URL per function, CloudFront sends requests through a *VPC
origin* to an internal Application Load Balancer in the VPC's private subnets, which invokes
the functions (``components/alb.py``'s builder, as for ``staticIp``). Nothing is signed and no
function URL exists: the ALB has no public address, and its security group admits only what
CloudFront's VPC origins send from.

**Which source the group admits.** The CloudFront Developer Guide ("Restrict access with VPC
origins", section "Security Group Configuration") documents two ways to let a VPC origin in:
the CloudFront managed prefix list ``com.amazonaws.global.cloudfront.origin-facing`` ("can be
done before the VPC origin is created"), or the service-managed group
``CloudFront-VPCOrigins-Service-SG`` that CloudFront creates in the VPC with the first VPC
origin ("can be done only after the VPC origin is created ... further restrictive").
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html
This module uses the prefix list: the rule exists before the VPC origin, so one ``pulumi up``
builds a working path and a preview shows the rule as it will be. The service group exists only
once CloudFront has deployed the origin (minutes into the update), it is found only by a name
pattern AWS reserves, and a preview could not show the rule. For an internal ALB, which only a
VPC origin in its VPC can reach from those addresses, our reading is that the two differ only in
a VPC shared with other accounts (VPC sharing), whose VPC origins send from the same prefix list
(docs/patterns/edge.md, Caveats); the guide does not say what else the service group excludes.
The list weighs 55 rules
against the group's quota of 60 (``components/quotas.py``), so it is referenced once, on the one
port the VPC origin uses.

**HTTP inside, on port 80.** The VPC origin's protocol policy is ``http-only``: the hop runs
from CloudFront into the VPC over AWS's private connection (the guide's "private, secure
connection"), and HTTPS there would need a certificate for a name of the user's on the ALB and
that name as the origin domain, which the program cannot provide for an ALB it names itself.

**One ALB per entry.** With ``staticIp`` on in the same region, each entry has its own ALB: the
security groups admit different sources (clients or CloudFront), ``staticIp.waf`` would see
CloudFront's addresses as the clients (its per-IP rate limit would throttle every viewer at
once), and each ALB routes only the functions its entry exposes (``functions[].expose``), so a
request through CloudFront can never reach a function only ``staticIp`` serves.

Built in the order a request travels: the origin-facing prefix list (looked up) → the ALB (its
group admitting the list, target groups, permissions, listener, path rules) → the VPC origin
(after the listener and, in a new VPC, the internet gateway) → the distribution's origin entry.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alb import HTTP_PORT, HTTPS_PORT, AlbSpec, LambdaAlb, build_alb
from components.function import ExposedFunction
from components.network import Network
from components.region import Region

# AWS-managed, IPv4: VPC origins need an IPv4 address in the subnet ("IPv6-only subnets are not
# supported"), and the ALB of a VPC this stack creates is IPv4 only.
# https://docs.aws.amazon.com/vpc/latest/userguide/working-with-aws-managed-prefix-lists.html
ORIGIN_FACING_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
# "AWS-managed prefix list weight": a reference to this list counts as 55 rules (same page).
ORIGIN_FACING_WEIGHT = 55
VPC_ORIGIN_ID = "vpc-origin"
ORIGIN_PORT = HTTP_PORT
ORIGIN_PROTOCOL_POLICY = "http-only"
# The API reference gives no limit for the VPC origin's name; the AWS CDK caps the names it
# generates for it at 64 characters, and so does this.
NAME_LIMIT = 64
TAGS = {"lambda-exposure:pattern": "edge"}


@dataclass(frozen=True)
class VpcOriginSpec:
    """What the VPC origin and its ALB are built from."""

    prefix: str  # children are "<prefix>-alb", "<prefix>-tg-<function>", ..., and "<prefix>"
    parent: pulumi.Resource
    region: Region  # the stack's: an ALB invokes only functions of its own region
    network: Network  # the ALB goes in its private subnets
    functions: Sequence[ExposedFunction]


@dataclass(frozen=True)
class VpcOriginAlb:
    """The internal ALB, the VPC origin in front of it, and the distribution's origin entry."""

    alb: LambdaAlb
    vpc_origin: aws.cloudfront.VpcOrigin
    origin: aws.cloudfront.DistributionOriginArgsDict


def vpc_origin_name(prefix: str) -> str:
    """``<project>-<stack>-<prefix>``: readable in the console, unique per stack; hashed down to
    the limit when a long stack name would pass it."""
    full = f"{pulumi.get_project()}-{pulumi.get_stack()}-{prefix}"
    readable = re.sub(r"[^A-Za-z0-9-]+", "-", full, flags=re.ASCII)
    if len(readable) <= NAME_LIMIT:
        return readable
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{readable[: NAME_LIMIT - len(digest) - 1].rstrip('-')}-{digest}"


def build_vpc_origin(spec: VpcOriginSpec) -> VpcOriginAlb:
    """The prefix list lookup, the ALB, the VPC origin, and the origin the distribution uses."""
    origin_facing = aws.ec2.get_managed_prefix_list_output(
        name=ORIGIN_FACING_PREFIX_LIST,
        region=spec.region.arg,
        opts=pulumi.InvokeOutputOptions(parent=spec.parent),
    )
    alb = build_alb(
        AlbSpec(
            prefix=spec.prefix,
            parent=spec.parent,
            region=spec.region,
            network=spec.network,
            functions=spec.functions,
            ingress=[{"prefix_list_id": origin_facing.id}],
            description="lambda-exposure edge: CloudFront VPC origins to the internal ALB",
            # No HTTPS listener: the VPC origin connects over HTTP (module docstring).
            ssl_policy="",
            tags=TAGS,
        )
    )
    vpc_origin = aws.cloudfront.VpcOrigin(
        spec.prefix,
        vpc_origin_endpoint_config={
            "name": vpc_origin_name(spec.prefix),
            "arn": alb.alb.arn,
            "http_port": ORIGIN_PORT,
            # Required even with http-only; never used.
            "https_port": HTTPS_PORT,
            "origin_protocol_policy": ORIGIN_PROTOCOL_POLICY,
            "origin_ssl_protocols": {"items": ["TLSv1.2"], "quantity": 1},
        },
        tags=TAGS,
        # "Your VPC must include ... an internet gateway", even though it carries none of this
        # traffic (guide, "Prerequisites"); and the listener answers the first request.
        opts=pulumi.ResourceOptions(
            parent=spec.parent,
            depends_on=[*alb.listeners.values(), *spec.network.internet_ready],
        ),
    )
    origin: aws.cloudfront.DistributionOriginArgsDict = {
        "origin_id": VPC_ORIGIN_ID,
        # The ALB's DNS name, as the AWS CDK sets for a VPC origin to an ALB; the viewer's
        # Host is not forwarded (ALL_VIEWER_EXCEPT_HOST_HEADER), so this is the Host it sees.
        "domain_name": alb.alb.dns_name,
        "vpc_origin_config": {"vpc_origin_id": vpc_origin.id},
    }
    return VpcOriginAlb(alb=alb, vpc_origin=vpc_origin, origin=origin)
