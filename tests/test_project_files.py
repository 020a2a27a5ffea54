"""Pulumi.yaml, the stack files and examples/: they agree with the config model and synthesize."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from components.config import PROJECT, TOP_LEVEL_KEYS, StackConfig, model_in, parse_config
from tools.synth import iter_config_files, load_stack_file

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = list(iter_config_files(ROOT / "examples"))
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))


def _project() -> dict:
    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def test_project_name_and_runtime_build_their_own_virtualenv() -> None:
    project = _project()
    assert project["name"] == PROJECT
    runtime = project["runtime"]
    assert runtime["name"] == "python"
    assert runtime["options"]["virtualenv"]
    assert (ROOT / "requirements.txt").is_file()


def test_pulumi_yaml_declares_every_contract_key_with_a_description() -> None:
    declared = _project()["config"]
    assert sorted(declared) == sorted(TOP_LEVEL_KEYS)
    for key, declaration in declared.items():
        assert declaration["description"].strip(), key
        # The CLI refuses a stack that lacks a declared key with no default.
        assert "default" in declaration, key


def test_pulumi_yaml_descriptions_name_every_nested_key() -> None:
    # Pulumi cannot type objects, so the description is the declaration: it must stay complete.
    declared = _project()["config"]
    for name, field in StackConfig.model_fields.items():
        if name == "region":
            continue
        key = field.alias or name
        model = model_in(field.annotation)
        assert model is not None, key
        missing = [
            sub.alias or sub_name
            for sub_name, sub in model.model_fields.items()
            if not re.search(
                rf"\b{re.escape(sub.alias or sub_name)}\b", declared[key]["description"]
            )
        ]
        assert missing == [], f"Pulumi.yaml {key}: description does not mention {missing}"


def test_pulumi_yaml_defaults_equal_the_program_defaults() -> None:
    # The CLI merges these into every stack; they must not change what the code would do.
    declared = _project()["config"]
    from_yaml = parse_config({k: v["default"] for k, v in declared.items()}, "eu-west-1")
    assert from_yaml == parse_config({}, "eu-west-1")


def test_requirements_are_pinned() -> None:
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-r"):
                assert "==" in line, f"{name}: {line!r} is not pinned"


@pytest.mark.parametrize("path", STACK_FILES + EXAMPLES, ids=lambda p: p.name)
def test_every_stack_file_and_example_synthesizes(synth, path: Path) -> None:
    config = load_stack_file(path)
    assert all(k.startswith((f"{PROJECT}:", "aws:")) for k in config), "unknown namespace"
    result = synth(config)
    assert result.outputs["functionArns"], path
    enabled = [
        key.split(":", 1)[1]
        for key, value in config.items()
        if isinstance(value, dict) and value.get("enabled")
    ]
    # Each enabled pattern shows up as its component.
    components = {r.type.split(":")[-1] for r in result.resources if not r.custom}
    expected = {
        "staticIp": "StaticIpEntry",
        "ipRestrictedApi": "IpRestrictedApi",
        "edge": "EdgeProtectedUrl",
        "privateEndpoint": "PrivateLambdaEndpoint",
        "staticEgress": "StaticEgress",
        "ipRangeSync": "IpRangeSync",
    }
    for key in enabled:
        assert expected[key] in components, f"{path.name}: {key} enabled but no {expected[key]}"


def test_dev_stack_turns_several_patterns_on() -> None:
    config = load_stack_file(ROOT / "Pulumi.dev.yaml")
    enabled = [k for k, v in config.items() if isinstance(v, dict) and v.get("enabled")]
    assert len(enabled) >= 3


def _readme_yaml_blocks() -> list[dict]:
    """The YAML blocks of every page of the docs (README, docs/, DEVELOPMENT.md)."""
    pages = [ROOT / "README.md", ROOT / "DEVELOPMENT.md", *sorted((ROOT / "docs").rglob("*.md"))]
    text = "\n".join(p.read_text() for p in pages)
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    parsed = [yaml.safe_load(block) for block in blocks]
    return [b for b in parsed if isinstance(b, dict) and isinstance(b.get("config"), dict)]


def test_every_stack_config_quoted_in_the_docs_is_a_real_file() -> None:
    # The docs quote examples and stack files; each quote must still be what the file holds (the
    # config: blocks of tools.doc_tables), and so be synthesized by the test above.

    files = {p.name: load_stack_file(p) for p in [*EXAMPLES, *STACK_FILES]}
    quoted = _readme_yaml_blocks()
    assert len(quoted) >= 6
    for block in quoted:
        matches = [name for name, config in files.items() if config == block["config"]]
        assert matches, f"a config block of the docs matches no file: {block['config']}"
