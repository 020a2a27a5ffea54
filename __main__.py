"""lambda-exposure: put AWS Lambda functions in front of clients with hard network constraints.

Reads the stack config (validated in one place, ``components/config.py``), creates the network
only when an enabled pattern needs one, the exposed functions, then each enabled exposure
pattern, and exports the outputs of DESIGN.md's contract. Pattern modules are imported only
when enabled, so a stack pays (in import time and in resources) only for what it turns on.
"""

from __future__ import annotations

import pulumi

from components.config import load_config
from components.function import ExposedFunctions
from components.network import Network

config = load_config()  # stops here, before any resource, on a bad value
outputs: dict[str, object] = {}

network = None
if vpc_users := config.patterns_needing_vpc():
    network = Network("network", config.network, needed_by=vpc_users)

# staticEgress comes before the functions: it decides where bundled functions run.
placement = None
environment: dict[str, str] = {}
if config.static_egress.enabled:
    from components.static_egress import StaticEgress

    assert network is not None
    egress = StaticEgress("static-egress", config.static_egress, network)
    placement = egress.placement
    environment.update(egress.function_environment)
    outputs["egressIps"] = egress.egress_ips

exposed = ExposedFunctions(
    "functions",
    config.functions,
    region=config.region,
    placement=placement,
    environment=environment,
)
functions = exposed.functions
outputs["functionArns"] = {f.name: f.arn for f in functions}

if config.static_ip.enabled:
    from components.static_ip import StaticIpEntry

    assert network is not None
    static_ip = StaticIpEntry("static-ip", config.static_ip, functions, network, config)
    outputs["staticIps"] = static_ip.static_ips
    outputs["staticIpUrls"] = static_ip.urls
    if config.static_ip.ip_address_type == "DUAL_STACK":
        outputs["staticIpv6s"] = static_ip.static_ipv6s

if config.ip_restricted_api.enabled:
    from components.ip_restricted_api import IpRestrictedApi

    api = IpRestrictedApi("ip-api", config.ip_restricted_api, functions, network, config.region)
    outputs["apiUrl"] = api.url

if config.edge.enabled:
    from components.edge import EdgeProtectedUrl

    edge = EdgeProtectedUrl("edge", config.edge, functions, config.region)
    outputs["edgeUrl"] = edge.url
    outputs["functionUrls"] = edge.function_urls

if config.private_endpoint.enabled:
    from components.private_endpoint import PrivateLambdaEndpoint

    assert network is not None
    endpoint = PrivateLambdaEndpoint(
        "private-endpoint", config.private_endpoint, functions, network, config.region
    )
    outputs["lambdaEndpointId"] = endpoint.endpoint_id
    outputs["lambdaEndpointDns"] = endpoint.dns_names

if config.ip_range_sync.enabled:
    from components.ip_range_sync import IpRangeSync

    sync = IpRangeSync("ip-range-sync", config.ip_range_sync, network, config.region)
    outputs["ipRangeSync"] = sync.outputs

for key, value in outputs.items():
    pulumi.export(key, value)
