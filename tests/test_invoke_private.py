"""tools/invoke_private: which function ``--function`` names (issue 12.11).

Pulumi autonames the deployed functions (``functions-app-<suffix>``), so the config name ``app``
is resolved through the stack's ``functionArns`` output: a saved JSON file, or the Pulumi CLI.
No test needs Pulumi: the JSON is fed from a file, or by a stand-in ``pulumi`` executable that
prints it and records how it was called. Calls to Lambda go to a botocore Stubber.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import stat
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tests.samples import ROOT
from tools import invoke_private

ARNS = {
    "app": "arn:aws:lambda:eu-west-1:123456789012:function:functions-app-5d1c2e9",
    "api": "arn:aws:lambda:eu-west-1:123456789012:function:functions-api-0a7b3f1",
}


def stubbed_client() -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    )
    return invoke_private.make_client("eu-west-1", session=session)


def expect_invoke(stub: Stubber, function: str) -> None:
    raw = json.dumps({"statusCode": 200, "body": "{}"}).encode()
    stub.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(raw), len(raw))},
        {
            "FunctionName": function,
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(invoke_private.whoami_event("/", False)).encode(),
        },
    )


@pytest.fixture
def no_pulumi(monkeypatch):
    monkeypatch.setattr(invoke_private.shutil, "which", lambda name: None)


@pytest.fixture
def fake_pulumi(tmp_path, monkeypatch):
    """A ``pulumi`` on PATH that prints ``answer`` (or fails) and logs its arguments."""

    class Fake:
        log = tmp_path / "pulumi-args.json"
        answer: Any = ARNS
        status = 0
        stderr = ""

        def install(self) -> None:
            script = tmp_path / "pulumi"
            script.write_text(
                f"#!{sys.executable}\n"
                "import json, sys\n"
                f"json.dump(sys.argv[1:], open({str(self.log)!r}, 'w'))\n"
                f"sys.stderr.write({self.stderr!r})\n"
                f"print(json.dumps({self.answer!r}))\n"
                f"sys.exit({self.status})\n"
            )
            script.chmod(script.stat().st_mode | stat.S_IEXEC)
            monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")

        def args(self) -> list[str]:
            return json.loads(self.log.read_text())

    return Fake()


def write_outputs(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "function-arns.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize("name", ["app", "functions-app-5d1c2e9"])
def test_a_name_is_resolved_from_a_saved_functionarns_output(tmp_path, no_pulumi, name) -> None:
    outputs = write_outputs(tmp_path, ARNS)
    client = stubbed_client()
    with Stubber(client) as stub:
        expect_invoke(stub, ARNS["app"])
        assert invoke_private.main(["--function", name, "--outputs", outputs], client=client) == 0
        stub.assert_no_pending_responses()


def test_the_whole_stack_output_works_as_outputs_file(tmp_path, no_pulumi) -> None:
    outputs = write_outputs(tmp_path, {"functionArns": ARNS, "staticIps": ["192.0.2.1"]})
    assert invoke_private.resolve_function("api", outputs) == ARNS["api"]


def test_an_arn_is_used_as_given_without_any_lookup(no_pulumi, monkeypatch) -> None:
    monkeypatch.setattr(invoke_private, "read_function_arns", pytest.fail)
    client = stubbed_client()
    with Stubber(client) as stub:
        expect_invoke(stub, ARNS["api"])
        assert invoke_private.main(["--function", ARNS["api"]], client=client) == 0


def test_a_name_is_resolved_with_the_pulumi_cli_of_the_given_stack(fake_pulumi) -> None:
    fake_pulumi.install()
    assert invoke_private.resolve_function("app", stack="dev") == ARNS["app"]
    assert fake_pulumi.args() == ["stack", "output", "functionArns", "--json", "--stack", "dev"]
    assert invoke_private.resolve_function("api") == ARNS["api"]
    assert fake_pulumi.args() == ["stack", "output", "functionArns", "--json"]


def test_the_region_comes_from_the_arn(tmp_path, no_pulumi, monkeypatch) -> None:
    seen: list[Any] = []

    def fake_client(region=None, endpoint_url=None, session=None):
        seen.append(region)
        raise SystemExit(0)

    monkeypatch.setattr(invoke_private, "make_client", fake_client)
    other = "arn:aws:lambda:ap-southeast-2:123456789012:function:functions-app-1"
    with pytest.raises(SystemExit):
        invoke_private.main(["--function", other])
    with pytest.raises(SystemExit):
        invoke_private.main(["--function", other, "--region", "eu-west-1"])
    assert seen == ["ap-southeast-2", "eu-west-1"]


def _error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    return line


def test_unknown_name_names_the_known_ones(tmp_path, no_pulumi, capsys) -> None:
    outputs = write_outputs(tmp_path, ARNS)
    assert invoke_private.main(["--function", "admin", "--outputs", outputs]) == 2
    assert _error_line(capsys) == "error: --function 'admin' is not in functionArns (api, app)"


def test_a_name_without_outputs_or_pulumi_says_what_to_pass(no_pulumi, capsys) -> None:
    assert invoke_private.main(["--function", "app"]) == 2
    line = _error_line(capsys)
    assert "pulumi CLI is not installed" in line and "--outputs FILE" in line and "ARN" in line


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"status": 255, "stderr": "error: no stack named 'prod' found\n"}, "no stack named"),
        ({"answer": ["not", "a", "map"]}, "is not a functionArns object"),
    ],
)
def test_pulumi_failures_are_one_line(fake_pulumi, capsys, setup, message) -> None:
    for key, value in setup.items():
        setattr(fake_pulumi, key, value)
    fake_pulumi.install()
    assert invoke_private.main(["--function", "app", "--stack", "prod"]) == 2
    assert message in _error_line(capsys)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file"),
        ("{not json", "is not JSON"),
        (json.dumps({"app": 5}), "is not a functionArns object"),
        (json.dumps({"app": "arn:aws:s3:::bucket"}), "is not a Lambda function ARN"),
    ],
)
def test_bad_outputs_files_are_one_line(tmp_path, no_pulumi, capsys, content, message) -> None:
    path = tmp_path / "out.json"
    if content is not None:
        path.write_text(content)
    assert invoke_private.main(["--function", "app", "--outputs", str(path)]) == 2
    assert message in _error_line(capsys)


def test_a_malformed_arn_is_refused(no_pulumi, capsys) -> None:
    assert invoke_private.main(["--function", "arn:aws:s3:::bucket"]) == 2
    assert "is not a Lambda function ARN" in _error_line(capsys)


def test_outputs_and_stack_are_exclusive(tmp_path) -> None:
    with pytest.raises(SystemExit) as caught:
        invoke_private.parse_args(["--function", "app", "--outputs", "x", "--stack", "dev"])
    assert caught.value.code == 2


def test_every_documented_invocation_names_its_function_resolvably(tmp_path, no_pulumi) -> None:
    """The privateEndpoint page's commands parse, and each names the function by ARN, or by a
    name together with --outputs or --stack: never a bare config name sent to Lambda."""
    page = (ROOT / "docs" / "patterns" / "privateEndpoint.md").read_text(encoding="utf-8")
    commands = re.findall(r"^python -m tools\.invoke_private (.+)$", page, flags=re.MULTILINE)
    assert len(commands) >= 3
    for command in commands:
        command = command.replace("<a lambdaEndpointDns name>", "vpce.example")
        argv = shlex.split(command, comments=True)
        args = invoke_private.parse_args(argv)
        assert (
            args.function.startswith(("arn:", "$("))
            or args.outputs is not None
            or args.stack is not None
        ), command


@pytest.mark.parametrize(
    "url",
    [
        "https://vpce-0abc1234-xyz.lambda.eu-west-1.vpce.amazonaws.com",
        "https://lambda.eu-west-1.amazonaws.com/",
        "https://vpce-0abc1234-xyz.lambda.eu-west-1.vpce.amazonaws.com:443",
    ],
)
def test_endpoint_url_accepts_an_endpoint_host(url: str) -> None:
    assert invoke_private.valid_endpoint_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://lambda.eu-west-1.amazonaws.com",  # not TLS
        "https://",  # no host
        "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions",  # a path
        "https://lambda.eu-west-1.amazonaws.com?x=1",  # a query
        "https://user:secret@lambda.eu-west-1.amazonaws.com",  # credentials in the URL
        "https://lambda.eu-west-1.amazonaws.com:99999",  # no such port
        "https://lambda.eu-west-1.amazonaws.com\n",  # trailing newline
        "https://localhost",  # not a DNS name of an endpoint
    ],
)
def test_endpoint_url_refuses_anything_else(url: str) -> None:
    assert not invoke_private.valid_endpoint_url(url)
