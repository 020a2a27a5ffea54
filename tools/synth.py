"""Run the real ``__main__.py`` under Pulumi mocks and collect what it registers.

Used by the tests (graph assertions), the offline preview and the synthesis benchmark, so all
three see exactly the same program. No AWS account and no Pulumi CLI are involved: the mock
monitor answers every registration with plausible computed outputs (ARNs, IDs, IPs) derived
from the resource's name and inputs, and every provider call (``get_caller_identity``,
``get_availability_zones``, ``get_vpc``...) with data shaped like AWS's. What it needs from the
Pulumi SDK beyond its public API is in ``tools/pulumi_seam.py``, and only there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from tools.pulumi_seam import ConstructionHook, Registration, run_program, warning_logger
from tools.pulumi_seam import ProgramFailed as ProgramFailed  # callers catch it from here

PROJECT = "lambda-exposure"
ACCOUNT = "123456789012"
REPO_ROOT = Path(__file__).resolve().parent.parent
MAIN = REPO_ROOT / "__main__.py"


@dataclass
class Resource(Registration):
    """One registered resource: what the program asked for, how, and what the mocks answered."""

    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def region(self) -> str | None:
        return self.inputs.get("region")


@dataclass
class Synth:
    """Everything one synthesis produced."""

    resources: list[Resource]
    outputs: dict[str, Any]
    calls: list[tuple[str, dict[str, Any]]]
    warnings: list[str]
    region: str
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Resource:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Resource:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        return next(r for r in self.resources if r.urn == urn)

    def children_of(self, parent: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def depends_on(self, resource: Resource, other: Resource) -> bool:
        """True when ``resource`` waits for ``other`` (explicit depends_on or an input)."""
        return other.urn in resource.dependencies

    def types(self) -> set[str]:
        return {r.type for r in self.resources}


def _short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _ip_from(name: str, salt: str, base: str = "203.0.113") -> str:
    """Deterministic documentation-range address (RFC 5737) so previews are stable."""
    return f"{base}.{int(_short_hash(name, salt, length=4), 16) % 254 + 1}"


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers registrations and calls like AWS would, deterministically."""

    def __init__(self, region: str, call_overrides: Mapping[str, dict[str, Any]] | None = None):
        self.region = region
        self.call_overrides = dict(call_overrides or {})
        self.calls: list[tuple[str, dict[str, Any]]] = []

    # -- resources ------------------------------------------------------------------------

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        region = inputs.get("region") or self.region
        name = args.name
        service = args.typ.split(":")[1].split("/")[0] if ":" in args.typ else "x"
        physical = inputs.get("name") or f"{name}-{_short_hash(name, length=7)}"
        resource_id = f"{name}-id"
        state: dict[str, Any] = {
            **inputs,
            "name": physical,
            "arn": f"arn:aws:{service}:{region}:{ACCOUNT}:{name}/{physical}",
        }
        handler = _RESOURCE_OUTPUTS.get(args.typ)
        if handler is not None:
            resource_id = handler(state, name, physical, region) or resource_id
        state.setdefault("id", resource_id)
        return resource_id, state

    # -- provider functions -----------------------------------------------------------------

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        # (result, check failures): the mocks never refuse a call.
        self.calls.append((args.token, dict(args.args)))
        if args.token in self.call_overrides:
            return self.call_overrides[args.token], []
        region = args.args.get("region") or self.region
        handler = _CALL_RESULTS.get(args.token)
        return (handler(dict(args.args), region) if handler else {}), []


# Per-type computed outputs, keyed by type token. Each mutates ``state`` and may return an id.
def _function(state: dict, name: str, physical: str, region: str) -> str:
    arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{physical}"
    version = "1" if state.get("publish") else "$LATEST"
    state.update(
        arn=arn,
        invokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations",
        qualifiedArn=f"{arn}:{version}",
        qualifiedInvokeArn=(
            f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}:{version}/invocations"
        ),
        version=version,
    )
    return physical


def _role(state: dict, name: str, physical: str, region: str) -> str:
    state["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{physical}"
    return physical


def _log_group(state: dict, name: str, physical: str, region: str) -> str:
    state["arn"] = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{physical}"
    return physical


def _ec2(prefix: str, kind: str) -> Callable[[dict, str, str, str], str]:
    def fill(state: dict, name: str, physical: str, region: str) -> str:
        resource_id = f"{prefix}-{_short_hash(name, prefix, length=17)}"
        state["arn"] = f"arn:aws:ec2:{region}:{ACCOUNT}:{kind}/{resource_id}"
        return resource_id

    return fill


def _vpc(state: dict, name: str, physical: str, region: str) -> str:
    state.setdefault("enableDnsSupport", True)
    state.setdefault("enableDnsHostnames", False)
    return _ec2("vpc", "vpc")(state, name, physical, region)


def _eip(state: dict, name: str, physical: str, region: str) -> str:
    state["publicIp"] = _ip_from(name, "eip")
    allocation = f"eipalloc-{_short_hash(name, 'eip', length=17)}"
    state["allocationId"] = allocation
    return allocation


def _accelerator(state: dict, name: str, physical: str, region: str) -> str:
    family = state.get("ipAddressType", "IPV4")
    ip_sets = [
        {
            "ipFamily": "IPv4",
            "ipAddresses": [
                _ip_from(name, "ga1", "198.51.100"),
                _ip_from(name, "ga2", "198.51.100"),
            ],
        }
    ]
    if family == "DUAL_STACK":
        ip_sets.append(
            {"ipFamily": "IPv6", "ipAddresses": ["2600:9000:a400::1", "2600:9000:a500::1"]}
        )
    state["ipSets"] = ip_sets
    state["dnsName"] = f"a{_short_hash(name, length=16)}.awsglobalaccelerator.com"
    arn = f"arn:aws:globalaccelerator::{ACCOUNT}:accelerator/{_short_hash(name, length=32)}"
    state["arn"] = arn
    return arn


def _load_balancer(state: dict, name: str, physical: str, region: str) -> str:
    kind = "net" if state.get("loadBalancerType") == "network" else "app"
    suffix = f"{kind}/{physical}/{_short_hash(name, length=16)}"
    arn = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/{suffix}"
    internal = "internal-" if state.get("internal") else ""
    state.update(
        arn=arn, arnSuffix=suffix, dnsName=f"{internal}{physical}.{region}.elb.amazonaws.com"
    )
    return arn


def _target_group(state: dict, name: str, physical: str, region: str) -> str:
    suffix = f"targetgroup/{physical}/{_short_hash(name, length=16)}"
    arn = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:{suffix}"
    state.update(arn=arn, arnSuffix=suffix)
    return arn


def _listener(state: dict, name: str, physical: str, region: str) -> str:
    arn = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:listener/app/{physical}"
    state["arn"] = arn
    return arn


def _rest_api(state: dict, name: str, physical: str, region: str) -> str:
    api_id = _short_hash(name, "api", length=10)
    state.update(
        rootResourceId=_short_hash(name, "root", length=10),
        executionArn=f"arn:aws:execute-api:{region}:{ACCOUNT}:{api_id}",
        arn=f"arn:aws:apigateway:{region}::/restapis/{api_id}",
    )
    return api_id


def _stage(state: dict, name: str, physical: str, region: str) -> str:
    api = state.get("restApi", "api")
    stage = state.get("stageName", "stage")
    state.update(
        invokeUrl=f"https://{api}.execute-api.{region}.amazonaws.com/{stage}",
        executionArn=f"arn:aws:execute-api:{region}:{ACCOUNT}:{api}/{stage}",
        arn=f"arn:aws:apigateway:{region}::/restapis/{api}/stages/{stage}",
    )
    return f"{api}-{stage}"


def _distribution(state: dict, name: str, physical: str, region: str) -> str:
    dist_id = "E" + _short_hash(name, "cf", length=13).upper()
    state.update(
        arn=f"arn:aws:cloudfront::{ACCOUNT}:distribution/{dist_id}",
        domainName=f"d{_short_hash(name, 'cfd', length=13)}.cloudfront.net",
        hostedZoneId="Z2FDTNDATAQYW2",
    )
    return dist_id


def _function_url(state: dict, name: str, physical: str, region: str) -> str:
    url_id = _short_hash(name, "url", length=32)
    state.update(functionUrl=f"https://{url_id}.lambda-url.{region}.on.aws/", urlId=url_id)
    return url_id


def _vpc_endpoint(state: dict, name: str, physical: str, region: str) -> str:
    endpoint_id = f"vpce-{_short_hash(name, 'vpce', length=17)}"
    service = str(state.get("serviceName", "service")).split(".")[-1]
    state.update(
        arn=f"arn:aws:ec2:{region}:{ACCOUNT}:vpc-endpoint/{endpoint_id}",
        dnsEntries=[
            {
                "dnsName": f"{endpoint_id}.{service}.{region}.vpce.amazonaws.com",
                "hostedZoneId": "Z1",
            },
            {"dnsName": f"{service}.{region}.amazonaws.com", "hostedZoneId": "Z2"},
        ],
        networkInterfaceIds=[f"eni-{_short_hash(name, str(i), length=17)}" for i in range(2)],
    )
    return endpoint_id


def _prefix_list(state: dict, name: str, physical: str, region: str) -> str:
    list_id = f"pl-{_short_hash(name, 'pl', length=17)}"
    state["arn"] = f"arn:aws:ec2:{region}:{ACCOUNT}:prefix-list/{list_id}"
    return list_id


def _waf(kind: str) -> Callable[[dict, str, str, str], str]:
    def fill(state: dict, name: str, physical: str, region: str) -> str:
        scope = "global" if state.get("scope") == "CLOUDFRONT" else "regional"
        waf_id = _short_hash(name, kind, length=36)
        arn_region = "us-east-1" if scope == "global" else region
        state.update(
            arn=f"arn:aws:wafv2:{arn_region}:{ACCOUNT}:{scope}/{kind}/{physical}/{waf_id}",
            lockToken=_short_hash(name, "lock", length=36),
        )
        return waf_id

    return fill


def _bucket(state: dict, name: str, physical: str, region: str) -> str:
    bucket = state.get("bucket") or f"{name}-{_short_hash(name, length=7)}"
    state.update(
        bucket=bucket,
        arn=f"arn:aws:s3:::{bucket}",
        bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com",
        bucketDomainName=f"{bucket}.s3.amazonaws.com",
    )
    return bucket


def _queue(state: dict, name: str, physical: str, region: str) -> str:
    state.update(
        arn=f"arn:aws:sqs:{region}:{ACCOUNT}:{physical}",
        url=f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{physical}",
    )
    return str(state["url"])


def _topic(state: dict, name: str, physical: str, region: str) -> str:
    state["arn"] = f"arn:aws:sns:{region}:{ACCOUNT}:{physical}"
    return str(state["arn"])


def _oac(state: dict, name: str, physical: str, region: str) -> str:
    return "E" + _short_hash(name, "oac", length=13).upper()


def _event_rule(state: dict, name: str, physical: str, region: str) -> str:
    state["arn"] = f"arn:aws:events:{region}:{ACCOUNT}:rule/{physical}"
    return physical


def _resource_share(state: dict, name: str, physical: str, region: str) -> str:
    arn = f"arn:aws:ram:{region}:{ACCOUNT}:resource-share/{_short_hash(name, 'ram', length=36)}"
    state["arn"] = arn
    return arn


_RESOURCE_OUTPUTS: dict[str, Callable[[dict, str, str, str], str | None]] = {
    "aws:lambda/function:Function": _function,
    "aws:iam/role:Role": _role,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _ec2("subnet", "subnet"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw", "internet-gateway"),
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/securityGroup:SecurityGroup": _ec2("sg", "security-group"),
    "aws:ec2/natGateway:NatGateway": _ec2("nat", "natgateway"),
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:ec2/managedPrefixList:ManagedPrefixList": _prefix_list,
    "aws:globalaccelerator/accelerator:Accelerator": _accelerator,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": _target_group,
    "aws:lb/listener:Listener": _listener,
    "aws:apigateway/restApi:RestApi": _rest_api,
    "aws:apigateway/stage:Stage": _stage,
    "aws:cloudfront/distribution:Distribution": _distribution,
    "aws:cloudfront/originAccessControl:OriginAccessControl": _oac,
    "aws:lambda/functionUrl:FunctionUrl": _function_url,
    "aws:wafv2/ipSet:IpSet": _waf("ipset"),
    "aws:wafv2/webAcl:WebAcl": _waf("webacl"),
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:sqs/queue:Queue": _queue,
    "aws:sns/topic:Topic": _topic,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:ram/resourceShare:ResourceShare": _resource_share,
}


# Provider functions (invokes), keyed by token.
def _caller_identity(args: dict, region: str) -> dict:
    return {
        "accountId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/preview",
        "userId": "AIDAPREVIEW",
        "id": ACCOUNT,
    }


def _region(args: dict, region: str) -> dict:
    return {
        "name": region,
        "region": region,
        "id": region,
        "endpoint": f"ec2.{region}.amazonaws.com",
    }


def _partition(args: dict, region: str) -> dict:
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}


def _zones(args: dict, region: str) -> dict:
    # Like DescribeAvailabilityZones in an account that opted in to a Local Zone: without an
    # opt-in-status filter the Local Zone is listed too, and sorts first by name.
    names = [f"{region}{z}" for z in "abc"]
    ids = [f"euw1-az{i + 1}" for i in range(3)]
    filters = {f.get("name"): f.get("values") for f in args.get("filters") or []}
    if filters.get("opt-in-status") != ["opt-in-not-required"]:
        names, ids = [f"{region}-lax-1a", *names], ["euw1-lax1-az1", *ids]
    return {"names": names, "zoneIds": ids, "id": region}


def _get_function(args: dict, region: str) -> dict:
    arn = str(args.get("functionName"))
    parts = arn.split(":")
    fn_region, name = (parts[3], parts[6]) if len(parts) >= 7 else (region, arn)
    full = f"arn:aws:lambda:{fn_region}:{parts[4] if len(parts) > 4 else ACCOUNT}:function:{name}"
    return {
        "arn": full,
        "functionName": name,
        "invokeArn": (
            f"arn:aws:apigateway:{fn_region}:lambda:path/2015-03-31/functions/{full}/invocations"
        ),
        "qualifiedArn": f"{full}:$LATEST",
        "version": "$LATEST",
        "id": full,
    }


def _get_vpc(args: dict, region: str) -> dict:
    vpc_id = args.get("id", "vpc-0existing")
    return {
        "id": vpc_id,
        "arn": f"arn:aws:ec2:{region}:{ACCOUNT}:vpc/{vpc_id}",
        "cidrBlock": "10.50.0.0/16",
        "enableDnsSupport": True,
        "enableDnsHostnames": True,
    }


_MANAGED_POLICY_IDS = {
    # AWS-managed CloudFront policies: fixed, documented IDs.
    "Managed-CachingDisabled": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
    "Managed-CachingOptimized": "658327ea-f89d-4fab-a63d-7e88639e58f6",
    "Managed-AllViewerExceptHostHeader": "b689b0a8-53d0-40ab-baf2-68738e2966ac",
    "Managed-SecurityHeadersPolicy": "67f7725c-6f97-4210-82d7-5512b31e9d03",
}


def _managed_policy(args: dict, region: str) -> dict:
    name = str(args.get("name"))
    return {"id": _MANAGED_POLICY_IDS.get(name, _short_hash(name, length=36)), "name": name}


def _get_managed_prefix_list(args: dict, region: str) -> dict:
    # An AWS-managed list: owned by "AWS", one id per region, its weight as MaxEntries.
    name = str(args.get("name"))
    list_id = f"pl-{_short_hash(name, region, length=8)}"
    return {
        "id": list_id,
        "name": name,
        "arn": f"arn:aws:ec2:{region}:aws:prefix-list/{list_id}",
        "addressFamily": "IPv6" if ".ipv6." in name else "IPv4",
        "maxEntries": 55,
        "ownerId": "AWS",
        "entries": [],
        "version": 1,
        "tags": {},
    }


def _get_elastic_ip(args: dict, region: str) -> dict:
    # An existing Elastic IP looked up by allocation id: an address from RFC 5737's 192.0.2.0/24.
    allocation = str(args.get("id"))
    return {
        "id": allocation,
        "publicIp": _ip_from(allocation, "own-eip", "192.0.2"),
        "domain": "vpc",
        "associationId": "",
        "tags": {},
    }


_CALL_RESULTS: dict[str, Callable[[dict, str], dict]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _zones,
    "aws:lambda/getFunction:getFunction": _get_function,
    "aws:ec2/getVpc:getVpc": _get_vpc,
    "aws:cloudfront/getCachePolicy:getCachePolicy": _managed_policy,
    "aws:cloudfront/getOriginRequestPolicy:getOriginRequestPolicy": _managed_policy,
    "aws:cloudfront/getResponseHeadersPolicy:getResponseHeadersPolicy": _managed_policy,
    "aws:ec2/getManagedPrefixList:getManagedPrefixList": _get_managed_prefix_list,
    "aws:ec2/getElasticIp:getElasticIp": _get_elastic_ip,
}


def stack_config(config: Mapping[str, Any], region: str) -> dict[str, str]:
    """Pulumi's flat, JSON-encoded config map for a dict of this project's keys."""
    flat = {"aws:region": region}
    for key, value in config.items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        flat[full] = value if isinstance(value, str) else json.dumps(value)
    return flat


def synthesize(
    config: Mapping[str, Any] | None = None,
    *,
    region: str = "eu-west-1",
    stack: str = "test",
    call_overrides: Mapping[str, dict[str, Any]] | None = None,
    program: Path = MAIN,
    hook: ConstructionHook | None = None,
) -> Synth:
    """Run the program once under mocks with the given config (this project's keys).

    Keys may be given bare (``staticIp``) or namespaced (``lambda-exposure:staticIp``, or
    another namespace such as ``aws:region`` which overrides ``region``). Never a preview: the
    mocks resolve every output, so assertions on computed values cannot be skipped silently.
    A program error raises ``ProgramFailed`` (a ``pulumi.RunError``), which lists what had been
    constructed and registered before it. ``hook`` rewrites each resource's name and options
    before the SDK sees them (tests use it to stand in for a refactor).
    """
    config = dict(config or {})
    region = str(config.pop("aws:region", region))
    mocks = RecordingMocks(region, call_overrides)
    logger, warnings = warning_logger()
    run = run_program(
        program,
        project=PROJECT,
        stack=stack,
        config=stack_config(config, region),
        mocks=mocks,
        logger=logger,
        hook=hook,
    )
    resources = [Resource(**vars(r), outputs=run.states.get(r.urn, {})) for r in run.registrations]
    return Synth(
        resources=resources,
        outputs=run.exports,
        calls=mocks.calls,
        warnings=warnings,
        region=region,
        component_outputs=run.component_outputs,
    )


class StackFileError(ValueError):
    """A stack file that ``pulumi up`` would refuse or misread; one line per problem."""


def load_stack_file(path: Path | str) -> dict[str, Any]:
    """The ``config:`` block of a stack file (Pulumi.<stack>.yaml or examples/*.yaml).

    Returns namespaced keys as written (``aws:region``, ``lambda-exposure:staticIp``), ready for
    ``synthesize``. Refused, with one line each (``StackFileError``): invalid YAML, an empty file
    or one without a ``config:`` mapping, no ``aws:region`` (``synthesize`` would quietly use
    its default, and the program would stop), keys the program would silently ignore (no
    namespace, or a namespace a typo away from the project's), and secure (encrypted) values,
    which cannot be read offline.
    """
    import yaml

    from components.config import suspicious_config_keys

    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise StackFileError(f"{path}: not valid YAML{where}: {problem}") from None
    if document is None:
        raise StackFileError(f"{path}: the file is empty; a stack file holds a config: mapping")
    if not isinstance(document, dict) or "config" not in document:
        raise StackFileError(
            f"{path}: no config: block; a stack file holds its keys under config: "
            "(like examples/edge-oac.yaml)"
        )
    config = document["config"]
    if not isinstance(config, dict) or not config:
        raise StackFileError(
            f"{path}: config: is {'empty' if not config else 'not a mapping of keys'}; it holds "
            "at least aws:region"
        )
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            raise StackFileError(
                f"{path}: {key} is an encrypted secret; the offline preview cannot read it"
            )
    problems = [f"{path}: {note}" for note in suspicious_config_keys(config)]
    if "aws:region" not in config:
        problems.append(
            f"{path}: aws:region: not set; the program needs the stack's region "
            "(pulumi config set aws:region eu-west-1)"
        )
    if problems:
        raise StackFileError("\n".join(problems))
    return dict(config)


def iter_config_files(directory: Path) -> Iterator[Path]:
    yield from sorted(directory.glob("*.yaml"))
