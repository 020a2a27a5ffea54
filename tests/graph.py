"""Type tokens and the graph helpers several test modules share.

A synthesized program (``tools.synth.Synth``) is a list of resources; these helpers find them the
way the tests reason about them: a load balancer's security group and its rules, the resources a
component owns, a function's permissions, a parsed policy. Every lookup that expects exactly one
match asserts it, so a test fails on a graph that has two where it has one.
"""

from __future__ import annotations

import json
from typing import Any

from tools.synth import Resource, Synth

# -- this project's components -------------------------------------------------------------------
NETWORK_COMPONENT = "lambda-exposure:index:Network"
FUNCTIONS_COMPONENT = "lambda-exposure:index:ExposedFunctions"
STATIC_IP_COMPONENT = "lambda-exposure:index:StaticIpEntry"
IP_API_COMPONENT = "lambda-exposure:index:IpRestrictedApi"
EDGE_COMPONENT = "lambda-exposure:index:EdgeProtectedUrl"
EDGE_SIGNER_COMPONENT = "lambda-exposure:index:EdgeSignerFunction"
PRIVATE_ENDPOINT_COMPONENT = "lambda-exposure:index:PrivateLambdaEndpoint"
STATIC_EGRESS_COMPONENT = "lambda-exposure:index:StaticEgress"
IP_RANGE_SYNC_COMPONENT = "lambda-exposure:index:IpRangeSync"

# -- network -------------------------------------------------------------------------------------
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
VPC_ENDPOINT_POLICY = "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"

# -- load balancers and Global Accelerator -------------------------------------------------------
LB = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
TARGET_GROUP_ATTACHMENT = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
ACCELERATOR = "aws:globalaccelerator/accelerator:Accelerator"
GA_LISTENER = "aws:globalaccelerator/listener:Listener"
ENDPOINT_GROUP = "aws:globalaccelerator/endpointGroup:EndpointGroup"

# -- Lambda, IAM, logs, events -------------------------------------------------------------------
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
INVOCATION = "aws:lambda/invocation:Invocation"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
QUEUE = "aws:sqs/queue:Queue"

# -- API Gateway ---------------------------------------------------------------------------------
REST_API = "aws:apigateway/restApi:RestApi"
REST_API_POLICY = "aws:apigateway/restApiPolicy:RestApiPolicy"
API_RESOURCE = "aws:apigateway/resource:Resource"
METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"
DEPLOYMENT = "aws:apigateway/deployment:Deployment"
STAGE = "aws:apigateway/stage:Stage"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
API_ACCOUNT = "aws:apigateway/account:Account"

# -- CloudFront, WAF, S3 -------------------------------------------------------------------------
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
OAC = "aws:cloudfront/originAccessControl:OriginAccessControl"
IP_SET = "aws:wafv2/ipSet:IpSet"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
BUCKET_OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"

# -- provider functions (invokes), as recorded in Synth.calls and for call_overrides ------------
GET_VPC = "aws:ec2/getVpc:getVpc"
GET_FUNCTION = "aws:lambda/getFunction:getFunction"
GET_AVAILABILITY_ZONES = "aws:index/getAvailabilityZones:getAvailabilityZones"
GET_CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"


def policy_of(resource_inputs: dict[str, Any], key: str = "policy") -> dict[str, Any]:
    """A policy input, parsed: the components pass policies as ``json.dumps``-ed dicts."""
    value = resource_inputs[key]
    assert isinstance(value, str), f"{key} is not a JSON document: {value!r}"
    document: dict[str, Any] = json.loads(value)
    return document


def owned(result: Synth, type_: str, *, by: str) -> list[Resource]:
    """Resources of ``type_`` whose parent is the one component of type ``by``.

    For patterns that share a type with others (EIPs, security groups, functions).
    """
    component = result.one(by)
    return [r for r in result.children_of(component) if r.type == type_]


def owned_one(result: Synth, type_: str, *, by: str) -> Resource:
    """The one resource of ``type_`` the component of type ``by`` owns."""
    found = owned(result, type_, by=by)
    assert len(found) == 1, f"expected one {type_} under {by}, found {[r.name for r in found]}"
    return found[0]


def by_id(result: Synth, type_: str) -> dict[str, Resource]:
    """Resources of a type by the ``id`` the mocks gave them."""
    return {r.outputs["id"]: r for r in result.of_type(type_)}


def by_index(resources: list[Resource]) -> list[Resource]:
    """Resources named ``...-<n>`` in index order (registration order is not deterministic)."""
    return sorted(resources, key=lambda r: int(r.name.rsplit("-", 1)[1]))


def in_region(resources: list[Resource], region: str | None) -> list[Resource]:
    """Those with ``region`` as their region input (None: the provider's, the stack's region)."""
    return [r for r in resources if r.inputs.get("region") == region]


def load_balancer(result: Synth, kind: str, region: str | None = None) -> Resource:
    """The one load balancer of ``kind`` (``application`` or ``network``) in ``region``."""
    found = [
        r for r in in_region(result.of_type(LB), region) if r.inputs["loadBalancerType"] == kind
    ]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def alb(result: Synth, region: str | None = None) -> Resource:
    """The one application load balancer in ``region``."""
    return load_balancer(result, "application", region)


def nlb(result: Synth, region: str | None = None) -> Resource:
    """The one network load balancer in ``region``."""
    return load_balancer(result, "network", region)


def group_of(result: Synth, load_balancer: Resource) -> Resource:
    """The one security group a load balancer is in."""
    (group_id,) = load_balancer.inputs["securityGroups"]
    return next(g for g in result.of_type(SG) if g.outputs["id"] == group_id)


def rules_of(
    result: Synth, group: Resource, kind: str = INGRESS, family: str | None = None
) -> list[Resource]:
    """The rules (``INGRESS`` or ``EGRESS``) of a group; of one family with ``cidrIpv4`` /
    ``cidrIpv6``."""
    return [
        r
        for r in result.of_type(kind)
        if r.inputs["securityGroupId"] == group.outputs["id"]
        and (family is None or family in r.inputs)
    ]


def subnets_of_tier(result: Synth, tier: str, region: str | None = None) -> list[Resource]:
    """The network's ``public`` or ``private`` subnets in ``region``, in index order."""
    subnets = [
        s
        for s in in_region(result.of_type(SUBNET), region)
        if s.inputs["tags"]["lambda-exposure:tier"] == tier
    ]
    return by_index(subnets)


def subnet_ids(result: Synth, tier: str, region: str | None = None) -> list[str]:
    """The ids of ``subnets_of_tier``, in index order."""
    return [s.outputs["id"] for s in subnets_of_tier(result, tier, region)]


def behaviors(distribution: Resource) -> list[dict[str, Any]]:
    """A distribution's cache behaviors: the default first, then the ordered ones."""
    inputs = distribution.inputs
    return [inputs["defaultCacheBehavior"], *inputs.get("orderedCacheBehaviors", [])]


def permissions(
    result: Synth,
    *,
    function: str | None = None,
    principal: str | None = None,
    by: str | None = None,
) -> list[Resource]:
    """Lambda permissions for a function (its name or ARN, as the input holds it) and/or a
    principal; only those the component of type ``by`` owns, when given."""
    candidates = owned(result, PERMISSION, by=by) if by else result.of_type(PERMISSION)
    return [
        p
        for p in candidates
        if (function is None or p.inputs["function"] == function)
        and (principal is None or p.inputs["principal"] == principal)
    ]


def synthetic_resource(type_: str, name: str, inputs: dict[str, Any]) -> Resource:
    """A custom resource no synthesis made: for checks of shapes the program never registers."""
    return Resource(
        type=type_,
        name=name,
        urn=f"urn:pulumi:test::lambda-exposure::{type_}::{name}",
        inputs=inputs,
        outputs={},
        parent="",
        dependencies=[],
        protect=False,
        retain_on_delete=False,
        delete_before_replace=False,
        custom=True,
        provider="",
        ignore_changes=[],
    )
