"""Physical names fit what AWS accepts, for the longest config the program accepts.

The rules below are written from the AWS API references, independently of
``components/naming.py``: each limited resource the program registers gets either an explicit
name (checked as is) or Pulumi's autoname, ``<logical name>-<7 characters>`` (checked as that).
The matrix turns every pattern on with function names of 1 character and of the longest the
config accepts, several functions, and ``staticIp.regions`` with the longest AWS region name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore
import pytest

from components import naming
from components.config import FunctionConfig
from tests.harness import shared_synthesis
from tests.samples import SHIPPED
from tools.synth import Resource, Synth, load_stack_file, synthesize

AUTONAME = "-" + "x" * 7  # Pulumi: "-" and 7 random characters


@dataclass(frozen=True)
class Rule:
    field: str  # the input holding the physical name
    limit: int
    pattern: str  # full match
    global_: bool = False  # unique per account (IAM) rather than per region
    not_prefix: tuple[str, ...] = ()


_ELB_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
RULES: dict[str, Rule] = {
    # ELB CreateLoadBalancer / CreateTargetGroup: 32, alphanumerics and hyphens, no hyphen at
    # either end, a load balancer name may not begin with "internal-".
    "aws:lb/loadBalancer:LoadBalancer": Rule("name", 32, _ELB_NAME, not_prefix=("internal-",)),
    "aws:lb/targetGroup:TargetGroup": Rule("name", 32, _ELB_NAME),
    # Lambda CreateFunction FunctionName (a name, not an ARN): 64, [a-zA-Z0-9-_].
    "aws:lambda/function:Function": Rule("name", 64, r"[A-Za-z0-9_-]+"),
    # Lambda AddPermission StatementId: 100, ([a-zA-Z0-9-_]+).
    "aws:lambda/permission:Permission": Rule("statementId", 100, r"[A-Za-z0-9_-]+"),
    # IAM CreateRole RoleName 64, PutRolePolicy PolicyName 128: [\w+=,.@-]+.
    "aws:iam/role:Role": Rule("name", 64, r"[\w+=,.@-]+", global_=True),
    "aws:iam/rolePolicy:RolePolicy": Rule("name", 128, r"[\w+=,.@-]+", global_=True),
    # CloudWatch Logs CreateLogGroup: 512, [\.\-_/#A-Za-z0-9]+.
    "aws:cloudwatch/logGroup:LogGroup": Rule("name", 512, r"[.\-_/#A-Za-z0-9]+"),
    # EventBridge PutRule Name and PutTargets Id: 64, [\.\-_A-Za-z0-9]+.
    "aws:cloudwatch/eventRule:EventRule": Rule("name", 64, r"[.\-_A-Za-z0-9]+"),
    "aws:cloudwatch/eventTarget:EventTarget": Rule("targetId", 64, r"[.\-_A-Za-z0-9]+"),
    # EC2 CreateSecurityGroup GroupName: 255, may not start with "sg-".
    "aws:ec2/securityGroup:SecurityGroup": Rule(
        "name", 255, r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+", not_prefix=("sg-",)
    ),
    # EC2 CreateManagedPrefixList PrefixListName: 255, may not start with "com.amazonaws".
    "aws:ec2/managedPrefixList:ManagedPrefixList": Rule(
        "name", 255, r".+", not_prefix=("com.amazonaws",)
    ),
    # Global Accelerator CreateAccelerator Name: 64, alphanumerics, periods, hyphens.
    "aws:globalaccelerator/accelerator:Accelerator": Rule(
        "name", 64, r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
    ),
    # CloudFront CreateOriginAccessControl Name: 64.
    "aws:cloudfront/originAccessControl:OriginAccessControl": Rule("name", 64, r".+"),
    # WAFv2 CreateIPSet / CreateWebACL Name: 128, ^[\w\-]+$.
    "aws:wafv2/ipSet:IpSet": Rule("name", 128, r"[\w-]+"),
    "aws:wafv2/webAcl:WebAcl": Rule("name", 128, r"[\w-]+"),
    # S3 bucket naming rules: 3 to 63, lowercase letters, digits, dots, hyphens, alnum at ends.
    "aws:s3/bucket:Bucket": Rule("bucket", 63, r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", global_=True),
    # SQS CreateQueue QueueName: 80, alphanumerics, hyphens, underscores.
    "aws:sqs/queue:Queue": Rule("name", 80, r"[A-Za-z0-9_-]+"),
    # API Gateway CreateStage stageName: from config, validated there ([A-Za-z0-9_]{1,128}).
    "aws:apigateway/stage:Stage": Rule("stageName", 128, r"[A-Za-z0-9_]+"),
    # CloudWatch Logs PutDeliverySource / PutDeliveryDestination name: 1 to 60, [\w-]*.
    "aws:cloudwatch/logDeliverySource:LogDeliverySource": Rule("name", 60, r"[\w-]+"),
    "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination": Rule("name", 60, r"[\w-]+"),
}

# Types the program registers that carry no physical name a service limits (their identity is
# an id AWS assigns, or a name fixed by the program and far below any limit: the REST API).
UNNAMED = {
    "aws:apigateway/account:Account",
    "aws:apigateway/deployment:Deployment",
    "aws:apigateway/integration:Integration",
    "aws:apigateway/method:Method",
    "aws:apigateway/methodSettings:MethodSettings",
    "aws:apigateway/resource:Resource",
    "aws:apigateway/restApi:RestApi",
    "aws:apigateway/restApiPolicy:RestApiPolicy",
    "aws:cloudfront/distribution:Distribution",
    # Its name is nested in the endpoint config, with no documented limit (kept within 64 and
    # unique per stack: tests/test_edge_vpc_origin.py).
    "aws:cloudfront/vpcOrigin:VpcOrigin",
    "aws:cloudwatch/logDelivery:LogDelivery",
    "aws:ec2/eip:Eip",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/route:Route",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy",
    "aws:globalaccelerator/endpointGroup:EndpointGroup",
    "aws:globalaccelerator/listener:Listener",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    "aws:lambda/functionUrl:FunctionUrl",
    "aws:lambda/invocation:Invocation",
    "aws:lb/listener:Listener",
    "aws:lb/listenerRule:ListenerRule",
    "aws:lb/targetGroupAttachment:TargetGroupAttachment",
    "aws:ram/principalAssociation:PrincipalAssociation",
    "aws:ram/resourceAssociation:ResourceAssociation",
    # A share's name need not be unique (RAM identifies shares by ARN); the autoname is short.
    "aws:ram/resourceShare:ResourceShare",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:sns/topicSubscription:TopicSubscription",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:wafv2/webAclAssociation:WebAclAssociation",
}
# Custom domains: no autoname; their names are DNS names from config, whose syntax and length
# (labels of 63, 253 in all) components/config/domains.py checks.
UNNAMED |= {
    "aws:acm/certificate:Certificate",
    "aws:acm/certificateValidation:CertificateValidation",
    "aws:apigateway/basePathMapping:BasePathMapping",
    "aws:apigateway/domainName:DomainName",
    "aws:apigateway/domainNameAccessAssociation:DomainNameAccessAssociation",
    "aws:route53/record:Record",
}


def _longest_function_name() -> str:
    """The longest name FunctionConfig accepts, found by asking it (not by reading its regex)."""
    length = 1
    while length < 1000:
        try:
            FunctionConfig(name="a" * (length + 1), handler="app")
        except ValueError:
            break
        length += 1
    # With a hyphen inside, as a real name has.
    return "a" * (length // 2) + "-" + "b" * (length - length // 2 - 1)


def _aws_regions() -> list[str]:
    table = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    return sorted(
        r for p in table["partitions"] for r in p.get("regions", {}) if not r.endswith("-global")
    )


LONGEST_FUNCTION = _longest_function_name()
AWS_REGIONS = _aws_regions()
LONGEST_REGION = max(AWS_REGIONS, key=len)
FUNCTIONS = [
    {"name": "a", "handler": "app", "path": "/"},
    {"name": LONGEST_FUNCTION, "handler": "app", "path": "/long"},
    {"name": "orders-service", "handler": "app", "path": "/orders"},
]
OFF_ROOT = [{**f, "path": "/site-api"} if f["path"] == "/" else f for f in FUNCTIONS]
EXISTING = {
    "name": "z" * len(LONGEST_FUNCTION),
    "arn": "arn:aws:lambda:us-west-2:123456789012:function:" + "e" * 64,
    "path": "/existing",
}
EXTRA_REGIONS = ["us-east-1", "ap-southeast-2", "eu-central-1", LONGEST_REGION]
MATRIX: dict[str, dict[str, Any]] = {
    "static-ip-global-accelerator-regions": {
        "functions": FUNCTIONS,
        "staticIp": {"enabled": True, "regions": EXTRA_REGIONS, "allowedCidrs": ["10.0.0.0/8"]},
    },
    "static-ip-regions-from-the-longest-region": {
        "aws:region": LONGEST_REGION,
        "functions": FUNCTIONS,
        "staticIp": {"enabled": True, "regions": ["us-east-1", "ap-northeast-3"]},
    },
    "static-ip-nlb-https": {
        "functions": FUNCTIONS,
        "staticIp": {
            "enabled": True,
            "entry": "nlb",
            "certificateArn": (
                "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-1b2a-4c3d-8e9f-a0b1c2d3e4f5"
            ),
        },
    },
    "ip-restricted-api-private-with-iam-routes-and-logs": {
        "functions": [*FUNCTIONS, EXISTING],
        "ipRestrictedApi": {
            "enabled": True,
            "endpointType": "PRIVATE",
            "accessLogs": True,
            "cloudWatchRole": True,
            "stageName": "s" * 128,
            "routes": [
                {"method": "GET", "path": "/long/*", "auth": "AWS_IAM"},
                {"method": "POST", "path": "/orders", "allow": ["10.0.0.0/8"]},
            ],
        },
    },
    "edge-lambda-edge-static-site-waf": {
        "functions": OFF_ROOT,
        "edge": {
            "enabled": True,
            "signing": "lambda-edge",
            "staticSite": True,
            "allowedCidrs": ["10.0.0.0/8", "2001:db8::/32"],
        },
    },
    "edge-oac": {"functions": FUNCTIONS, "edge": {"enabled": True}},
    "private-endpoint-egress-and-every-sync-target": {
        "functions": FUNCTIONS,
        "privateEndpoint": {"enabled": True, "allowedCidrs": ["172.16.0.0/12"]},
        "staticEgress": {"enabled": True, "natPerAz": True},
        "network": {"azCount": 3},
        "ipRangeSync": {
            "enabled": True,
            "targets": ["prefixList", "securityGroup", "wafIpSet"],
            "wafScope": "CLOUDFRONT",
        },
    },
    "access-logs-from-the-longest-region": {
        "aws:region": LONGEST_REGION,
        "functions": FUNCTIONS,
        "staticIp": {"enabled": True, "accessLogs": True, "regions": EXTRA_REGIONS},
        "edge": {"enabled": True, "accessLogs": True},
    },
    "every-pattern-at-once": {
        # Each entry restricts differently: intended here, this matrix is about names.
        "functions": [
            {**f, "widerExposure": ["staticIp", "ipRestrictedApi", "edge"]} for f in FUNCTIONS
        ],
        "staticIp": {"enabled": True, "regions": EXTRA_REGIONS},
        "ipRestrictedApi": {"enabled": True, "allow": ["203.0.113.0/24"]},
        "edge": {"enabled": True, "allowedCidrs": ["10.0.0.0/8"]},
        "privateEndpoint": {"enabled": True},
        "staticEgress": {"enabled": True},
        "ipRangeSync": {"enabled": True, "targets": ["prefixList", "securityGroup"]},
    },
}


def physical(resource: Resource, rule: Rule) -> str:
    return resource.inputs.get(rule.field) or resource.name + AUTONAME


def name_problems(result: Synth) -> list[str]:
    problems = []
    seen: dict[tuple[str, str | None, str], str] = {}
    for resource in result.resources:
        if not resource.custom:
            continue
        if resource.type not in RULES:
            if resource.type not in UNNAMED:
                problems.append(f"{resource.type} is neither in RULES nor in UNNAMED: classify it")
            continue
        rule = RULES[resource.type]
        name = physical(resource, rule)
        where = f"{resource.type} {resource.name}: {name!r}"
        if len(name) > rule.limit:
            problems.append(f"{where} is {len(name)} characters, over {rule.limit}")
        if not re.fullmatch(rule.pattern, name, flags=re.ASCII):
            problems.append(f"{where} has characters {resource.type} refuses")
        if name.startswith(rule.not_prefix):
            problems.append(f"{where} starts with a reserved prefix")
        scope = None if rule.global_ else (resource.region or result.region)
        key = (resource.type, scope, name)
        if key in seen:
            problems.append(f"{where} is also the name of {seen[key]}")
        seen[key] = resource.name
    return problems


@pytest.fixture(scope="module")
def matrix() -> dict[str, Synth]:
    return {label: shared_synthesis(config) for label, config in MATRIX.items()}


def test_the_matrix_uses_the_longest_inputs_the_config_accepts() -> None:
    assert len(LONGEST_FUNCTION) == 40
    with pytest.raises(ValueError):
        FunctionConfig(name=LONGEST_FUNCTION + "a", handler="app")
    # The longest region name AWS has (botocore's partition table), in the matrix.
    assert len(LONGEST_REGION) >= 15
    assert LONGEST_REGION in EXTRA_REGIONS


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_every_limited_name_fits_and_is_unique(matrix, label: str) -> None:
    assert name_problems(matrix[label]) == []


def test_the_matrix_needs_explicit_names_and_gets_them(matrix) -> None:
    # Without explicit names these would be refused: the checks above are not vacuous.
    result = matrix["static-ip-global-accelerator-regions"]
    explicit = {r.type for r in result.resources if r.inputs.get("name") and r.type in RULES}
    assert {
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:lb/targetGroup:TargetGroup",
        "aws:lambda/function:Function",
        "aws:iam/role:Role",
    } <= explicit
    autonamed_would_be = [
        r.name + AUTONAME
        for r in result.resources
        if r.type in RULES and r.inputs.get(RULES[r.type].field)
    ]
    assert any(len(n) > 32 for n in autonamed_would_be)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_keep_pulumi_autonames(path: Path) -> None:
    # A deployed resource whose autoname fits must keep it: a new explicit name replaces it.
    result = shared_synthesis(load_stack_file(path))
    assert name_problems(result) == []
    explicit = [
        r.name for r in result.resources if r.type in RULES and r.inputs.get(RULES[r.type].field)
    ]
    # The stage name is config; nothing else of a shipped config is named explicitly.
    assert [n for n in explicit if not n.endswith("-stage")] == []


def test_explicit_names_are_deterministic_and_differ_between_stacks() -> None:
    config = {"functions": FUNCTIONS, "staticIp": {"enabled": True}}

    def names(stack: str) -> dict[str, str]:
        result = synthesize(config, stack=stack)
        return {r.name: r.inputs["name"] for r in result.resources if r.inputs.get("name")}

    dev, again, prod = names("dev"), names("dev"), names("prod")
    assert dev and dev == again
    assert set(dev) == set(prod)
    # Two stacks of the project in one account would otherwise ask for the same name.
    assert all(dev[n] != prod[n] for n in dev)


def test_explicit_names_say_what_they_are(matrix) -> None:
    result = matrix["static-ip-global-accelerator-regions"]
    for resource in result.resources:
        name = resource.inputs.get("name")
        if resource.type == "aws:lb/targetGroup:TargetGroup" and name:
            assert name.startswith("static-ip-"), name
        if resource.type == "aws:lb/loadBalancer:LoadBalancer" and name:
            region = resource.region
            assert region and name.startswith(f"static-ip-{naming.region_code(region)}-alb")


# -- the naming rule itself ------------------------------------------------------------------


def test_autoname_is_kept_up_to_the_limit_and_replaced_one_past_it() -> None:
    at_limit = "t" * (32 - len(AUTONAME))
    assert naming.physical_name(at_limit, "target-group") is None
    name = naming.explicit_name(at_limit + "u", "target-group", "p/s")
    assert len(name) == 32
    assert name.startswith("t" * 10)
    assert re.fullmatch(r"[0-9a-f]{8}", name.rsplit("-", 1)[1])


@pytest.mark.parametrize("kind", sorted(naming.KINDS))
def test_explicit_names_fit_every_kind(kind: str) -> None:
    rule = naming.KINDS[kind]
    for logical in ("internal-" + "x" * 80, "-" * 70, "a" * 300, "static-ip-" + LONGEST_REGION):
        name = naming.explicit_name(logical, kind, "project/stack", LONGEST_REGION)
        assert rule.accepts(name), (kind, name)
    assert naming.explicit_name("a" * 300, kind, "p/one") != naming.explicit_name(
        "a" * 300, kind, "p/two"
    )


def test_region_codes() -> None:
    assert naming.region_code("ap-southeast-2") == "apse2"
    assert naming.region_code("eu-central-1") == "euc1"
    assert naming.region_code("us-gov-west-1") == "usgovw1"
    codes = {naming.region_code(r): r for r in AWS_REGIONS}
    assert len(codes) == len(AWS_REGIONS), "two regions share a short code"


def test_function_descriptions_fit_lambdas_256_characters() -> None:
    # The longest name and the longest path the config accepts: the description quoting both
    # must still fit.
    path = "/" + "/".join(["segment"] * 15) + "/abcde"
    assert len(path) == 126
    result = synthesize({"functions": [{"name": LONGEST_FUNCTION, "handler": "app", "path": path}]})
    (function,) = result.of_type("aws:lambda/function:Function")
    assert len(function.inputs["description"]) <= 256
    assert function.inputs["description"].startswith(f"lambda-exposure: {LONGEST_FUNCTION} ")
