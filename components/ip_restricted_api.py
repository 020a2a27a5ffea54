"""API Gateway REST API whose resource policy decides which source IPs may call which route.

After Yan Cui's *How to create IP-protected endpoints with API Gateway and Lambda*:
only 217.128.123.174 may ``GET /index.html``; ``Deny`` for block lists; IP and IAM
conditions mixed per endpoint; a changed policy only takes effect after a deployment. After the
re:Post and Lambda VPC endpoint articles: the same API reachable only through an
``execute-api`` interface endpoint (PRIVATE).

Reads like the request path: [VPC endpoint →] REST API (+ resource policy) [→ custom domain] →
resources/methods → Lambda proxy integrations → permissions → deployment (re-made whenever the
policy or the routes change) → stage (access logs, throttling) [→ web ACL → association with the
stage] [→ base path mapping, DNS record; ``components/api_domain.py``].

``ipRestrictedApi.waf`` puts a REGIONAL AWS WAF web ACL on the stage (``components/waf.py``: a
per-IP rate limit, then AWS managed rule groups). API Gateway runs it before the resource policy,
so a blocked request never reaches the policy, an authorizer or the function.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws

from components.api_domain import (
    ApiDomainSpec,
    api_domain_name,
    domain_spec,
    endpoint_dns,
    execute_api_arn,
    map_api_domain,
)
from components.api_policy import digest, policy_json, route_methods
from components.component import Component
from components.config import (
    IpRestrictedApiConfig,
    route_literal_prefix,
    serving_function,
)
from components.function import ExposedFunction, assume_role_policy
from components.network import InterfaceEndpointSpec, Network, interface_endpoint
from components.waf import WebAclSpec, acl_description, associate, build_web_acl

PROXY = "{proxy+}"
# Managed by AWS for exactly this job; see _account_log_role for why it is not scoped further.
PUSH_TO_CLOUDWATCH_POLICY = "policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


@dataclass(frozen=True)
class IpRestrictedApiArgs:
    config: IpRestrictedApiConfig
    functions: Sequence[ExposedFunction]
    network: Network | None  # needed by a PRIVATE API only (its execute-api endpoint)
    region: str  # the stack's


@dataclass(frozen=True)
class ApiMethod:
    """One method of the API: which resource, which verb, who authorizes, which function."""

    path: str  # resource path: "/", "/{proxy+}", "/admin", "/admin/{proxy+}"
    http_method: str  # "ANY" or a verb
    authorization: str  # "NONE" | "AWS_IAM"
    function: str  # ExposedFunction.name


def _join(parent: str, part: str) -> str:
    return f"/{part}" if parent == "/" else f"{parent}/{part}"


def _prefixes(path: str) -> list[str]:
    """'/a/b' -> ['/a', '/a/b'] (the resources API Gateway needs to reach it)."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


class _Served(Protocol):
    """What planning needs of a function: an ExposedFunction, or its config (quotas.py)."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str: ...


def plan_methods(functions: Sequence[_Served], config: IpRestrictedApiConfig) -> list[ApiMethod]:
    """Every method the API gets, from config alone (counts are known at preview).

    Each function serves its path and everything under it (``ANY`` on ``<path>`` and on
    ``<path>/{proxy+}``). An AWS_IAM route needs its own method, because authorization is set
    per method: its path becomes explicit resources. Every resource created on the way also gets
    ``ANY`` + ``{proxy+}`` to the function serving it, so adding ``/admin`` never turns
    ``/admin/x`` or ``POST /admin`` (formerly matched by a ``{proxy+}`` higher up) into a 403.
    """
    resource_paths = {"/"}
    for fn in functions:
        resource_paths.update(_prefixes(fn.path))
    iam_routes = [r for r in config.routes if r.auth == "AWS_IAM"]
    for route in iam_routes:
        resource_paths.update(_prefixes(route_literal_prefix(route.path)))

    methods: dict[tuple[str, str], ApiMethod] = {}
    for path in sorted(resource_paths):
        server = serving_function(path, functions)
        if server is None:
            continue
        for target in (path, _join(path, PROXY)):
            methods[(target, "ANY")] = ApiMethod(target, "ANY", "NONE", server.name)
    for route in iam_routes:
        literal = route_literal_prefix(route.path)
        target = literal if route.path == literal else _join(literal, PROXY)
        server = serving_function(literal, functions)
        assert server is not None, "config.py refuses IAM routes no function serves"
        for verb in route_methods(route):  # GET brings HEAD: no unauthenticated HEAD around it
            methods[(target, verb)] = ApiMethod(target, verb, "AWS_IAM", server.name)
    return sorted(methods.values(), key=lambda m: (m.path.count("/"), m.path, m.http_method))


def resource_paths(methods: Sequence[ApiMethod]) -> set[str]:
    """Every API Gateway resource the methods need, the root ("/") included."""
    paths = {"/"}
    for method in methods:
        paths.update(_prefixes(method.path))
    return paths


def _slugs(paths: Sequence[str]) -> dict[str, str]:
    """Readable, unique child-name parts for resource paths ('/admin/{proxy+}' -> 'admin-proxy')."""
    slugs: dict[str, str] = {}
    used: set[str] = set()
    for path in sorted(paths):
        slug = path.strip("/").replace(PROXY, "proxy").replace("/", "-") or "root"
        if slug in used:  # '/a-b' and '/a/b' would collide
            slug = f"{slug}-{digest(path)[:6]}"
        used.add(slug)
        slugs[path] = slug
    return slugs


def execute_api_service_name(region: str) -> str:
    """PrivateLink service name of API Gateway's execute-api ('cn.' prefix in China regions)."""
    prefix = "cn.com.amazonaws" if region.startswith("cn-") else "com.amazonaws"
    return f"{prefix}.{region}.execute-api"


def access_log_format(private: bool) -> str:
    """One JSON object per request: enough to see who was refused and why (no bodies)."""
    fields = {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "sourceIp": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "userArn": "$context.identity.userArn",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "errorMessage": "$context.error.message",
        "errorType": "$context.error.responseType",
    }
    if private:
        fields["vpceId"] = "$context.identity.vpceId"
    return json.dumps(fields, separators=(",", ":"))


class IpRestrictedApi(Component[IpRestrictedApiArgs]):
    """REST API + resource policy (per-route IP allow/deny, optional IAM) + Lambda proxies."""

    TYPE = "lambda-exposure:index:IpRestrictedApi"
    url: pulumi.Output[str]
    rest_api_id: pulumi.Output[str]
    execution_arn: pulumi.Output[str]
    policy: pulumi.Output[str]
    vpc_endpoint_id: pulumi.Output[str] | None
    domain_url: str | None

    def _build(self) -> pulumi.Inputs:
        config = self._args.config
        # vpcEndpointIds: the API is reached through endpoints that exist already.
        endpoint = self._vpc_endpoint() if config.private and not config.vpc_endpoint_ids else None
        self.vpc_endpoint_id = endpoint.id if endpoint is not None else None
        api = self._rest_api(endpoint)
        self.rest_api_id = api.id
        self.execution_arn = api.execution_arn

        # A separate RestApiPolicy, because the policy names the API's own ARN (known only once
        # the API exists); see components/api_policy.py for the statements.
        self.policy = pulumi.Output.all(api.execution_arn, self._admitted_list(endpoint)).apply(
            lambda parts: policy_json(parts[0], config, parts[1])
        )
        policy = aws.apigateway.RestApiPolicy(
            f"{self._name}-policy",
            rest_api_id=api.id,
            policy=self.policy,
            region=None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        domain = api_domain_name(self._domain_spec(endpoint)) if config.domain.enabled else None
        if endpoint is not None:
            self._endpoint_policy(endpoint, api, domain)

        methods = plan_methods(self._args.functions, config)
        children = self._methods(api, methods)
        self._permissions(api, methods)
        deployment = self._deployment(api, methods, [policy, *children])
        stage = self._stage(api, deployment)
        self._web_acl(stage)
        self.url = stage.invoke_url
        self.domain_url = None
        if domain is not None:
            spec = self._domain_spec(endpoint)
            map_api_domain(spec, domain, api, stage, endpoint_dns(spec, endpoint))
            self.domain_url = config.domain.url()
        return {
            "apiUrl": self.url,
            "restApiId": api.id,
            "policy": self.policy,
            "vpcEndpointId": self.vpc_endpoint_id,
            **({"apiDomainUrl": self.domain_url} if self.domain_url else {}),
        }

    # -- PRIVATE: the interface endpoint callers come through ----------------------------------

    def _vpc_endpoint(self) -> aws.ec2.VpcEndpoint:
        network = self._args.network
        if network is None:
            raise pulumi.RunError(
                "lambda-exposure:ipRestrictedApi.endpointType: PRIVATE needs the network"
            )
        endpoint, _ = interface_endpoint(
            InterfaceEndpointSpec(
                name=f"{self._name}-endpoint",
                parent=self,
                network=network,
                service_name=execute_api_service_name(self._args.region),
                # A private API's URL resolves in the VPC only through the endpoint's private
                # DNS (see docs/patterns/ipRestrictedApi.md: this also sends calls to *public*
                # execute-api URLs from this VPC to the endpoint).
                private_dns=network.private_dns("ipRestrictedApi.endpointType"),
                description="execute-api interface endpoint: HTTPS from inside the VPC only",
            )
        )
        return endpoint

    def _rest_api(self, endpoint: aws.ec2.VpcEndpoint | None) -> aws.apigateway.RestApi:
        config = self._args.config
        uses_ipv6 = self._uses_ipv6()
        return aws.apigateway.RestApi(
            self._name,
            description=f"lambda-exposure {self._name}: {config.endpoint_type} API, IP-restricted",
            endpoint_configuration={
                "types": config.endpoint_type,
                "vpc_endpoint_ids": self._admitted_list(endpoint),
                # An IPv6 CIDR in a list can only ever match if IPv6 clients can connect; a
                # private API is always dual-stack on AWS's side, so it is left to AWS there.
                "ip_address_type": (
                    None if config.private else ("dualstack" if uses_ipv6 else "ipv4")
                ),
            },
            # Only sent when on: the default endpoint then answers 403 on every stage
            # ("Disable the default endpoint for REST APIs",
            # https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-disable-default-endpoint.html).
            disable_execute_api_endpoint=True if config.domain.disable_default_endpoint else None,
            region=None,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _endpoint_policy(
        self,
        endpoint: aws.ec2.VpcEndpoint,
        api: aws.apigateway.RestApi,
        domain: aws.apigateway.DomainName | None = None,
    ) -> None:
        """Defense in depth: this endpoint carries invocations of this API and nothing else."""
        # A PRIVATE domain is invoked through this endpoint too. Whether API Gateway checks the
        # endpoint policy against the domain's ARN as well as the API's is not documented; the
        # domain (and what is below it) is listed so the endpoint never refuses it.
        domain_arns: pulumi.Input[list[str]] = (
            execute_api_arn(domain).apply(lambda arn: [arn, f"{arn}/*"])
            if domain is not None
            else []
        )
        aws.ec2.VpcEndpointPolicy(
            f"{self._name}-endpoint-policy",
            vpc_endpoint_id=endpoint.id,
            policy=pulumi.Output.all(api.execution_arn, domain_arns).apply(
                lambda parts: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "InvokeThisApiOnly",
                                "Effect": "Allow",
                                "Principal": "*",
                                "Action": "execute-api:Invoke",
                                "Resource": (
                                    [f"{parts[0]}/*", *parts[1]] if parts[1] else f"{parts[0]}/*"
                                ),
                            }
                        ],
                    }
                )
            ),
            region=None,
            opts=pulumi.ResourceOptions(parent=self),
        )

    # -- resources, methods, integrations -----------------------------------------------------

    def _methods(
        self, api: aws.apigateway.RestApi, methods: Sequence[ApiMethod]
    ) -> list[pulumi.Resource]:
        name, here = self._name, pulumi.ResourceOptions(parent=self)
        functions = {f.name: f for f in self._args.functions}
        paths = resource_paths(methods)
        slugs = _slugs(sorted(paths))
        resource_ids: dict[str, pulumi.Output[str]] = {"/": api.root_resource_id}
        children: list[pulumi.Resource] = []
        for path in sorted(paths - {"/"}, key=lambda p: (p.count("/"), p)):
            parent, _, part = path.rpartition("/")
            resource = aws.apigateway.Resource(
                f"{name}-{slugs[path]}",
                rest_api=api.id,
                parent_id=resource_ids[parent or "/"],
                path_part=part,
                region=None,
                opts=here,
            )
            resource_ids[path] = resource.id
            children.append(resource)
        for method in methods:
            child = f"{name}-{method.http_method.lower()}-{slugs[method.path]}"
            api_method = aws.apigateway.Method(
                child,
                rest_api=api.id,
                resource_id=resource_ids[method.path],
                http_method=method.http_method,
                authorization=method.authorization,
                region=None,
                opts=here,
            )
            integration = aws.apigateway.Integration(
                child,
                rest_api=api.id,
                resource_id=resource_ids[method.path],
                http_method=api_method.http_method,
                type="AWS_PROXY",
                # Lambda's Invoke API is a POST whatever the client's verb.
                integration_http_method="POST",
                uri=functions[method.function].invoke_arn,
                region=None,
                opts=here,
            )
            children.extend([api_method, integration])
        return children

    def _permissions(self, api: aws.apigateway.RestApi, methods: Sequence[ApiMethod]) -> None:
        used = {m.function for m in methods}
        stage_name = self._args.config.stage_name
        for fn in self._args.functions:
            if fn.name not in used:
                continue
            aws.lambda_.Permission(
                f"{self._name}-invoke-{fn.name}",
                action="lambda:InvokeFunction",
                function=fn.arn,
                principal="apigateway.amazonaws.com",
                # This API's deployed stage only: not other APIs, not the console's test stage.
                source_arn=api.execution_arn.apply(lambda arn: f"{arn}/{stage_name}/*/*"),
                region=fn.region,
                opts=pulumi.ResourceOptions(parent=self),
            )

    # -- deployment and stage ------------------------------------------------------------------

    def _deployment(
        self,
        api: aws.apigateway.RestApi,
        methods: Sequence[ApiMethod],
        after: Sequence[pulumi.Resource],
    ) -> aws.apigateway.Deployment:
        config = self._args.config
        by_name = {f.name: f for f in self._args.functions}
        used = sorted({m.function for m in methods})
        routes_digest = pulumi.Output.all(*[by_name[f].invoke_arn for f in used]).apply(
            lambda arns: digest(
                json.dumps(
                    {
                        "methods": [m.__dict__ for m in methods],
                        "integrations": dict(zip(used, arns, strict=True)),
                        "endpointType": config.endpoint_type,
                    },
                    sort_keys=True,
                )
            )
        )
        return aws.apigateway.Deployment(
            f"{self._name}-deployment",
            rest_api=api.id,
            description="lambda-exposure: replaced whenever the policy or the routes change",
            # API Gateway serves a snapshot taken at deployment time: a new policy or route is
            # live only after a new deployment (Yan Cui's console pitfall). Hashing both here
            # makes every such change replace the deployment on the next `pulumi up`.
            triggers={
                "policy": self.policy.apply(digest),
                "routes": routes_digest,
                # Turning the default endpoint off (or on) takes effect with a deployment.
                **(
                    {"defaultEndpoint": "disabled"}
                    if config.domain.disable_default_endpoint
                    else {}
                ),
            },
            region=None,
            # A PRIVATE API without a policy cannot be deployed at all, and a deployment made
            # before the methods exist would snapshot an empty API.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)),
        )

    def _stage(
        self, api: aws.apigateway.RestApi, deployment: aws.apigateway.Deployment
    ) -> aws.apigateway.Stage:
        """The stage (access logs when on), then its throttling and metrics."""
        config, name, here = self._args.config, self._name, pulumi.ResourceOptions(parent=self)
        stage_deps: list[pulumi.Resource] = []
        access_log_settings: aws.apigateway.StageAccessLogSettingsArgsDict | None = None
        if config.access_logs:
            log_group = aws.cloudwatch.LogGroup(
                f"{name}-access-logs",
                retention_in_days=config.log_retention_days,
                region=None,
                opts=here,
            )
            access_log_settings = {
                "destination_arn": log_group.arn,
                "format": access_log_format(config.private),
            }
            if config.cloud_watch_role:
                stage_deps.append(self._account_log_role())
        stage = aws.apigateway.Stage(
            f"{name}-stage",
            rest_api=api.id,
            deployment=deployment.id,
            stage_name=config.stage_name,
            access_log_settings=access_log_settings,
            region=None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=stage_deps),
        )
        aws.apigateway.MethodSettings(
            f"{name}-method-settings",
            rest_api=api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings={
                "throttling_burst_limit": config.throttling.burst_limit,
                "throttling_rate_limit": config.throttling.rate_limit,
                "metrics_enabled": True,
                # Execution logs (and data traces, which log full bodies) stay off: they need the
                # same account role and go to a log group API Gateway creates without retention.
                "logging_level": "OFF",
                "data_trace_enabled": False,
            },
            region=None,
            opts=here,
        )
        return stage

    def _web_acl(self, stage: aws.apigateway.Stage) -> None:
        """``ipRestrictedApi.waf``: a web ACL of the API's region on the stage.

        The stage ARN (``arn:aws:apigateway:<region>::/restapis/<id>/stages/<name>``) is what WAF
        associates with; the Stage resource gives it as ``arn``. AWS WAF lists "Amazon API
        Gateway REST API" among the regional resources it protects, naming no endpoint type, and
        the API Gateway WAF guide names no exception for PRIVATE APIs; no AWS page found says in
        so many words that PRIVATE ones are supported (docs/patterns/ipRestrictedApi.md, Caveats).
        https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-control-access-aws-waf.html
        """
        waf = self._args.config.waf
        self.web_acl_arn: pulumi.Output[str] | None = None
        if not waf.enabled:
            return
        acl = build_web_acl(
            WebAclSpec(
                prefix=self._name,
                parent=self,
                scope="REGIONAL",
                region=None,
                description=acl_description(
                    "lambda-exposure ipRestrictedApi", managed=bool(waf.managed_rules)
                ),
                rate_limit=waf.rate_limit,
                managed_rules=waf.managed_rules,
            )
        )
        associate(f"{self._name}-waf-stage", acl, stage.arn, self, None)
        self.web_acl_arn = acl.arn

    # -- account-wide logging role (opt-in) -----------------------------------------------------

    def _account_log_role(self) -> aws.apigateway.Account:
        """The role API Gateway uses to write *every* API's logs in this account and region.

        Opt-in (``cloudWatchRole: true``): it is a region-wide setting, so setting it replaces a
        role another stack or team may have set, and removing this stack does not unset it.
        The AWS-managed policy is used as is: the role serves all APIs of the region, so scoping
        it to this API's log group would break the others' logging.
        """
        name, here = self._name, pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-cloudwatch",
            assume_role_policy=assume_role_policy("apigateway.amazonaws.com"),
            description="API Gateway account-wide role for writing CloudWatch Logs",
            opts=here,
        )
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-cloudwatch",
            role=role.name,
            policy_arn=partition.partition.apply(
                lambda p: f"arn:{p}:iam::aws:{PUSH_TO_CLOUDWATCH_POLICY}"
            ),
            opts=here,
        )
        return aws.apigateway.Account(
            f"{name}-account",
            cloudwatch_role_arn=role.arn,
            region=None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]),
        )

    # -- custom domain and vpcEndpointIds (components/api_domain.py) --------------------------

    def _admitted_list(self, endpoint: aws.ec2.VpcEndpoint | None) -> list[Any] | None:
        """The VPC endpoints the API admits: the stack's own, or ``vpcEndpointIds``."""
        if endpoint is not None:
            return [endpoint.id]
        return list(self._args.config.vpc_endpoint_ids) or None

    def _domain_spec(self, endpoint: aws.ec2.VpcEndpoint | None) -> ApiDomainSpec:
        return domain_spec(
            self._name,
            self._args.config,
            endpoint.id if endpoint is not None else None,
            dualstack=self._uses_ipv6(),
            parent=self,
        )

    def _uses_ipv6(self) -> bool:
        config = self._args.config
        return any(
            ":" in cidr
            for cidr in [*config.allow, *config.deny]
            + [c for r in config.routes for c in (*r.allow, *r.deny)]
        )
