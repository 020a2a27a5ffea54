"""IpRangeSync: a function on AWS's ``AmazonIpSpaceChanged`` topic keeps allow-lists current.

Seed 003: API Gateway (and CloudFront, EC2...) addresses change without a schedule, so a firewall
that allow-lists them must follow ``ip-ranges.json``: "add an Amazon SNS topic trigger for a
Lambda function [that] compares IP address ranges between a previously stored version in Amazon
S3 and the newly updated ip-ranges.json file [and] updates IP addresses in security groups or AWS
WAF rules", and "create a customer-managed prefix list" to centralize them.

Arrows of the seed, in the order they are built here:
  targets (managed prefix list per family, a pool of security groups, WAF IP set per family) →
  state bucket (last applied document, the runs' lease) → failure queue → function
  (handlers/ip_range_sync.py) with a role scoped to exactly those → ``AmazonIpSpaceChanged``
  (us-east-1) subscription →
  daily schedule (SNS delivery is not guaranteed) → one synchronous run during ``pulumi up``.

Pulumi creates the targets empty and never touches their contents again: the function owns the
prefix lists' entries and size, the groups' ingress rules and the IP sets' addresses
(``ignore_changes`` on exactly those properties), so ``pulumi up`` and the function never fight.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.bucket_policy import deny_insecure_transport
from components.config import IpRangeSyncConfig
from components.function import (
    ARCHITECTURE,
    RUNTIME,
    code_archive,
    lambda_assume_role_policy,
    logging_policy,
)
from components.network import Network

HANDLER_MODULE = "ip_range_sync"

# AWS publishes every change of ip-ranges.json on this topic, in us-east-1 only:
# https://docs.aws.amazon.com/vpc/latest/userguide/subscribe-notifications.html
IP_SPACE_CHANGED_TOPIC_ARN = "arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged"
TOPIC_REGION = IP_SPACE_CHANGED_TOPIC_ARN.split(":")[3]

# "AWS doesn't support cross-region delivery to Lambda from a region that is enabled by default
# to an opt-in region" (https://docs.aws.amazon.com/sns/latest/dg/lambda-prereq.html); the topic
# lives in us-east-1, enabled by default. The list is the SNS guide's opt-in table
# (https://docs.aws.amazon.com/sns/latest/dg/sns-cross-region-delivery.html, which includes
# ap-northeast-3) plus the regions launched since, which are opt-in by that page's definition
# ("any regions launched after March 20, 2019").
SNS_OPT_IN_REGIONS = frozenset(
    {
        "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-3", "ap-south-2", "ap-southeast-3",
        "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1",
        "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1",
        "mx-central-1",
    }
)  # fmt: skip

FUNCTION_TIMEOUT_SECONDS = 300  # a prefix list modification can stay "in progress" for a minute
FUNCTION_MEMORY_MB = 256  # one 2.5 MB JSON document; measured by bench/ip_range_sync.py
ASYNC_RETRIES = 2  # Lambda's own default, written down: SNS and EventBridge invoke asynchronously
ASYNC_MAX_EVENT_AGE_SECONDS = 6 * 3600
FAILURE_RETENTION_SECONDS = 14 * 24 * 3600  # SQS maximum: time to read why a sync failed
# A prefix list needs MaxEntries >= 1 at creation. Start at the minimum: where the list is
# referenced, MaxEntries (not the entries in use) counts against the referencing quota, so the
# function grows it to what the selection needs, never more.
INITIAL_MAX_ENTRIES = 1
# The object that serializes the function's runs (handlers/ip_range_sync.py, acquire_lease). One
# per bucket, not per state key: runs with an old and a new selection write the same targets.
LEASE_KEY = "ip-range-sync/lease"
# What the deploy-time run sends: the handler answers "busy" to it, never an error, when another
# run holds the lease (SNS and the schedule raise instead, for Lambda's retry).
INITIAL_SYNC_EVENT = {"trigger": "deploy"}

_FAMILIES = {4: ("IPv4", "IPV4"), 6: ("IPv6", "IPV6")}  # prefix list / WAF spellings


def families(config: IpRangeSyncConfig) -> list[int]:
    """Address families the targets carry: IPv4 always, IPv6 when ``ipv6`` is on."""
    return [4, 6] if config.ipv6 else [4]


def state_key_for(selection: Mapping[str, str]) -> str:
    """Object key of the last applied document, specific to what is selected and where it goes.

    Every run converges the targets, but the deploy-time run happens only when its trigger, this
    key, changes: a key derived from the selection and the target ids makes a changed selection
    (or a replaced target) start from no state and be applied during that `pulumi up`, instead
    of at the next schedule or AWS publication.
    """
    digest = hashlib.sha256(json.dumps(dict(selection), sort_keys=True).encode()).hexdigest()
    return f"ip-range-sync/{digest[:16]}.json"


def sync_policy(
    *,
    prefix_list_arns: Sequence[str],
    security_group_arns: Sequence[str],
    ip_set_arns: Sequence[str],
    bucket_arn: str,
    state_key: str,
    failure_queue_arn: str,
    lease_key: str = LEASE_KEY,
) -> dict[str, Any]:
    """Everything the handler calls, on exactly the resources this component created."""
    describe = []
    if prefix_list_arns:
        describe.append("ec2:DescribeManagedPrefixLists")
    if security_group_arns:
        describe.append("ec2:DescribeSecurityGroups")
    statements: list[dict[str, Any]] = []
    if describe:
        # EC2 Describe* calls have no resource-level permissions: "*" is the only valid resource.
        statements.append(
            {"Sid": "ReadTargets", "Effect": "Allow", "Action": describe, "Resource": "*"}
        )
    if prefix_list_arns:
        statements.append(
            {
                "Sid": "SyncPrefixLists",
                "Effect": "Allow",
                "Action": ["ec2:GetManagedPrefixListEntries", "ec2:ModifyManagedPrefixList"],
                "Resource": list(prefix_list_arns),
            }
        )
    if security_group_arns:
        statements.append(
            {
                "Sid": "SyncSecurityGroupRules",
                "Effect": "Allow",
                "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
                "Resource": list(security_group_arns),
            }
        )
    if ip_set_arns:
        statements.append(
            {
                "Sid": "SyncWafIpSets",
                "Effect": "Allow",
                "Action": ["wafv2:GetIPSet", "wafv2:UpdateIPSet"],
                "Resource": list(ip_set_arns),
            }
        )
    statements += [
        {
            "Sid": "ReadWriteState",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"{bucket_arn}/{state_key}",
        },
        {
            # Created with If-None-Match, taken over with If-Match, released with a conditional
            # delete, which needs s3:GetObject next to s3:DeleteObject
            # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html).
            # Delete is granted on this one object and nothing else.
            "Sid": "HoldTheRunLease",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": f"{bucket_arn}/{lease_key}",
        },
        {
            # Without s3:ListBucket, HeadObject on a missing key answers 403 instead of 404 and
            # the first run could not tell "no state yet" from "denied". The bucket is this
            # function's alone, so listing it reveals nothing else.
            "Sid": "TellMissingStateApart",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
        },
        {
            # Lambda delivers the on-failure record with the function's execution role.
            "Sid": "RecordFailures",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": failure_queue_arn,
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def tls_only_bucket_policy(bucket_arn: str) -> dict[str, Any]:
    """Refuse plain-HTTP access to the state bucket (the function uses HTTPS anyway)."""
    return {"Version": "2012-10-17", "Statement": [deny_insecure_transport(bucket_arn)]}


class IpRangeSync(pulumi.ComponentResource):
    """The targets, the function that fills them, and its three triggers (SNS, schedule, deploy)."""

    outputs: dict[str, Any]
    prefix_lists: dict[int, aws.ec2.ManagedPrefixList]
    security_groups: list[aws.ec2.SecurityGroup]
    ip_sets: dict[int, aws.wafv2.IpSet]
    function: aws.lambda_.Function
    function_name: pulumi.Output[str]
    state_bucket: pulumi.Output[str]
    state_key: pulumi.Output[str]
    failure_queue_url: pulumi.Output[str]
    # None when the stack's region cannot receive the topic (opt-in region): schedule only.
    subscription: aws.sns.TopicSubscription | None

    def __init__(
        self,
        name: str,
        config: IpRangeSyncConfig,
        network: Network | None,
        region: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lambda-exposure:index:IpRangeSync", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        tags = {"lambda-exposure:pattern": "ipRangeSync"}
        for note in config.coverage_notes():
            pulumi.log.warn(note, resource=self)

        # -- the targets: created empty, their contents belong to the function ---------------
        self.prefix_lists = {}
        if "prefixList" in config.targets:
            for family in families(config):
                self.prefix_lists[family] = aws.ec2.ManagedPrefixList(
                    f"{name}-ipv{family}",
                    address_family=_FAMILIES[family][0],
                    max_entries=INITIAL_MAX_ENTRIES,
                    tags={**tags, "Name": f"{name}-ipv{family}"},
                    # The function adds/removes entries and grows MaxEntries at run time.
                    # `entries` is optional+computed in the provider (left unset it is not
                    # managed); ignoring both keeps `pulumi up` from shrinking the list back.
                    opts=pulumi.ResourceOptions(
                        parent=self, ignore_changes=["entries", "maxEntries"]
                    ),
                )

        self.security_groups = []
        if "securityGroup" in config.targets:
            if network is None:
                # __main__ creates the network whenever securityGroup is a target.
                raise pulumi.RunError(
                    "lambda-exposure:ipRangeSync: the securityGroup target needs the network"
                )
            count = config.security_group_count
            for index in range(count):
                self.security_groups.append(
                    aws.ec2.SecurityGroup(
                        f"{name}-pool-{index}",
                        vpc_id=network.vpc_id,
                        description=(
                            f"lambda-exposure ipRangeSync pool {index + 1}/{count}: inbound "
                            "rules kept equal to AWS IP ranges by a function"
                        ),
                        # No inline ingress/egress: `ingress` is optional+computed in the
                        # provider, so undeclared rules are left alone; ignore_changes makes
                        # sure a refresh never plans to revoke the function's rules. No egress
                        # either (the provider removes AWS's default allow-all): these groups
                        # only add inbound allowances next to the resource's own group.
                        tags={**tags, "Name": f"{name}-pool-{index}"},
                        opts=pulumi.ResourceOptions(parent=self, ignore_changes=["ingress"]),
                    )
                )

        self.ip_sets = {}
        if "wafIpSet" in config.targets:
            # A CLOUDFRONT-scope IP set can only be created (and called) in us-east-1.
            waf_region = {"region": "us-east-1"} if config.waf_scope == "CLOUDFRONT" else {}
            for family in families(config):
                self.ip_sets[family] = aws.wafv2.IpSet(
                    f"{name}-waf-ipv{family}",
                    scope=config.waf_scope,
                    ip_address_version=_FAMILIES[family][1],
                    addresses=[],
                    description=(
                        f"lambda-exposure ipRangeSync: {', '.join(config.services)} IPv{family}"
                    ),
                    tags=tags,
                    **waf_region,
                    opts=pulumi.ResourceOptions(parent=self, ignore_changes=["addresses"]),
                )

        # -- state and failures ---------------------------------------------------------------
        bucket = aws.s3.Bucket(
            f"{name}-state",
            # Holds a cache of a public document and nothing else: destroying the stack must
            # not stop on it.
            force_destroy=True,
            tags=tags,
            opts=here,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-state-private",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=here,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-state-owner",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=here,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-state-encryption",
            bucket=bucket.id,
            # SSE-S3: encrypted at rest with no KMS key to pay for or to grant the role.
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=here,
        )
        aws.s3.BucketPolicy(
            f"{name}-state-tls-only",
            bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(tls_only_bucket_policy(arn))),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        failures = aws.sqs.Queue(
            f"{name}-failures",
            # SSE-SQS: encrypted, and Lambda needs no KMS grant to deliver to it.
            sqs_managed_sse_enabled=True,
            message_retention_seconds=FAILURE_RETENTION_SECONDS,
            tags=tags,
            opts=here,
        )

        # -- the function's contract (handlers/ip_range_sync.py docstring) --------------------
        selection: dict[str, pulumi.Input[str]] = {
            "SERVICES": ",".join(config.services),
            "REGIONS": ",".join(config.regions),
            "IPV6": "true" if config.ipv6 else "false",
        }
        for family, prefix_list in self.prefix_lists.items():
            selection[f"PREFIX_LIST_IPV{family}_ID"] = prefix_list.id
        if self.security_groups:
            selection["SECURITY_GROUP_IDS"] = pulumi.Output.all(
                *[group.id for group in self.security_groups]
            ).apply(lambda ids: ",".join(ids))
            selection["PORTS"] = ",".join(str(port) for port in config.ports)
            selection["RULES_PER_GROUP"] = str(config.rules_per_group)
        for family, ip_set in self.ip_sets.items():
            selection[f"WAF_IPV{family}_SET"] = pulumi.Output.all(ip_set.name, ip_set.id).apply(
                lambda parts, scope=config.waf_scope: f"{parts[0]}|{parts[1]}|{scope}"
            )
        self.state_key = pulumi.Output.all(**selection).apply(state_key_for)
        environment = {
            **selection,
            "STATE_BUCKET": bucket.bucket,
            "STATE_KEY": self.state_key,
            "LEASE_KEY": LEASE_KEY,
        }

        # -- the function and its role ----------------------------------------------------------
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=config.log_retention_days, tags=tags, opts=here
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=lambda_assume_role_policy("lambda.amazonaws.com"),
            description="lambda-exposure ipRangeSync: writes only the targets it manages",
            tags=tags,
            opts=here,
        )
        logging = aws.iam.RolePolicy(
            f"{name}-logging", role=role.id, policy=logging_policy(log_group.arn), opts=here
        )
        sync = aws.iam.RolePolicy(
            f"{name}-sync",
            role=role.id,
            policy=pulumi.Output.all(
                prefix_list_arns=[p.arn for p in self.prefix_lists.values()],
                security_group_arns=[g.arn for g in self.security_groups],
                ip_set_arns=[s.arn for s in self.ip_sets.values()],
                bucket_arn=bucket.arn,
                state_key=self.state_key,
                lease_key=LEASE_KEY,
                failure_queue_arn=failures.arn,
            ).apply(lambda args: json.dumps(sync_policy(**args))),
            opts=here,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=f"{HANDLER_MODULE}.handler",
            code=code_archive(HANDLER_MODULE),
            role=role.arn,
            memory_size=FUNCTION_MEMORY_MB,
            timeout=FUNCTION_TIMEOUT_SECONDS,
            logging_config={"log_format": "Text", "log_group": log_group.name},
            environment={"variables": environment},
            description=(
                f"lambda-exposure ipRangeSync: {', '.join(config.services)} -> "
                f"{', '.join(config.targets)}"
            )[:256],  # Lambda's limit; the services list has no bound
            tags=tags,
            # The first run (SNS, schedule or the deploy-time sync) must find its permissions.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logging, sync]),
        )
        self.function_name = self.function.name
        self.state_bucket = bucket.bucket
        self.failure_queue_url = failures.url

        # SNS and EventBridge invoke asynchronously: after Lambda's retries, the event and the
        # error land in the queue instead of vanishing. Lambda checks at configuration time
        # that the role may send there, hence the dependency on the policy.
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-on-failure",
            function_name=self.function.name,
            maximum_retry_attempts=ASYNC_RETRIES,
            maximum_event_age_in_seconds=ASYNC_MAX_EVENT_AGE_SECONDS,
            destination_config={"on_failure": {"destination": failures.arn}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[sync]),
        )

        # -- trigger 1: AmazonIpSpaceChanged (us-east-1) ------------------------------------------
        self.subscription = None
        if region in SNS_OPT_IN_REGIONS:
            pulumi.log.warn(
                f"lambda-exposure:ipRangeSync: SNS cannot deliver from {TOPIC_REGION} (enabled "
                f"by default) to a function in the opt-in region {region}; the function runs "
                f"on the schedule ({config.schedule}) only",
                resource=self,
            )
        else:
            # The permission lives with the function (its region); only the topic's ARN may use
            # it. The subscription must be made in the topic's region, us-east-1, with the
            # function's ARN as endpoint, wherever the function runs:
            # https://docs.aws.amazon.com/sns/latest/dg/sns-cross-region-delivery.html
            from_topic = aws.lambda_.Permission(
                f"{name}-from-sns",
                action="lambda:InvokeFunction",
                function=self.function.name,
                principal="sns.amazonaws.com",
                source_arn=IP_SPACE_CHANGED_TOPIC_ARN,
                opts=here,
            )
            self.subscription = aws.sns.TopicSubscription(
                f"{name}-ip-space-changed",
                region=TOPIC_REGION,
                topic=IP_SPACE_CHANGED_TOPIC_ARN,
                protocol="lambda",
                endpoint=self.function.arn,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[from_topic]),
            )

        # -- trigger 2: the schedule, because SNS delivery is not guaranteed ----------------------
        rule = aws.cloudwatch.EventRule(
            f"{name}-schedule",
            schedule_expression=config.schedule,
            description="lambda-exposure ipRangeSync safety net: SNS may not deliver",
            tags=tags,
            opts=here,
        )
        from_schedule = aws.lambda_.Permission(
            f"{name}-from-schedule",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=here,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-schedule-target",
            rule=rule.name,
            arn=self.function.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[from_schedule]),
        )

        # -- trigger 3: once during `pulumi up` ----------------------------------------------------
        # A synchronous invocation: a failed sync (a selection that does not fit, a download
        # refused) fails the deployment, which is where the person who can fix it is looking.
        # Another run holding the lease is not a failure: the handler answers "busy" to this
        # event, so overlapping with the schedule or SNS cannot fail a deployment. (Reserved
        # concurrency of 1 would serialize too, but a new account's concurrency quota of 10
        # cannot spare it and Lambda refuses it.) It runs again only when the state key
        # changes, i.e. when the selection or a target changes.
        self.initial_sync: aws.lambda_.Invocation | None = None
        if config.initial_sync:
            self.initial_sync = aws.lambda_.Invocation(
                f"{name}-initial-sync",
                function_name=self.function.name,
                input=json.dumps(INITIAL_SYNC_EVENT),
                triggers={"stateKey": self.state_key},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.function, logging, sync]),
            )

        # -- outputs: only the enabled targets -----------------------------------------------------
        self.outputs = {}
        if 4 in self.prefix_lists:
            self.outputs["prefixListId"] = self.prefix_lists[4].id
        if 6 in self.prefix_lists:
            self.outputs["prefixListIdIpv6"] = self.prefix_lists[6].id
        if self.security_groups:
            self.outputs["securityGroupIds"] = [group.id for group in self.security_groups]
        if 4 in self.ip_sets:
            self.outputs["wafIpSetArn"] = self.ip_sets[4].arn
        if 6 in self.ip_sets:
            self.outputs["wafIpSetArnIpv6"] = self.ip_sets[6].arn
        self.register_outputs(
            {
                **self.outputs,
                "functionName": self.function_name,
                "stateBucket": self.state_bucket,
                "failureQueueUrl": self.failure_queue_url,
            }
        )
