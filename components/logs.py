"""The stack's access-log buckets: one private bucket per region that receives logs.

``staticIp.accessLogs`` and ``edge.accessLogs`` (``components/config/access_logs.py`` says which
region receives what) all land in one bucket per region, built by ``private_bucket``: public
access blocked, ACLs disabled (``BucketOwnerEnforced``), SSE-S3, TLS only, and one lifecycle
rule per delivery that deletes its logs after the pattern's ``accessLogRetentionDays``. Each
delivery writes under its own prefix, named after the resource that writes it, and the
bucket policy grants each writer ``s3:PutObject`` under that prefix and nothing else:

* ALB access logs (``static-ip-alb/AWSLogs/<account>/...``): in a Region opened before August
  2022, the Elastic Load Balancing account of that Region (``ELB_ACCOUNTS``); in any other
  Region, the ELB log delivery service principal. The account id in the resource path is what
  keeps other accounts' load balancers out. Only SSE-S3 is supported, which is what every
  bucket here uses.
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
* Global Accelerator flow logs (``static-ip-accelerator/AWSLogs/<account>/...``): the vended
  logs principal ``delivery.logs.amazonaws.com``, ``s3:PutObject`` with the
  ``bucket-owner-full-control`` ACL and ``s3:GetBucketAcl`` on the bucket, as that guide's
  policy has them (no ``aws:SourceAccount``/``aws:SourceArn`` there: the account id in the path
  scopes it, as for the ALB).
  https://docs.aws.amazon.com/global-accelerator/latest/dg/monitoring-global-accelerator.flow-logs.html
* CloudFront standard logs v2 (``edge-cdn/...``): the same vended logs principal, with
  ``aws:SourceAccount`` and ``aws:SourceArn`` on the CloudWatch Logs delivery resources of this
  account in us-east-1, where every CloudFront delivery is configured.
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging.html
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-S3.html

With ACLs disabled, S3 still accepts the ``bucket-owner-full-control`` ACL those deliveries
send ("Buckets that use this setting only accept PUT requests that don't specify an ACL or PUT
requests that specify bucket owner full control ACLs"), and owns every object.
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html

The legacy CloudFront logging (``logging_config`` on the distribution) is not used: it needs
ACLs enabled on the bucket and a FULL_CONTROL grant to CloudFront's log account, the opposite of
``BucketOwnerEnforced``.

No ``force_destroy``: the logs are evidence, so ``pulumi destroy`` stops on a bucket that still
holds some (``python -m tools.teardown`` prints how to empty it first).

Built per region: private bucket (with its lifecycle) -> the policy of the deliveries it takes.
The components that write (``static_ip.py``, ``edge.py``) ask ``LogBuckets.target`` for the
bucket, the prefix and the policy to wait for: ELB writes a test file when access logs are
turned on and refuses the setting if it cannot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.buckets import (
    ExpiryRule,
    PrivateBucket,
    PrivateBucketSpec,
    private_bucket,
    tls_only_policy,
)
from components.component import Component
from components.config import LogDelivery
from components.config.access_logs import DeliveryKind
from components.region import Region

ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"
VENDED_LOG_DELIVERY = "delivery.logs.amazonaws.com"
# The account ELB writes access logs from in each Region opened before August 2022: the table of
# "Enable access logs for your Application Load Balancer", Step 2 ("Regions available before
# August 2022"), read 2026-12 through copies that agree (aws-cdk region-info fact tables,
# the Terraform AWS provider), the search tool's excerpt of the page itself stopping short of it:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
# A Region not listed (opened since, or unknown here) takes ELB_LOG_DELIVERY, as that page says
# for Regions available as of August 2022 or later.
ELB_ACCOUNTS: dict[str, str] = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993",
    "cn-northwest-1": "037604701340",
}
# CloudFront standard logging (v2) is configured through CloudWatch Logs in us-east-1 only,
# whatever the bucket's region.
CLOUDFRONT_LOG_REGION = "us-east-1"
OWNER_FULL_CONTROL = {"s3:x-amz-acl": "bucket-owner-full-control"}

# Where each delivery writes in its bucket, named after the resource that writes it.
# None of them contains "AWSLogs", which ELB refuses in a prefix (it appends AWSLogs/ itself).
PREFIXES: dict[str, str] = {
    "alb": "static-ip-alb",
    "accelerator": "static-ip-accelerator",
    "cloudfront": "edge-cdn",
}
TAGS = {"lambda-exposure:purpose": "access-logs"}


@dataclass(frozen=True)
class BucketFacts:
    """What the policy statements are made of, once known."""

    arn: str  # the bucket's
    account: str
    partition: str
    region: str = ""  # the bucket's; "" = not known: the ELB service principal


def delivery_statements(kind: str, facts: BucketFacts) -> list[dict[str, Any]]:
    """The grants one delivery needs on the bucket, and no more."""
    arn, account, prefix = facts.arn, facts.account, PREFIXES[kind]
    if kind == "alb":
        return [
            {
                "Sid": "AlbAccessLogs",
                "Effect": "Allow",
                "Principal": elb_log_principal(facts),
                "Action": "s3:PutObject",
                "Resource": f"{arn}/{prefix}/AWSLogs/{account}/*",
            }
        ]
    if kind == "accelerator":
        return [
            {
                "Sid": "AcceleratorFlowLogs",
                "Effect": "Allow",
                "Principal": {"Service": VENDED_LOG_DELIVERY},
                "Action": "s3:PutObject",
                "Resource": f"{arn}/{prefix}/AWSLogs/{account}/*",
                "Condition": {"StringEquals": OWNER_FULL_CONTROL},
            }
        ]
    if kind == "cloudfront":
        return [
            {
                "Sid": "CloudFrontAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": VENDED_LOG_DELIVERY},
                "Action": "s3:PutObject",
                # A delivery destination with a prefix writes under it, without AWSLogs/.
                "Resource": f"{arn}/{prefix}/*",
                "Condition": {
                    "StringEquals": {**OWNER_FULL_CONTROL, "aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": _cloudfront_delivery_arns(facts)},
                },
            }
        ]
    raise ValueError(f"unknown log delivery {kind!r}")


def elb_log_principal(facts: BucketFacts) -> dict[str, str]:
    """Who writes ALB access logs into a bucket of ``facts.region`` (the ALB's, by rule)."""
    elb_account = ELB_ACCOUNTS.get(facts.region)
    if elb_account is None:
        return {"Service": ELB_LOG_DELIVERY}
    return {"AWS": f"arn:{facts.partition}:iam::{elb_account}:root"}


def _cloudfront_delivery_arns(facts: BucketFacts) -> str:
    # The form the CloudWatch Logs guide gives: arn:aws:logs:<source region>:<account>:*.
    return f"arn:{facts.partition}:logs:{CLOUDFRONT_LOG_REGION}:{facts.account}:*"


def acl_check_statement(facts: BucketFacts) -> dict[str, Any]:
    """Vended logs read the bucket ACL before they write (read only; with ACLs disabled it
    names the owner and nothing else)."""
    return {
        "Sid": "LogDeliveryAclCheck",
        "Effect": "Allow",
        "Principal": {"Service": VENDED_LOG_DELIVERY},
        "Action": "s3:GetBucketAcl",
        "Resource": facts.arn,
    }


def log_bucket_policy(kinds: Sequence[str], facts: BucketFacts) -> str:
    """The bucket policy: each delivery's grants, the ACL check once if a vended log needs it,
    then the refusal of plain HTTP."""
    grants = [s for kind in kinds for s in delivery_statements(kind, facts)]
    if any(kind in ("accelerator", "cloudfront") for kind in kinds):
        grants.append(acl_check_statement(facts))
    return tls_only_policy(facts.arn, grants)


def expiry_for(deliveries: Sequence[LogDelivery]) -> list[ExpiryRule]:
    """One lifecycle rule per delivery's prefix, with its pattern's retention."""
    return [ExpiryRule(f"{PREFIXES[d.kind]}/", d.retention_days) for d in deliveries]


@dataclass(frozen=True)
class LogTarget:
    """Where one delivery writes, and what must exist before it is turned on."""

    bucket: pulumi.Output[str]  # the bucket's name
    bucket_arn: pulumi.Output[str]
    prefix: str
    ready: Sequence[pulumi.Resource]  # the bucket policy (and the settings it follows)


@dataclass(frozen=True)
class LogBucket:
    region: str
    storage: PrivateBucket
    policy: aws.s3.BucketPolicy
    kinds: tuple[str, ...]  # the deliveries its policy admits


@dataclass(frozen=True)
class LogBucketsArgs:
    # Region -> what its bucket receives (components.config.access_log_deliveries).
    deliveries: Mapping[str, Sequence[LogDelivery]]
    region: str  # the stack's: its bucket follows the provider's region


class LogBuckets(Component[LogBucketsArgs]):
    """One private, TLS-only, expiring log bucket per region, with the deliveries' grants."""

    TYPE = "lambda-exposure:index:LogBuckets"
    buckets: dict[str, LogBucket]
    bucket_names: pulumi.Output[dict[str, str]]

    def _build(self) -> pulumi.Inputs:
        invoke_here = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke_here).account_id
        partition = aws.get_partition_output(opts=invoke_here).partition
        self.buckets = {
            region: self._bucket(region, deliveries, account, partition)
            for region, deliveries in self._args.deliveries.items()
        }
        self.bucket_names = pulumi.Output.all(
            **{region: b.storage.bucket.bucket for region, b in self.buckets.items()}
        )
        return {"buckets": self.bucket_names}

    def _bucket(
        self,
        region: str,
        deliveries: Sequence[LogDelivery],
        account: pulumi.Output[str],
        partition: pulumi.Output[str],
    ) -> LogBucket:
        where = Region(region, explicit=region != self._args.region)
        name = f"{self._name}-{region}"
        storage = private_bucket(
            PrivateBucketSpec(
                name,
                parent=self,
                region=where.arg,
                tags={**TAGS, "Name": name},
                expiry=expiry_for(deliveries),
            )
        )
        kinds = [d.kind for d in deliveries]
        policy = pulumi.Output.all(storage.bucket.arn, account, partition).apply(
            lambda parts: log_bucket_policy(
                kinds, BucketFacts(parts[0], parts[1], parts[2], region)
            )
        )
        attached = storage.attach_policy(
            f"{name}-policy", policy, parent=self, after=storage.settled
        )
        return LogBucket(region, storage, attached, tuple(kinds))

    def target(self, region: str, kind: DeliveryKind) -> LogTarget:
        """Where ``kind`` writes in ``region``; the region's bucket must receive it."""
        bucket = self.buckets.get(region)
        # The plan (access_log_deliveries) and the components that write must agree: a target
        # the policy does not admit would be refused by AWS at deploy time, not here.
        if bucket is None or kind not in bucket.kinds:
            raise ValueError(f"the {region} log bucket does not receive {kind} logs")
        return LogTarget(
            bucket=bucket.storage.bucket.bucket,
            bucket_arn=bucket.storage.bucket.arn,
            prefix=PREFIXES[kind],
            ready=[bucket.policy],
        )
