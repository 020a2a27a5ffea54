"""IpRangeSync: a function on AWS's ``AmazonIpSpaceChanged`` topic keeps allow-lists current.

After the AWS re:Post article on managing dynamic IP address changes in API Gateway:
API Gateway (and CloudFront, EC2...) addresses change without a schedule, so a firewall
that allow-lists them must follow ``ip-ranges.json``: "add an Amazon SNS topic trigger for a
Lambda function [that] compares IP address ranges between a previously stored version in Amazon
S3 and the newly updated ip-ranges.json file [and] updates IP addresses in security groups or AWS
WAF rules", and "create a customer-managed prefix list" to centralize them.

The article's arrows, in the order they are built here:
  targets (managed prefix list per family, a pool of security groups, WAF IP set per family) →
  state bucket (last applied document, the runs' lease) → failure queue → function
  (handlers/ip_range_sync.py) with a role scoped to exactly those → ``AmazonIpSpaceChanged``
  (us-east-1) subscription →
  daily schedule (SNS delivery is not guaranteed) → one synchronous run during ``pulumi up``.

Pulumi creates the targets empty and never touches their contents again: the function owns the
prefix lists' entries and size, the groups' ingress rules and the IP sets' addresses
(``ignore_changes`` on exactly those properties), so ``pulumi up`` and the function never fight.

Targets that need no function (``components/ip_range_sync_targets.py``): with
``managedPrefixList: auto`` and the whole CloudFront selection, the prefixList and securityGroup
targets are AWS's own origin-facing lists, and only the targets left (WAF IP sets) get a
function; with none left, there is no function, bucket, queue or trigger at all. ``shareWith``
adds a RAM share of the synced prefix lists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.buckets import ChildNames, PrivateBucketSpec, private_bucket, tls_only_policy
from components.component import Component
from components.config import IpRangeSyncConfig
from components.function import (
    ARCHITECTURE,
    RUNTIME,
    assume_role_policy,
    code_archive,
    logging_policy,
)
from components.ip_range_sync_policy import LEASE_KEY, SyncScope, sync_policy
from components.ip_range_sync_targets import (
    AwsListTargetsSpec,
    PrefixListShareSpec,
    aws_list_targets,
    share_prefix_lists,
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
# What the deploy-time run sends: the handler answers "busy" to it, never an error, when another
# run holds the lease (SNS and the schedule raise instead, for Lambda's retry).
INITIAL_SYNC_EVENT = {"trigger": "deploy"}

_FAMILIES = {4: ("IPv4", "IPV4"), 6: ("IPv6", "IPV6")}  # prefix list / WAF spellings
TAGS = {"lambda-exposure:pattern": "ipRangeSync"}


@dataclass(frozen=True)
class IpRangeSyncArgs:
    config: IpRangeSyncConfig
    network: Network | None  # the securityGroup target's pool lives in its VPC
    region: str  # the stack's: whether AmazonIpSpaceChanged can deliver to the function there


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


class IpRangeSync(Component[IpRangeSyncArgs]):
    """The targets, the function that fills them, and its three triggers (SNS, schedule, deploy)."""

    TYPE = "lambda-exposure:index:IpRangeSync"
    outputs: dict[str, Any]
    # AWS's CloudFront origin-facing lists by family (managedPrefixList: auto), else empty.
    aws_lists: dict[int, pulumi.Output[Any]]
    prefix_lists: dict[int, aws.ec2.ManagedPrefixList]
    security_groups: list[aws.ec2.SecurityGroup]  # the synced pool
    cloudfront_groups: list[aws.ec2.SecurityGroup]  # referencing aws_lists
    ip_sets: dict[int, aws.wafv2.IpSet]
    resource_share: aws.ram.ResourceShare | None
    # The rest exists only when a target is synced (config.synced_targets).
    function: aws.lambda_.Function
    function_name: pulumi.Output[str]
    state_bucket: pulumi.Output[str]
    state_key: pulumi.Output[str]
    failure_queue_url: pulumi.Output[str]
    # None when the stack's region cannot receive the topic (opt-in region): schedule only.
    subscription: aws.sns.TopicSubscription | None = None
    initial_sync: aws.lambda_.Invocation | None = None

    def _build(self) -> pulumi.Inputs:
        args = self._args
        for note in args.config.coverage_notes():
            pulumi.log.warn(note, resource=self)

        network = args.network
        vpc_id = network.vpc_id if network else None
        self.aws_lists, self.cloudfront_groups = aws_list_targets(
            AwsListTargetsSpec(self._name, self, args.config, vpc_id, TAGS)
        )
        self.prefix_lists = self._prefix_lists()
        self.security_groups = self._security_group_pool(network)
        self.ip_sets = self._ip_sets()
        self.resource_share = None
        if args.config.share_with:  # the config refuses it without synced prefix lists
            self.resource_share = share_prefix_lists(
                PrefixListShareSpec(self._name, self, self.prefix_lists, args.config, TAGS)
            )
        sync = self._sync() if args.config.synced_targets else {}
        self.outputs = self._target_outputs()
        return {**self.outputs, **sync}

    def _sync(self) -> dict[str, pulumi.Output[str]]:
        """State bucket → failure queue → function → its triggers; returns their outputs."""
        name, args = self._name, self._args
        bucket = self._state_bucket()
        failures = aws.sqs.Queue(
            f"{name}-failures",
            # SSE-SQS: encrypted, and Lambda needs no KMS grant to deliver to it.
            sqs_managed_sse_enabled=True,
            message_retention_seconds=FAILURE_RETENTION_SECONDS,
            tags=TAGS,
            region=None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        selection = self._selection()
        self.state_key = pulumi.Output.all(**selection).apply(state_key_for)
        logging, sync = self._function(bucket, failures, selection)
        self._on_failure(failures, after=sync)
        self.subscription = self._from_ip_space_changed(args.region)
        self._from_schedule()
        self.initial_sync = self._at_deploy(after=[logging, sync])

        self.function_name = self.function.name
        self.state_bucket = bucket.bucket
        self.failure_queue_url = failures.url
        return {
            "functionName": self.function_name,
            "stateBucket": self.state_bucket,
            "failureQueueUrl": self.failure_queue_url,
        }

    def _target_outputs(self) -> dict[str, Any]:
        """Only the enabled targets. With AWS's lists, prefixListId(Ipv6) name them: they are
        the lists to reference, whoever keeps them."""
        outputs: dict[str, Any] = {}
        if "prefixList" in self._args.config.targets:
            lists: Mapping[int, Any] = self.aws_lists or self.prefix_lists
            for family, key in ((4, "prefixListId"), (6, "prefixListIdIpv6")):
                if family in lists:
                    outputs[key] = lists[family].id
        groups = self.security_groups or self.cloudfront_groups
        if groups:
            outputs["securityGroupIds"] = [group.id for group in groups]
        if 4 in self.ip_sets:
            outputs["wafIpSetArn"] = self.ip_sets[4].arn
        if 6 in self.ip_sets:
            outputs["wafIpSetArnIpv6"] = self.ip_sets[6].arn
        if self.aws_lists:
            outputs["managedPrefixListIds"] = {
                _FAMILIES[family][0]: pl.id for family, pl in self.aws_lists.items()
            }
        if self.resource_share is not None:
            outputs["resourceShareArn"] = self.resource_share.arn
        return outputs

    # -- the targets: created empty, their contents belong to the function -------------------

    def _prefix_lists(self) -> dict[int, aws.ec2.ManagedPrefixList]:
        if "prefixList" not in self._args.config.synced_targets:
            return {}
        return {
            family: aws.ec2.ManagedPrefixList(
                f"{self._name}-ipv{family}",
                address_family=_FAMILIES[family][0],
                max_entries=INITIAL_MAX_ENTRIES,
                tags={**TAGS, "Name": f"{self._name}-ipv{family}"},
                region=None,
                # The function adds/removes entries and grows MaxEntries at run time.
                # `entries` is optional+computed in the provider (left unset it is not
                # managed); ignoring both keeps `pulumi up` from shrinking the list back.
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["entries", "maxEntries"]),
            )
            for family in families(self._args.config)
        }

    def _security_group_pool(self, network: Network | None) -> list[aws.ec2.SecurityGroup]:
        if "securityGroup" not in self._args.config.synced_targets:
            return []
        if network is None:
            # __main__ creates the network whenever securityGroup is a target.
            raise pulumi.RunError(
                "lambda-exposure:ipRangeSync: the securityGroup target needs the network"
            )
        count = self._args.config.security_group_count
        return [
            aws.ec2.SecurityGroup(
                f"{self._name}-pool-{index}",
                vpc_id=network.vpc_id,
                description=(
                    f"lambda-exposure ipRangeSync pool {index + 1}/{count}: inbound "
                    "rules kept equal to AWS IP ranges by a function"
                ),
                # No inline ingress/egress: `ingress` is optional+computed in the provider, so
                # undeclared rules are left alone; ignore_changes makes sure a refresh never
                # plans to revoke the function's rules. No egress either (the provider removes
                # AWS's default allow-all): these groups only add inbound allowances next to
                # the resource's own group.
                tags={**TAGS, "Name": f"{self._name}-pool-{index}"},
                region=None,
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["ingress"]),
            )
            for index in range(count)
        ]

    def _ip_sets(self) -> dict[int, aws.wafv2.IpSet]:
        config = self._args.config
        if "wafIpSet" not in config.targets:
            return {}
        return {
            family: aws.wafv2.IpSet(
                f"{self._name}-waf-ipv{family}",
                scope=config.waf_scope,
                ip_address_version=_FAMILIES[family][1],
                addresses=[],
                description=(
                    f"lambda-exposure ipRangeSync: {', '.join(config.services)} IPv{family}"
                ),
                tags=TAGS,
                # A CLOUDFRONT-scope IP set can only be created (and called) in us-east-1.
                region="us-east-1" if config.waf_scope == "CLOUDFRONT" else None,
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["addresses"]),
            )
            for family in families(config)
        }

    # -- state and the function's contract (handlers/ip_range_sync.py docstring) -------------

    def _state_bucket(self) -> aws.s3.Bucket:
        """The last applied document and the runs' lease, in a private bucket of their own."""
        name = f"{self._name}-state"
        state = private_bucket(
            PrivateBucketSpec(
                name,
                parent=self,
                tags=TAGS,
                # Holds a cache of a public document and nothing else: destroying the stack
                # must not stop on it.
                force_destroy=True,
                names=ChildNames(f"{name}-private", f"{name}-owner", f"{name}-encryption"),
            )
        )
        state.attach_policy(
            f"{name}-tls-only",
            state.bucket.arn.apply(tls_only_policy),
            parent=self,
            after=[state.public_access],
        )
        return state.bucket

    def _selection(self) -> dict[str, pulumi.Input[str]]:
        """What the function syncs and where to: its environment, and the state key's input."""
        config = self._args.config
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
        scope = config.waf_scope
        for family, ip_set in self.ip_sets.items():
            selection[f"WAF_IPV{family}_SET"] = pulumi.Output.all(ip_set.name, ip_set.id).apply(
                lambda parts: f"{parts[0]}|{parts[1]}|{scope}"
            )
        return selection

    # -- the function and its role ----------------------------------------------------------

    def _function(
        self,
        bucket: aws.s3.Bucket,
        failures: aws.sqs.Queue,
        selection: Mapping[str, pulumi.Input[str]],
    ) -> tuple[aws.iam.RolePolicy, aws.iam.RolePolicy]:
        """Log group → role → its logging and sync policies → the function, which waits for
        both; returns the two policies."""
        config, name = self._args.config, self._name
        here = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            retention_in_days=config.log_retention_days,
            tags=TAGS,
            region=None,
            opts=here,
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
            description="lambda-exposure ipRangeSync: writes only the targets it manages",
            tags=TAGS,
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
            ).apply(lambda scope: json.dumps(sync_policy(SyncScope(**scope)))),
            opts=here,
        )
        environment: dict[str, pulumi.Input[str]] = {
            **selection,
            "STATE_BUCKET": bucket.bucket,
            "STATE_KEY": self.state_key,
            "LEASE_KEY": LEASE_KEY,
        }
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
                f"{', '.join(config.synced_targets)}"
            )[:256],  # Lambda's limit; the services list has no bound
            tags=TAGS,
            region=None,
            # The first run (SNS, schedule or the deploy-time sync) must find its permissions.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logging, sync]),
        )
        return logging, sync

    def _on_failure(self, failures: aws.sqs.Queue, after: aws.iam.RolePolicy) -> None:
        """SNS and EventBridge invoke asynchronously: after Lambda's retries, the event and the
        error land in the queue instead of vanishing. Lambda checks at configuration time that
        the role may send there, hence the wait for the sync policy."""
        aws.lambda_.FunctionEventInvokeConfig(
            f"{self._name}-on-failure",
            function_name=self.function.name,
            maximum_retry_attempts=ASYNC_RETRIES,
            maximum_event_age_in_seconds=ASYNC_MAX_EVENT_AGE_SECONDS,
            destination_config={"on_failure": {"destination": failures.arn}},
            region=None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[after]),
        )

    # -- trigger 1: AmazonIpSpaceChanged (us-east-1) ------------------------------------------

    def _from_ip_space_changed(self, region: str) -> aws.sns.TopicSubscription | None:
        if region in SNS_OPT_IN_REGIONS:
            pulumi.log.warn(
                f"lambda-exposure:ipRangeSync: SNS cannot deliver from {TOPIC_REGION} (enabled "
                f"by default) to a function in the opt-in region {region}; the function runs "
                f"on the schedule ({self._args.config.schedule}) only",
                resource=self,
            )
            return None
        # The permission lives with the function (its region); only the topic's ARN may use
        # it. The subscription must be made in the topic's region, us-east-1, with the
        # function's ARN as endpoint, wherever the function runs:
        # https://docs.aws.amazon.com/sns/latest/dg/sns-cross-region-delivery.html
        from_topic = self._invoked_by("from-sns", "sns.amazonaws.com", IP_SPACE_CHANGED_TOPIC_ARN)
        return aws.sns.TopicSubscription(
            f"{self._name}-ip-space-changed",
            region=TOPIC_REGION,
            topic=IP_SPACE_CHANGED_TOPIC_ARN,
            protocol="lambda",
            endpoint=self.function.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[from_topic]),
        )

    # -- trigger 2: the schedule, because SNS delivery is not guaranteed ----------------------

    def _from_schedule(self) -> None:
        rule = aws.cloudwatch.EventRule(
            f"{self._name}-schedule",
            schedule_expression=self._args.config.schedule,
            description="lambda-exposure ipRangeSync safety net: SNS may not deliver",
            tags=TAGS,
            region=None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        from_schedule = self._invoked_by("from-schedule", "events.amazonaws.com", rule.arn)
        aws.cloudwatch.EventTarget(
            f"{self._name}-schedule-target",
            rule=rule.name,
            arn=self.function.arn,
            region=None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[from_schedule]),
        )

    def _invoked_by(
        self, suffix: str, principal: str, source_arn: pulumi.Input[str]
    ) -> aws.lambda_.Permission:
        """``principal`` may invoke the function, on behalf of ``source_arn`` only."""
        return aws.lambda_.Permission(
            f"{self._name}-{suffix}",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal=principal,
            source_arn=source_arn,
            region=None,
            opts=pulumi.ResourceOptions(parent=self),
        )

    # -- trigger 3: once during `pulumi up` ----------------------------------------------------

    def _at_deploy(self, after: Sequence[pulumi.Resource]) -> aws.lambda_.Invocation | None:
        """A synchronous invocation: a failed sync (a selection that does not fit, a download
        refused) fails the deployment, which is where the person who can fix it is looking.

        Another run holding the lease is not a failure: the handler answers "busy" to this
        event, so overlapping with the schedule or SNS cannot fail a deployment. (Reserved
        concurrency of 1 would serialize too, but a new account's concurrency quota of 10
        cannot spare it and Lambda refuses it.) It runs again only when the state key
        changes, i.e. when the selection or a target changes.
        """
        if not self._args.config.initial_sync:
            return None
        return aws.lambda_.Invocation(
            f"{self._name}-initial-sync",
            function_name=self.function.name,
            input=json.dumps(INITIAL_SYNC_EVENT),
            triggers={"stateKey": self.state_key},
            region=None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.function, *after]),
        )
