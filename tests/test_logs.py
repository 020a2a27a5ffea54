"""Access logs (staticIp.accessLogs, edge.accessLogs): the log buckets and deliveries, mocked.

Every expectation about a bucket is read from the bucket the program registered (its name and
ARN outputs), the account from the mocks' caller identity, the retention from the config: a
test fails when the wiring breaks (a prefix the policy does not cover, a bucket in the wrong
region, a delivery turned on before its grant), not when a random suffix changes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.config import access_log_deliveries, parse_config
from tests.graph import (
    ACCELERATOR,
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_OWNERSHIP,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    DISTRIBUTION,
    LB,
)
from tests.samples import SHIPPED
from tools.synth import ACCOUNT, Resource, Synth, load_stack_file

LOG_BUCKETS = "lambda-exposure:index:LogBuckets"
PUBLIC_ACCESS = BUCKET_PUBLIC_ACCESS_BLOCK
OWNERSHIP = BUCKET_OWNERSHIP
ENCRYPTION = BUCKET_ENCRYPTION
POLICY = BUCKET_POLICY
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
DESTINATION = "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination"
DELIVERY = "aws:cloudwatch/logDelivery:LogDelivery"
LOG_TYPES = {BUCKET, PUBLIC_ACCESS, OWNERSHIP, ENCRYPTION, LIFECYCLE, POLICY}

ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"
# From the table of regional ELB accounts in "Enable access logs for your Application Load
# Balancer" (Regions available before August 2022), copied here on purpose: the test checks the
# program's table against the documented values, not against itself.
ELB_ACCOUNT_EU_WEST_1 = "156460612806"
ELB_ACCOUNTS_DOCUMENTED = {
    "eu-west-1": ELB_ACCOUNT_EU_WEST_1,
    "us-east-1": "127311923021",
    "ap-southeast-2": "783225319266",
}
VENDED = "delivery.logs.amazonaws.com"
DENY_HTTP = "DenyInsecureTransport"


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def static_ip(**settings: Any) -> dict[str, Any]:
    return {"staticIp": {"enabled": True, "accessLogs": True, **settings}}


def edge(**settings: Any) -> dict[str, Any]:
    return {"edge": {"enabled": True, "accessLogs": True, **settings}}


# -- helpers over the synthesized graph --------------------------------------------------------


def log_buckets(result: Synth) -> dict[str | None, Resource]:
    """The log buckets by their ``region`` input (None: the provider's, the stack region)."""
    component = result.one(LOG_BUCKETS)
    buckets = [r for r in result.children_of(component) if r.type == BUCKET]
    by_region = {b.region: b for b in buckets}
    assert len(by_region) == len(buckets), "two log buckets in one region"
    return by_region


def of_bucket(result: Synth, type_: str, bucket: Resource) -> Resource:
    """The one resource of ``type_`` configuring ``bucket`` (by its id input)."""
    found = [r for r in result.of_type(type_) if r.inputs.get("bucket") == bucket.outputs["id"]]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def statements(result: Synth, bucket: Resource) -> dict[str, dict[str, Any]]:
    policy = json.loads(of_bucket(result, POLICY, bucket).inputs["policy"])
    assert policy["Version"] == "2012-10-17"
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert len(by_sid) == len(policy["Statement"]), "repeated Sid"
    return by_sid


def albs(result: Synth) -> list[Resource]:
    return [r for r in result.of_type(LB) if r.inputs["loadBalancerType"] == "application"]


def tls_deny(arn: str) -> dict[str, Any]:
    return {
        "Sid": DENY_HTTP,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def acl_check(arn: str) -> dict[str, Any]:
    return {
        "Sid": "LogDeliveryAclCheck",
        "Effect": "Allow",
        "Principal": {"Service": VENDED},
        "Action": "s3:GetBucketAcl",
        "Resource": arn,
    }


# -- off by default ------------------------------------------------------------------------------


def _logs_on(config: dict[str, Any]) -> bool:
    return any(
        isinstance(v, dict) and v.get("accessLogs") and k.endswith(("staticIp", "edge"))
        for k, v in config.items()
    )


@pytest.mark.parametrize(
    "config",
    [
        {"staticIp": {"enabled": True}},
        {"staticIp": {"enabled": True, "entry": "nlb"}},
        {"edge": {"enabled": True}},
        # API access logs stay in CloudWatch Logs: they never make a log bucket.
        {"ipRestrictedApi": {"enabled": True, "accessLogs": True}},
        # A retention without accessLogs turns nothing on.
        {"staticIp": {"enabled": True, "accessLogRetentionDays": 7}},
        # accessLogs of a pattern that is not enabled.
        {"edge": {"enabled": False, "accessLogs": True}, "staticIp": {"enabled": True}},
    ],
    ids=["static-ip", "nlb", "edge", "api-logs", "retention-only", "disabled-pattern"],
)
def test_no_log_bucket_and_no_delivery_unless_access_logs_are_on(synth, config) -> None:
    result = synth(config)
    assert not result.of_type(LOG_BUCKETS)
    assert not [r for r in result.resources if r.type in {LIFECYCLE, SOURCE, DESTINATION}]
    assert not result.of_type(DELIVERY)
    assert all("accessLogs" not in r.inputs for r in result.of_type(LB))
    assert all("attributes" not in r.inputs for r in result.of_type(ACCELERATOR))
    assert all("logging" not in r.inputs for r in result.of_type(DISTRIBUTION))
    assert "logBuckets" not in result.outputs


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_have_log_buckets_exactly_when_they_turn_logs_on(synth, path) -> None:
    config = load_stack_file(path)
    result = synth(config)
    assert bool(result.of_type(LOG_BUCKETS)) == _logs_on(config), path.name


# -- the bucket ------------------------------------------------------------------------------------


def test_the_log_bucket_is_private_encrypted_tls_only_and_kept_on_destroy(synth) -> None:
    result = synth(static_ip())
    (bucket,) = log_buckets(result).values()
    # Logs are evidence: a destroy stops on a bucket that still holds some.
    assert not bucket.inputs.get("forceDestroy")
    assert of_bucket(result, PUBLIC_ACCESS, bucket).inputs == {
        "bucket": bucket.outputs["id"],
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    # ACLs disabled: the deliveries' bucket-owner-full-control ACL is still accepted.
    assert of_bucket(result, OWNERSHIP, bucket).inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }
    # SSE-S3: the only server-side encryption ALB access logs support.
    assert of_bucket(result, ENCRYPTION, bucket).inputs["rules"] == [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
    ]
    by_sid = statements(result, bucket)
    assert by_sid[DENY_HTTP] == tls_deny(bucket.outputs["arn"])
    # S3 refuses concurrent bucket-level changes: the policy follows every setting.
    policy = of_bucket(result, POLICY, bucket)
    for type_ in (PUBLIC_ACCESS, OWNERSHIP, ENCRYPTION, LIFECYCLE):
        assert result.depends_on(policy, of_bucket(result, type_, bucket)), type_


@pytest.mark.parametrize("days", [1, 30, 400])
def test_lifecycle_expires_each_prefix_after_its_patterns_retention(synth, days) -> None:
    result = synth({**static_ip(accessLogRetentionDays=days), **edge(accessLogRetentionDays=7)})
    (bucket,) = log_buckets(result).values()
    rules = of_bucket(result, LIFECYCLE, bucket).inputs["rules"]
    expiry = {r["filter"]["prefix"]: r["expiration"]["days"] for r in rules}
    alb_prefix = albs(result)[0].inputs["accessLogs"]["prefix"]
    flow_prefix = result.one(ACCELERATOR).inputs["attributes"]["flowLogsS3Prefix"]
    destination = result.one(DESTINATION).inputs["deliveryDestinationConfiguration"]
    cdn_prefix = destination["destinationResourceArn"].removeprefix(bucket.outputs["arn"] + "/")
    # Each delivery's own prefix (with the "/" so static-ip-alb never matches static-ip-albx).
    assert expiry == {f"{alb_prefix}/": days, f"{flow_prefix}/": days, f"{cdn_prefix}/": 7}
    assert all(r["status"] == "Enabled" for r in rules)
    assert len({r["id"] for r in rules}) == len(rules)


def test_default_retention_is_90_days(synth) -> None:
    result = synth({**static_ip(), **edge()})
    (bucket,) = log_buckets(result).values()
    rules = of_bucket(result, LIFECYCLE, bucket).inputs["rules"]
    assert {r["expiration"]["days"] for r in rules} == {90}


def test_log_bucket_names_are_an_output_by_region(synth) -> None:
    result = synth(static_ip(regions=["us-east-1"]))
    buckets = log_buckets(result)
    assert result.outputs["logBuckets"] == {
        (region or result.region): b.outputs["bucket"] for region, b in buckets.items()
    }


# -- ALB access logs -------------------------------------------------------------------------------


def test_alb_writes_to_its_regions_bucket_under_a_prefix_the_policy_admits(synth) -> None:
    result = synth(static_ip())
    (bucket,) = log_buckets(result).values()
    (alb,) = albs(result)
    logs = alb.inputs["accessLogs"]
    assert logs == {"bucket": bucket.outputs["bucket"], "prefix": logs["prefix"], "enabled": True}
    # ELB refuses a prefix containing AWSLogs (it appends AWSLogs/<account>/ itself).
    assert "AWSLogs" not in logs["prefix"] and not logs["prefix"].endswith("/")
    arn = bucket.outputs["arn"]
    assert statements(result, bucket)["AlbAccessLogs"] == {
        "Sid": "AlbAccessLogs",
        "Effect": "Allow",
        # The stack region (eu-west-1) opened before August 2022: its regional ELB account.
        "Principal": {"AWS": f"arn:aws:iam::{ELB_ACCOUNT_EU_WEST_1}:root"},
        "Action": "s3:PutObject",
        # This account's path only: no other account's load balancer may write here.
        "Resource": f"{arn}/{logs['prefix']}/AWSLogs/{ACCOUNT}/*",
    }


@pytest.mark.parametrize(
    ("region", "principal"),
    [
        ("us-east-1", {"AWS": "arn:aws:iam::127311923021:root"}),
        ("ap-southeast-3", {"AWS": "arn:aws:iam::589379963580:root"}),
        # Opened after August 2022 (Malaysia, 2024; Mexico, 2025): the log delivery principal.
        ("ap-southeast-5", {"Service": ELB_LOG_DELIVERY}),
        ("mx-central-1", {"Service": ELB_LOG_DELIVERY}),
    ],
)
def test_the_alb_log_writer_is_the_regions_elb_account_or_the_service_principal(
    synth, region, principal
) -> None:
    result = synth(static_ip(), region=region)
    (bucket,) = log_buckets(result).values()
    grant = statements(result, bucket)["AlbAccessLogs"]
    assert grant["Principal"] == principal
    (alb,) = albs(result)
    prefix = alb.inputs["accessLogs"]["prefix"]
    assert grant["Resource"] == f"{bucket.outputs['arn']}/{prefix}/AWSLogs/{ACCOUNT}/*"


def test_alb_enables_logs_only_after_the_bucket_policy_exists(synth) -> None:
    # ELB writes a test file when access logs are turned on and refuses them otherwise.
    result = synth(static_ip())
    (bucket,) = log_buckets(result).values()
    (alb,) = albs(result)
    assert result.depends_on(alb, of_bucket(result, POLICY, bucket))


def test_nlb_entry_logs_its_alb_and_grants_nothing_for_flow_logs(synth) -> None:
    result = synth(static_ip(entry="nlb"))
    (bucket,) = log_buckets(result).values()
    (alb,) = albs(result)
    assert alb.inputs["accessLogs"]["bucket"] == bucket.outputs["bucket"]
    (nlb,) = [r for r in result.of_type(LB) if r.inputs["loadBalancerType"] == "network"]
    assert "accessLogs" not in nlb.inputs  # TCP listeners: NLB access logs cover TLS only
    assert not result.of_type(ACCELERATOR)
    assert set(statements(result, bucket)) == {"AlbAccessLogs", DENY_HTTP}
    rules = of_bucket(result, LIFECYCLE, bucket).inputs["rules"]
    assert [r["filter"]["prefix"] for r in rules] == [f"{alb.inputs['accessLogs']['prefix']}/"]


def test_each_region_of_static_ip_gets_its_own_bucket_for_its_alb(synth) -> None:
    extra = ["us-east-1", "ap-southeast-2"]
    # The stack region listed among the regions only sets its dial: no second bucket.
    result = synth(static_ip(regions=[*extra, "eu-west-1"]))
    buckets = log_buckets(result)
    assert set(buckets) == {None, *extra}
    for region, bucket in buckets.items():
        # An ALB takes only a bucket of its own region.
        (alb,) = [a for a in albs(result) if a.region == region]
        assert alb.inputs["accessLogs"]["bucket"] == bucket.outputs["bucket"]
        assert result.depends_on(alb, of_bucket(result, POLICY, bucket))
        for type_ in (PUBLIC_ACCESS, OWNERSHIP, ENCRYPTION, LIFECYCLE, POLICY):
            assert of_bucket(result, type_, bucket).region == region
        by_sid = statements(result, bucket)
        prefix = alb.inputs["accessLogs"]["prefix"]
        arn = bucket.outputs["arn"]
        assert by_sid["AlbAccessLogs"]["Resource"] == f"{arn}/{prefix}/AWSLogs/{ACCOUNT}/*"
        # Each bucket grants the ELB account of its own region.
        elb_account = ELB_ACCOUNTS_DOCUMENTED[region or result.region]
        assert by_sid["AlbAccessLogs"]["Principal"] == {"AWS": f"arn:aws:iam::{elb_account}:root"}
        # Flow logs go to the stack region's bucket only.
        expected = {"AlbAccessLogs", DENY_HTTP}
        if region is None:
            expected |= {"AcceleratorFlowLogs", "LogDeliveryAclCheck"}
        assert set(by_sid) == expected, region


# -- Global Accelerator flow logs ------------------------------------------------------------------


def test_accelerator_flow_logs_go_to_the_stack_regions_bucket(synth) -> None:
    result = synth(static_ip(regions=["us-east-1"]))
    bucket = log_buckets(result)[None]
    accelerator = result.one(ACCELERATOR)
    attributes = accelerator.inputs["attributes"]
    prefix = attributes["flowLogsS3Prefix"]
    assert attributes == {
        "flowLogsEnabled": True,
        "flowLogsS3Bucket": bucket.outputs["bucket"],
        "flowLogsS3Prefix": prefix,
    }
    assert prefix and "AWSLogs" not in prefix and prefix != "/"
    # Protected as before: flow logs change nothing about the static IPs' protection.
    assert accelerator.protect
    assert result.depends_on(accelerator, of_bucket(result, POLICY, bucket))
    arn = bucket.outputs["arn"]
    by_sid = statements(result, bucket)
    assert by_sid["AcceleratorFlowLogs"] == {
        "Sid": "AcceleratorFlowLogs",
        "Effect": "Allow",
        "Principal": {"Service": VENDED},
        "Action": "s3:PutObject",
        "Resource": f"{arn}/{prefix}/AWSLogs/{ACCOUNT}/*",
        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
    }
    assert by_sid["LogDeliveryAclCheck"] == acl_check(arn)


def test_the_alb_and_the_flow_logs_never_share_a_prefix(synth) -> None:
    result = synth(static_ip())
    alb_prefix = albs(result)[0].inputs["accessLogs"]["prefix"]
    flow_prefix = result.one(ACCELERATOR).inputs["attributes"]["flowLogsS3Prefix"]
    assert not alb_prefix.startswith(flow_prefix) and not flow_prefix.startswith(alb_prefix)


# -- CloudFront standard logs (v2) -----------------------------------------------------------------


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1", "ap-southeast-2"])
def test_cloudfront_logs_are_configured_in_us_east_1_into_the_stack_regions_bucket(
    synth, region
) -> None:
    result = synth(edge(), region=region)
    (bucket,) = log_buckets(result).values()
    assert bucket.region is None  # the provider's region: the stack's
    distribution = result.one(DISTRIBUTION)
    source, destination, delivery = (result.one(t) for t in (SOURCE, DESTINATION, DELIVERY))
    # CloudFront's log delivery is set up through CloudWatch Logs in us-east-1 only.
    assert {source.region, destination.region, delivery.region} == {"us-east-1"}
    assert source.inputs == {
        "logType": "ACCESS_LOGS",
        "resourceArn": distribution.outputs["arn"],
        "region": "us-east-1",
    }
    target = destination.inputs["deliveryDestinationConfiguration"]["destinationResourceArn"]
    assert target.startswith(bucket.outputs["arn"] + "/")
    assert destination.inputs["outputFormat"] == "w3c"
    assert delivery.inputs["deliverySourceName"] == source.outputs["name"]
    assert delivery.inputs["deliveryDestinationArn"] == destination.outputs["arn"]
    # The delivery starts writing at once: the bucket policy must admit it first.
    assert result.depends_on(delivery, of_bucket(result, POLICY, bucket))
    # No legacy logging: it would need ACLs enabled on the bucket.
    assert "loggingConfig" not in distribution.inputs


def test_cloudfront_delivery_statement_is_scoped_to_this_account_and_its_prefix(synth) -> None:
    result = synth(edge())
    (bucket,) = log_buckets(result).values()
    arn = bucket.outputs["arn"]
    target = result.one(DESTINATION).inputs["deliveryDestinationConfiguration"]
    prefix = target["destinationResourceArn"].removeprefix(f"{arn}/")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", prefix), prefix
    by_sid = statements(result, bucket)
    assert by_sid["CloudFrontAccessLogs"] == {
        "Sid": "CloudFrontAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": VENDED},
        "Action": "s3:PutObject",
        # With a prefix, v2 logging writes under it (no AWSLogs/ added).
        "Resource": f"{arn}/{prefix}/*",
        "Condition": {
            "StringEquals": {
                "s3:x-amz-acl": "bucket-owner-full-control",
                "aws:SourceAccount": ACCOUNT,
            },
            "ArnLike": {"aws:SourceArn": f"arn:aws:logs:us-east-1:{ACCOUNT}:*"},
        },
    }
    assert by_sid["LogDeliveryAclCheck"] == acl_check(arn)
    assert set(by_sid) == {"CloudFrontAccessLogs", "LogDeliveryAclCheck", DENY_HTTP}


def test_edge_and_static_ip_share_the_stack_regions_bucket(synth) -> None:
    result = synth({**static_ip(regions=["us-east-1"]), **edge()})
    buckets = log_buckets(result)
    assert set(buckets) == {None, "us-east-1"}
    home = buckets[None]
    destination = result.one(DESTINATION).inputs["deliveryDestinationConfiguration"]
    assert destination["destinationResourceArn"].startswith(home.outputs["arn"] + "/")
    by_sid = statements(result, home)
    # One ACL check for both vended logs.
    assert set(by_sid) == {
        "AlbAccessLogs",
        "AcceleratorFlowLogs",
        "CloudFrontAccessLogs",
        "LogDeliveryAclCheck",
        DENY_HTTP,
    }
    assert set(statements(result, buckets["us-east-1"])) == {"AlbAccessLogs", DENY_HTTP}


# -- names AWS accepts -----------------------------------------------------------------------------


def test_log_resource_names_fit_what_aws_and_cloudfront_accept(synth) -> None:
    # The longest region names, everything on.
    result = synth(
        {**static_ip(regions=["ap-southeast-2", "ap-northeast-3"]), **edge()},
        region="ap-southeast-1",
    )
    for bucket in log_buckets(result).values():
        name = bucket.outputs["bucket"]
        # S3 naming rules, and CloudFront v2's destination, whose bucket name is [\w-] only.
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name), name
    for type_ in (SOURCE, DESTINATION):
        # PutDeliverySource / PutDeliveryDestination: 1 to 60 of [\w-].
        name = result.one(type_).outputs["name"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,60}", name), name


# -- the plan, as the program reads it -----------------------------------------------------------


def test_access_log_plan_names_each_region_and_delivery_once() -> None:
    config = parse_config(
        {
            "staticIp": {
                "enabled": True,
                "accessLogs": True,
                "accessLogRetentionDays": 14,
                "regions": ["us-east-1", "eu-west-1", {"region": "ap-southeast-2"}],
            },
            "edge": {"enabled": True, "accessLogs": True, "accessLogRetentionDays": 3},
        },
        "eu-west-1",
    )
    plan = {
        region: [(d.kind, d.retention_days) for d in deliveries]
        for region, deliveries in access_log_deliveries(config).items()
    }
    assert plan == {
        "eu-west-1": [("alb", 14), ("accelerator", 14), ("cloudfront", 3)],
        "us-east-1": [("alb", 14)],
        "ap-southeast-2": [("alb", 14)],
    }
    assert next(iter(plan)) == "eu-west-1"  # the stack region's bucket is created first
