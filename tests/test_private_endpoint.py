"""privateEndpoint: an interface VPC endpoint for the Lambda API with a least-privilege policy."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from components.network import check_private_dns
from components.private_endpoint import (
    endpoint_policy,
    lambda_endpoint_service_name,
    principal_arns,
)
from tests.graph import (
    PRIVATE_ENDPOINT_COMPONENT,
    SG,
    SUBNET,
    VPC,
    VPC_ENDPOINT,
    owned_one,
    policy_of,
)
from tests.policy_eval import Request, evaluate
from tests.samples import EXAMPLES
from tools import invoke_private
from tools.synth import ACCOUNT, Synth, load_stack_file, synthesize

EXISTING_VPC = "vpc-0123456789abcdef0"
EXISTING_PRIVATE = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
SAME_REGION_FN = "arn:aws:lambda:eu-west-1:111122223333:function:legacy"


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def endpoint_on(**options: Any) -> dict[str, Any]:
    return {"privateEndpoint": {"enabled": True, **options}}


def function_arns(result: Synth) -> list[str]:
    return list(result.outputs["functionArns"].values())


def existing_vpc(**network: Any) -> dict[str, Any]:
    return {"network": {"vpcId": EXISTING_VPC, "privateSubnetIds": EXISTING_PRIVATE, **network}}


def get_vpc(**attributes: Any) -> dict[str, dict[str, Any]]:
    answer = {
        "id": EXISTING_VPC,
        "cidrBlock": "10.50.0.0/16",
        "enableDnsSupport": True,
        "enableDnsHostnames": True,
        **attributes,
    }
    return {"aws:ec2/getVpc:getVpc": answer}


# -- the endpoint ------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1", "ap-southeast-2"])
def test_service_name_follows_the_region(synth, region: str) -> None:
    result = synth({"aws:region": region, **endpoint_on()})
    endpoint = result.one(VPC_ENDPOINT)
    assert endpoint.inputs["serviceName"] == f"com.amazonaws.{region}.lambda"
    assert endpoint.inputs["vpcEndpointType"] == "Interface"


def test_china_regions_use_the_cn_prefix() -> None:
    assert lambda_endpoint_service_name("cn-north-1") == "cn.com.amazonaws.cn-north-1.lambda"
    assert lambda_endpoint_service_name("us-gov-west-1") == "com.amazonaws.us-gov-west-1.lambda"


def test_endpoint_sits_in_the_private_subnets_one_per_zone(synth) -> None:
    result = synth({"network": {"azCount": 3}, **endpoint_on()})
    endpoint = result.one(VPC_ENDPOINT)
    private = [
        s for s in result.of_type(SUBNET) if s.inputs["tags"]["lambda-exposure:tier"] == "private"
    ]
    assert sorted(endpoint.inputs["subnetIds"]) == sorted(s.outputs["id"] for s in private)
    assert len({s.inputs["availabilityZone"] for s in private}) == 3
    assert endpoint.inputs["vpcId"] == result.one(VPC).outputs["id"]


def test_private_dns_on_by_default_and_the_new_vpc_supports_it(synth) -> None:
    result = synth(endpoint_on())
    assert result.one(VPC_ENDPOINT).inputs["privateDnsEnabled"] is True
    vpc = result.one(VPC)
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True


def test_private_dns_can_be_turned_off(synth) -> None:
    result = synth(endpoint_on(privateDns=False))
    assert result.one(VPC_ENDPOINT).inputs["privateDnsEnabled"] is False


def test_security_group_admits_only_https_from_the_vpc_and_allowed_cidrs(synth) -> None:
    peers = ["10.30.0.0/16", "192.168.8.0/24"]
    result = synth({"network": {"cidr": "10.40.0.0/16"}, **endpoint_on(allowedCidrs=peers)})
    group = owned_one(result, SG, by=PRIVATE_ENDPOINT_COMPONENT)
    (rule,) = group.inputs["ingress"]
    assert rule["protocol"] == "tcp"
    assert (rule["fromPort"], rule["toPort"]) == (443, 443)
    vpc = result.one(VPC)
    assert rule["cidrBlocks"] == [vpc.outputs["cidrBlock"], *peers]
    assert not group.inputs.get("egress")
    assert not rule.get("ipv6CidrBlocks")
    assert result.one(VPC_ENDPOINT).inputs["securityGroupIds"] == [group.outputs["id"]]


def test_default_security_group_rule_is_the_vpc_cidr_only(synth) -> None:
    result = synth({"network": {"cidr": "10.41.0.0/16"}, **endpoint_on()})
    (rule,) = owned_one(result, SG, by=PRIVATE_ENDPOINT_COMPONENT).inputs["ingress"]
    assert rule["cidrBlocks"] == ["10.41.0.0/16"]


def test_outputs_are_the_endpoint_id_and_its_dns_names(synth) -> None:
    result = synth(endpoint_on())
    endpoint = result.one(VPC_ENDPOINT)
    assert result.outputs["lambdaEndpointId"] == endpoint.outputs["id"]
    assert result.outputs["lambdaEndpointDns"] == [
        e["dnsName"] for e in endpoint.outputs["dnsEntries"]
    ]


# -- the endpoint policy -----------------------------------------------------------------------


def test_policy_defaults_to_this_account_invoking_every_function_both_forms(synth) -> None:
    result = synth(
        {
            "functions": [
                {"name": "app", "handler": "app", "path": "/"},
                {"name": "second", "handler": "app", "path": "/second"},
                {"name": "legacy", "arn": SAME_REGION_FN, "path": "/legacy"},
            ],
            **endpoint_on(),
        }
    )
    (statement,) = policy_of(result.one(VPC_ENDPOINT).inputs)["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == ["lambda:InvokeFunction"]
    # (test_default_principal_is_the_account_of_the_credentials: the account is looked up.)
    assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{ACCOUNT}:root"]}
    arns = function_arns(result)
    assert SAME_REGION_FN in arns and len(arns) == 3
    assert sorted(statement["Resource"]) == sorted([*arns, *(f"{a}:*" for a in arns)])
    assert "*" not in statement["Resource"]


def test_default_principal_is_the_account_of_the_credentials(synth) -> None:
    other = "210987654321"
    identity = {
        "accountId": other,
        "arn": f"arn:aws:iam::{other}:user/ci",
        "userId": "AIDAEXAMPLE",
        "id": other,
    }
    result = synthesize(
        endpoint_on(),
        call_overrides={"aws:index/getCallerIdentity:getCallerIdentity": identity},
    )
    (statement,) = policy_of(result.one(VPC_ENDPOINT).inputs)["Statement"]
    assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{other}:root"]}


def test_configured_principals_replace_the_default(synth) -> None:
    principals = [
        "arn:aws:iam::111122223333:role/caller",
        "444455556666",
        "arn:aws:sts::111122223333:assumed-role/caller/session",
    ]
    result = synth(endpoint_on(allowedPrincipals=principals))
    (statement,) = policy_of(result.one(VPC_ENDPOINT).inputs)["Statement"]
    assert statement["Principal"]["AWS"] == [
        principals[0],
        "arn:aws:iam::444455556666:root",
        principals[2],
    ]
    assert f"arn:aws:iam::{ACCOUNT}:root" not in statement["Principal"]["AWS"]


def test_allowed_actions_add_a_read_statement_on_the_same_functions(synth) -> None:
    actions = ["lambda:GetFunction", "lambda:GetFunctionConfiguration"]
    result = synth(endpoint_on(allowedActions=actions))
    invoke, read = policy_of(result.one(VPC_ENDPOINT).inputs)["Statement"]
    assert invoke["Action"] == ["lambda:InvokeFunction"]
    assert read["Action"] == actions
    assert read["Resource"] == invoke["Resource"]
    assert read["Principal"] == invoke["Principal"]


@pytest.mark.parametrize("allowed_actions", [[], ["lambda:GetFunction"]])
def test_the_policy_denies_every_other_lambda_call_through_the_endpoint(
    synth, allowed_actions: list[str]
) -> None:
    # With private DNS, every Lambda API call of the VPC goes through this endpoint (README
    # "Caveats"): its policy decides what still works from there.
    result = synth(endpoint_on(allowedActions=allowed_actions))
    document = policy_of(result.one(VPC_ENDPOINT).inputs)
    (exposed,) = function_arns(result)
    other = exposed.replace(":function:", ":function:not-exposed-")

    def decision(action: str, resource: str, account: str = ACCOUNT) -> str:
        request = Request(resource=resource, action=action, principal_account=account)
        return evaluate(document, request)

    assert decision("lambda:InvokeFunction", exposed) == "ALLOW"
    assert decision("lambda:InvokeFunction", f"{exposed}:live") == "ALLOW"
    assert decision("lambda:InvokeFunction", other) == "IMPLICIT_DENY"
    assert decision("lambda:InvokeFunction", exposed, account="210987654321") == "IMPLICIT_DENY"
    for action in ("lambda:UpdateFunctionCode", "lambda:CreateFunction", "lambda:DeleteFunction"):
        assert decision(action, exposed) == "IMPLICIT_DENY"
    assert decision("lambda:ListFunctions", "*") == "IMPLICIT_DENY"
    reads = "ALLOW" if allowed_actions else "IMPLICIT_DENY"
    assert decision("lambda:GetFunction", exposed) == reads
    assert decision("lambda:GetFunction", other) == "IMPLICIT_DENY"
    assert decision("lambda:GetFunctionConfiguration", exposed) == "IMPLICIT_DENY"


def test_function_in_another_region_is_left_out_with_a_warning(synth) -> None:
    far = "arn:aws:lambda:us-east-1:111122223333:function:far"
    result = synth(
        {
            "functions": [
                {"name": "app", "handler": "app", "path": "/"},
                {"name": "far", "arn": far, "path": "/far"},
            ],
            **endpoint_on(),
        }
    )
    resources = policy_of(result.one(VPC_ENDPOINT).inputs)["Statement"][0]["Resource"]
    assert far not in resources and f"{far}:*" not in resources
    assert result.outputs["functionArns"]["app"] in resources
    assert any("privateEndpoint" in w and "'far'" in w for w in result.warnings)


def test_policy_builder_pairs_every_arn_with_its_qualified_form() -> None:
    arns = ["arn:aws:lambda:eu-west-1:1:function:a", "arn:aws:lambda:eu-west-1:1:function:b"]
    document = endpoint_policy(["arn:aws:iam::1:root"], arns)
    (statement,) = document["Statement"]
    assert statement["Resource"] == [arns[0], f"{arns[0]}:*", arns[1], f"{arns[1]}:*"]


def test_account_ids_become_root_arns_in_the_partition() -> None:
    assert principal_arns([], "123456789012", "aws-us-gov") == [
        "arn:aws-us-gov:iam::123456789012:root"
    ]


# -- existing VPC and private DNS --------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "named"),
    [
        ({"enableDnsHostnames": False}, "enableDnsHostnames"),
        ({"enableDnsSupport": False}, "enableDnsSupport"),
    ],
)
def test_private_dns_on_a_vpc_without_dns_attributes_is_a_clear_error(
    synth_failure, attributes: dict[str, bool], named: str
) -> None:
    failure = synth_failure(
        {**existing_vpc(), **endpoint_on(privateDns=True)}, call_overrides=get_vpc(**attributes)
    )
    message = str(failure)
    assert "privateEndpoint.privateDns" in message
    assert EXISTING_VPC in message and named in message
    # The endpoint is never sent to the engine.
    assert VPC_ENDPOINT not in failure.registered_types()


def test_private_dns_on_an_existing_vpc_that_supports_it(synth) -> None:
    result = synthesize(
        {**existing_vpc(), **endpoint_on(privateDns=True)}, call_overrides=get_vpc()
    )
    endpoint = result.one(VPC_ENDPOINT)
    assert endpoint.inputs["privateDnsEnabled"] is True
    assert endpoint.inputs["vpcId"] == EXISTING_VPC
    assert endpoint.inputs["subnetIds"] == EXISTING_PRIVATE
    # Nothing is created in someone else's VPC but the endpoint and its security group.
    assert not result.of_type(VPC)
    (rule,) = owned_one(result, SG, by=PRIVATE_ENDPOINT_COMPONENT).inputs["ingress"]
    assert rule["cidrBlocks"] == ["10.50.0.0/16"]


def test_private_dns_off_needs_no_dns_attributes() -> None:
    result = synthesize(
        {**existing_vpc(), **endpoint_on(privateDns=False)},
        call_overrides=get_vpc(enableDnsSupport=False, enableDnsHostnames=False),
    )
    assert result.one(VPC_ENDPOINT).inputs["privateDnsEnabled"] is False


def test_an_existing_vpc_needs_an_explicit_private_dns_choice(synth_error) -> None:
    message = synth_error({**existing_vpc(), **endpoint_on()})
    (line,) = message.splitlines()[1:]
    assert line.startswith(
        "lambda-exposure:privateEndpoint.privateDns: required with an existing VPC"
    )
    # Both choices and what each one does to the rest of the VPC.
    assert "true: lambda.eu-west-1.amazonaws.com resolves to the endpoint for the whole VPC" in line
    assert "allows only invoking the exposed functions" in line
    assert "any other Lambda call from that VPC" in line and "is denied" in line
    assert "false: " in line and "endpoint's own DNS name (output lambdaEndpointDns" in line


@pytest.mark.parametrize("choice", [True, False])
def test_an_explicit_choice_is_taken_as_given(choice: bool) -> None:
    result = synthesize(
        {**existing_vpc(), **endpoint_on(privateDns=choice)}, call_overrides=get_vpc()
    )
    assert result.one(VPC_ENDPOINT).inputs["privateDnsEnabled"] is choice
    assert not [w for w in result.warnings if "privateEndpoint.privateDns" in w]


def test_the_default_in_a_new_vpc_comes_with_a_note_on_what_it_captures(synth) -> None:
    result = synth(endpoint_on())
    assert result.one(VPC_ENDPOINT).inputs["privateDnsEnabled"] is True
    (note,) = [w for w in result.warnings if "privateEndpoint.privateDns" in w]
    assert "not set, so true in the VPC this stack creates" in note
    assert "any other Lambda call from that VPC" in note and "false: " in note
    for choice in (True, False):
        chosen = synth(endpoint_on(privateDns=choice))
        assert not [w for w in chosen.warnings if "privateEndpoint.privateDns" in w]


def test_dns_check_passes_when_both_attributes_are_on() -> None:
    assert check_private_dns(EXISTING_VPC, True, True, "privateEndpoint.privateDns", "") is True


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"allowedPrincipals": ["bob"]}, "privateEndpoint.allowedPrincipals[0]"),
        ({"allowedPrincipals": ["12345"]}, "privateEndpoint.allowedPrincipals[0]"),
        (
            {"allowedPrincipals": ["arn:aws:iam::111122223333:role/a", "arn:aws:s3:::bucket"]},
            "privateEndpoint.allowedPrincipals[1]",
        ),
        ({"allowedActions": ["lambda:InvokeAsync"]}, "privateEndpoint.allowedActions[0]"),
        ({"allowedActions": ["lambda:ListFunctions"]}, "privateEndpoint.allowedActions[0]"),
        ({"allowedCidrs": ["10.30.0.300/16"]}, "privateEndpoint.allowedCidrs[0]"),
        ({"allowedCidrs": ["2001:db8::/32"]}, "privateEndpoint.allowedCidrs[0]"),
    ],
)
def test_bad_values_name_their_key(synth_error, options: dict[str, Any], path: str) -> None:
    message = synth_error(endpoint_on(**options))
    assert f"lambda-exposure:{path}:" in message


def test_existing_vpc_without_private_subnets_is_refused(synth_error) -> None:
    message = synth_error(
        {
            "network": {"vpcId": EXISTING_VPC, "publicSubnetIds": EXISTING_PRIVATE[:1]},
            **endpoint_on(privateDns=True),
        }
    )
    assert "network.privateSubnetIds" in message
    assert "privateEndpoint" in message


# -- the example -------------------------------------------------------------------------------


def test_example_enables_the_private_endpoint(synth) -> None:
    config = load_stack_file(EXAMPLES / "private-endpoint.yaml")
    assert config["lambda-exposure:privateEndpoint"]["enabled"] is True
    result = synth(config)
    assert result.one(PRIVATE_ENDPOINT_COMPONENT)
    (rule,) = owned_one(result, SG, by=PRIVATE_ENDPOINT_COMPONENT).inputs["ingress"]
    expected = config["lambda-exposure:privateEndpoint"]["allowedCidrs"]
    assert rule["cidrBlocks"][1:] == expected
    assert result.outputs["lambdaEndpointId"].startswith("vpce-")


# -- the in-VPC client -------------------------------------------------------------------------


def stubbed_client(endpoint_url: str | None = None) -> Any:
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    )
    return invoke_private.make_client("eu-west-1", endpoint_url, session=session)


def invoke_response(body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    return {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(raw), len(raw)), **extra}


def test_client_keeps_connections_alive_and_targets_the_endpoint_name() -> None:
    url = "https://vpce-0abc-xyz.lambda.eu-west-1.vpce.amazonaws.com"
    client = stubbed_client(url)
    assert client.meta.endpoint_url == url
    assert client.meta.config.tcp_keepalive is True
    assert client.meta.config.max_pool_connections == invoke_private.MAX_POOL_CONNECTIONS
    default = stubbed_client()
    assert default.meta.endpoint_url == "https://lambda.eu-west-1.amazonaws.com"


def test_main_invokes_with_a_whoami_event_on_one_reused_client(capsys) -> None:
    client = stubbed_client()
    answer = {"statusCode": 200, "body": '{"entry": "function-url"}'}
    # An ARN: a bare config name is resolved through functionArns (tests/test_invoke_private.py).
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:functions-app-5d1c2e9"
    with Stubber(client) as stub:
        for _ in range(2):
            stub.add_response(
                "invoke",
                invoke_response(answer),
                {
                    "FunctionName": arn,
                    "InvocationType": "RequestResponse",
                    "Payload": json.dumps(invoke_private.whoami_event("/x", True)).encode(),
                },
            )
        status = invoke_private.main(
            ["--function", arn, "--path", "/x", "--egress", "--count", "2"], client=client
        )
        stub.assert_no_pending_responses()
    assert status == 0
    printed = capsys.readouterr().out
    assert printed.count('"invokeStatus": 200') == 2
    assert '"call": 1' in printed and '"call": 2' in printed
    assert "function-url" in printed


def test_main_reports_a_function_error(capsys) -> None:
    client = stubbed_client()
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            invoke_response({"errorMessage": "boom"}, FunctionError="Unhandled"),
            {
                "FunctionName": "arn:aws:lambda:eu-west-1:1:function:app",
                "InvocationType": "RequestResponse",
                "Payload": b'{"ping": 1}',
                "Qualifier": "live",
            },
        )
        status = invoke_private.main(
            [
                "--function",
                "arn:aws:lambda:eu-west-1:1:function:app",
                "--payload",
                '{"ping": 1}',
                "--qualifier",
                "live",
            ],
            client=client,
        )
    assert status == 1
    assert '"functionError": "Unhandled"' in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["--function", "app", "--payload", "{not json"],
        ["--function", "app", "--endpoint-url", "http://vpce.example"],
        ["--function", "app", "--count", "0"],
        [],
    ],
)
def test_bad_arguments_exit_with_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        invoke_private.parse_args(argv)
    assert caught.value.code == 2


def test_default_event_is_answered_by_the_bundled_whoami() -> None:
    from handlers import app

    response = app.handler(invoke_private.whoami_event("/", egress=False), None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["entry"] == "function-url"
