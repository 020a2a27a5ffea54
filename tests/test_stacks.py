"""The two stack files, dev and prod: same program, and the differences that matter in production.

Each assertion reads the synthesized graph of ``Pulumi.prod.yaml`` (and ``Pulumi.dev.yaml`` where
it contrasts them) and derives what it expects from the stack file itself, so that changing a
toggle in prod makes the test say which promise of the README's "Dev and prod" table broke.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.graph import (
    ACCELERATOR,
    DISTRIBUTION,
    EIP,
    LB,
    LISTENER,
    NAT,
    STAGE,
    WEB_ACL,
    WEB_ACL_ASSOCIATION,
    alb,
)
from tests.harness import shared_synthesis
from tests.samples import DEV_STACK, ROOT
from tools.cost import estimate, total
from tools.synth import Synth, load_stack_file

PROD_STACK = ROOT / "Pulumi.prod.yaml"
NS = "lambda-exposure"


@pytest.fixture(scope="module")
def prod_config() -> dict[str, Any]:
    return load_stack_file(PROD_STACK)


@pytest.fixture(scope="module")
def prod(prod_config: dict[str, Any]) -> Synth:
    return shared_synthesis(prod_config, stack="prod")


@pytest.fixture(scope="module")
def dev() -> Synth:
    return shared_synthesis(load_stack_file(DEV_STACK), stack="dev")


def _key(config: dict[str, Any], key: str) -> Any:
    return config.get(f"{NS}:{key}") or {}


def test_prod_serves_each_function_through_exactly_one_entry(prod_config, prod, dev) -> None:
    functions = _key(prod_config, "functions")
    assert functions and all(len(fn["expose"]) == 1 for fn in functions)
    anonymous = {"staticIp", "internalAlb", "ipRestrictedApi", "edge"}
    for fn in functions:
        entries = {
            r["entry"]
            for r in prod.outputs["exposure"]
            if r["function"] == fn["name"] and r["entry"] in anonymous
        }
        assert entries == set(fn["expose"]), fn["name"]
    # dev's app is on every entry at once (the point of dev: try them all).
    dev_app = {r["entry"] for r in dev.outputs["exposure"] if r["function"] == "app"}
    assert {"staticIp", "ipRestrictedApi", "edge"} <= dev_app


def test_prod_admits_anonymous_callers_only_from_its_lists_except_through_cloudfront(
    prod_config, prod
) -> None:
    lists = {
        "staticIp": _key(prod_config, "staticIp")["allowedCidrs"],
        "ipRestrictedApi": _key(prod_config, "ipRestrictedApi")["allow"],
    }
    for row in prod.outputs["exposure"]:
        if row["auth"].startswith("IAM"):
            continue  # signed side doors: IAM decides, not the network
        if row["entry"] == "edge":
            assert "waf" in row, "the public app is behind the edge web ACL"
            continue
        assert row["allowedCidrs"] == lists[row["entry"]], row


def test_prod_puts_a_web_acl_on_every_entry(prod_config, prod, dev) -> None:
    # REGIONAL ACLs on the accelerator's ALB and on the API stage; the edge's on the distribution.
    associations = prod.of_type(WEB_ACL_ASSOCIATION)
    targets = {str(a.inputs["resourceArn"]) for a in associations}
    assert alb(prod).outputs["arn"] in targets
    stage = prod.one(STAGE)
    assert any(t.endswith(f"/stages/{stage.inputs['stageName']}") for t in targets), targets
    edge_acl = [w for w in prod.of_type(WEB_ACL) if w.inputs["scope"] == "CLOUDFRONT"]
    assert len(edge_acl) == 1
    assert prod.one(DISTRIBUTION).inputs["webAclId"] == edge_acl[0].outputs["arn"]
    managed = {
        g["managedRuleGroupStatement"]["name"]
        for rule in edge_acl[0].inputs["rules"]
        if (g := rule.get("statement", {})).get("managedRuleGroupStatement")
    }
    assert managed == set(_key(prod_config, "edge")["managedRules"])
    assert dev.of_type(WEB_ACL) == []  # dev has no allow-list at the edge and no managed rules


def test_prod_answers_https_on_names_of_its_own(prod_config, prod, dev) -> None:
    certificate = _key(prod_config, "staticIp")["certificateArn"]
    listeners = [r for r in prod.of_type(LISTENER) if r.inputs.get("protocol") == "HTTPS"]
    assert [r.inputs["certificateArn"] for r in listeners] == [certificate]
    assert all(url.startswith("https://") for url in prod.outputs["staticIpUrls"])
    assert all(url.startswith("http://") for url in dev.outputs["staticIpUrls"])
    distribution = prod.one(DISTRIBUTION).inputs
    assert distribution["aliases"] == _key(prod_config, "edge")["domain"]["names"]
    assert distribution["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert prod.outputs["edgeDomainUrls"] == [
        f"https://{n}/" for n in _key(prod_config, "edge")["domain"]["names"]
    ]
    api_domain = _key(prod_config, "ipRestrictedApi")["domain"]
    assert prod.outputs["apiDomainUrl"] == f"https://{api_domain['name']}"
    # The domain is the only way in: the execute-api endpoint is off.
    api = prod.one("aws:apigateway/restApi:RestApi").inputs
    assert api["disableExecuteApiEndpoint"] is True
    assert "edgeDomainUrls" not in dev.outputs and "apiDomainUrl" not in dev.outputs


def test_prod_keeps_access_logs_of_every_entry(prod_config, prod, dev) -> None:
    bucket = prod.outputs["logBuckets"][prod.region]
    balancer = alb(prod).inputs
    assert balancer["accessLogs"]["enabled"] is True
    assert balancer["accessLogs"]["bucket"] == bucket
    accelerator = prod.one(ACCELERATOR).inputs
    assert accelerator["attributes"]["flowLogsEnabled"] is True
    assert accelerator["attributes"]["flowLogsS3Bucket"] == bucket
    deliveries = prod.of_type("aws:cloudwatch/logDelivery:LogDelivery")
    assert len(deliveries) == 1  # CloudFront standard logs
    stage = prod.one(STAGE).inputs
    assert stage["accessLogSettings"]["destinationArn"]
    assert "logBuckets" not in dev.outputs
    assert "accessLogSettings" not in dev.one(STAGE).inputs


def test_prod_protects_the_addresses_clients_allow_list(prod_config, prod, dev) -> None:
    assert prod.one(ACCELERATOR).protect
    egress = [e for e in prod.of_type(EIP) if e.name.startswith("static-egress")]
    assert egress and all(e.protect for e in egress)
    assert len(prod.outputs["egressIps"]) == len(egress)


def test_prod_has_a_nat_gateway_per_zone(prod_config, prod, dev) -> None:
    zones = _key(prod_config, "network")["azCount"]
    assert _key(prod_config, "staticEgress")["natPerAz"] is True
    assert len(prod.of_type(NAT)) == zones
    assert len(prod.outputs["egressIps"]) == zones
    assert dev.of_type(NAT) == []


def test_prod_shares_its_synced_prefix_list_with_the_organization(prod_config, prod) -> None:
    (organization,) = _key(prod_config, "ipRangeSync")["shareWith"]
    principals = prod.of_type("aws:ram/principalAssociation:PrincipalAssociation")
    assert [p.inputs["principal"] for p in principals] == [organization]
    assert prod.outputs["ipRangeSync"]["resourceShareArn"].startswith("arn:aws:ram:")


def test_prod_costs_more_before_traffic_and_says_by_how_much(prod, dev) -> None:
    dev_rows, prod_rows = estimate(dev), estimate(prod)
    assert total(prod_rows) > total(dev_rows)
    kinds = {r.kind for r in prod_rows} - {r.kind for r in dev_rows}
    # What prod adds: NAT gateways and web ACLs (the same accelerator and ALB as dev).
    assert {"natGateway", "wafWebAcl", "wafRule"} <= kinds, kinds
    assert len(prod.of_type(LB)) == len(dev.of_type(LB))
