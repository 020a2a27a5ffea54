"""lambda-exposure: put AWS Lambda functions in front of clients with hard network constraints.

Reads the stack config (validated in one place, ``components.config``), creates the network
only when an enabled pattern needs one, the exposed functions, then each enabled exposure
pattern with only the functions it exposes (``functions[].expose``), and exports the stack
outputs (docs/design.md, "Outputs contract"), ``exposure`` included: who can reach each
function, through which entry, from where (``components.exposure``). Each component takes
``(name, args)``, its ``args`` a small dataclass next to it. Pattern modules are imported only
when enabled, so a stack pays (in import time and in resources) only for what it turns on.
"""

from __future__ import annotations

import pulumi

from components.config import access_log_deliveries, load_config
from components.exposure import exposure_model, exposure_output
from components.function import ExposedFunction, ExposedFunctions, ExposedFunctionsArgs
from components.network import Network, NetworkArgs
from components.preflight import preflight
from components.region import Region

# Stops here, before any resource, on a bad value or an entry that widens another's restriction.
config = load_config()
exposure = exposure_model(config)
# Still before any resource: what only the account knows (a domain's hosted zone, the endpoints
# of vpcEndpointIds) is looked up and checked.
preflight(config)
outputs: dict[str, object] = {}

network = None
if vpc_users := config.patterns_needing_vpc():
    network = Network("network", NetworkArgs(config.network, needed_by=vpc_users))

# staticEgress comes before the functions: it decides where bundled functions run.
placement = None
environment: dict[str, str] = {}
if config.static_egress.enabled:
    from components.static_egress import StaticEgress, StaticEgressArgs

    assert network is not None
    egress = StaticEgress("static-egress", StaticEgressArgs(config.static_egress, network))
    placement = egress.placement
    environment.update(egress.function_environment)
    outputs["egressIps"] = egress.egress_ips

exposed = ExposedFunctions(
    "functions",
    ExposedFunctionsArgs(
        config.functions, Region(config.region), placement=placement, environment=environment
    ),
)
functions = exposed.functions
outputs["functionArns"] = {f.name: f.arn for f in functions}
by_name = {f.name: f for f in functions}


def served_by(entry: str) -> list[ExposedFunction]:
    """The functions ``entry`` exposes: each component sees only those."""
    return [by_name[f.name] for f in config.functions_exposed_by(entry)]


# Before the entries that write to them: one private log bucket per region that receives access
# logs (staticIp.accessLogs, edge.accessLogs), none when no access log is on.
log_buckets = None
if deliveries := access_log_deliveries(config):
    from components.logs import LogBuckets, LogBucketsArgs

    log_buckets = LogBuckets("logs", LogBucketsArgs(deliveries, config.region))
    outputs["logBuckets"] = log_buckets.bucket_names

if config.static_ip.enabled:
    from components.static_ip import StaticIpEntry, StaticIpEntryArgs

    assert network is not None
    static_ip = StaticIpEntry(
        "static-ip",
        StaticIpEntryArgs(
            config.static_ip,
            served_by("staticIp"),
            network,
            config.region,
            network_config=config.network,
            function_configs=config.functions_exposed_by("staticIp"),
            log_buckets=log_buckets,
        ),
    )
    outputs["staticIps"] = static_ip.static_ips
    outputs["staticIpUrls"] = static_ip.urls
    if config.static_ip.ip_address_type == "DUAL_STACK":
        outputs["staticIpv6s"] = static_ip.static_ipv6s
    if static_ip.web_acls:
        outputs["staticIpWebAclArns"] = static_ip.web_acls

if config.ip_restricted_api.enabled:
    from components.ip_restricted_api import IpRestrictedApi, IpRestrictedApiArgs

    api = IpRestrictedApi(
        "ip-api",
        IpRestrictedApiArgs(
            config.ip_restricted_api, served_by("ipRestrictedApi"), network, config.region
        ),
    )
    outputs["apiUrl"] = api.url
    if api.web_acl_arn is not None:
        outputs["apiWebAclArn"] = api.web_acl_arn
    if api.domain_url:
        outputs["apiDomainUrl"] = api.domain_url

if config.edge.enabled:
    from components.edge import EdgeProtectedUrl, EdgeProtectedUrlArgs

    edge = EdgeProtectedUrl(
        "edge",
        EdgeProtectedUrlArgs(
            config.edge, served_by("edge"), config.region, network, log_buckets=log_buckets
        ),
    )
    outputs["edgeUrl"] = edge.url
    outputs["functionUrls"] = edge.function_urls
    if edge.web_acl is not None:
        outputs["edgeWebAclArn"] = edge.web_acl.arn
    if config.edge.domain.enabled:
        outputs["edgeDomainUrls"] = edge.domain_urls

if config.private_endpoint.enabled:
    from components.private_endpoint import PrivateLambdaEndpoint, PrivateLambdaEndpointArgs

    assert network is not None
    endpoint = PrivateLambdaEndpoint(
        "private-endpoint",
        PrivateLambdaEndpointArgs(
            config.private_endpoint, served_by("privateEndpoint"), network, config.region
        ),
    )
    outputs["lambdaEndpointId"] = endpoint.endpoint_id
    outputs["lambdaEndpointDns"] = endpoint.dns_names

if config.ip_range_sync.enabled:
    from components.ip_range_sync import IpRangeSync, IpRangeSyncArgs

    sync = IpRangeSync(
        "ip-range-sync", IpRangeSyncArgs(config.ip_range_sync, network, config.region)
    )
    outputs["ipRangeSync"] = sync.outputs

# The table of tools.preview, with the real URLs and addresses: a reviewer sees after `pulumi up`
# who can reach each function, from where and how. Without an entry the only door is the Lambda
# Invoke API (IAM), and the stack keeps its single functionArns output.
if config.enabled_entries:
    outputs["exposure"] = exposure_output(exposure, outputs)

for key, value in outputs.items():
    pulumi.export(key, value)
