"""The options tables in the docs are generated from the config model and never stale."""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from components.config import (
    TOP_LEVEL_KEYS,
    IpRestrictedApiConfig,
    StackConfig,
    StaticIpConfig,
)
from tools import doc_tables
from tools.doc_tables import DocTableError, render_table, stale_tables, tables_in

ROOT = Path(__file__).resolve().parent.parent


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Annotated, list, Union, types.UnionType):
        for arg in args[:1] if origin is Annotated else args:
            yield from _models(arg)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models(field.annotation)


def _every_field() -> Iterator[tuple[str, FieldInfo]]:
    for model in dict.fromkeys(_models(StackConfig)):
        for name, field in model.model_fields.items():
            yield f"{model.__name__}.{name}", field


def test_every_field_has_a_one_line_description() -> None:
    fields = dict(_every_field())
    # The walk reaches the nested models (a broken walk would check nothing).
    assert {"ApiRoute.method", "CorsConfig.max_age", "RegionEndpoint.region"} <= set(fields)
    for name, field in fields.items():
        text = field.description or ""
        assert text.strip(), f"{name}: no description"
        assert "\n" not in text, f"{name}: one line"
        assert text[0].isupper() or text[0] in '`"*', f"{name}: starts a sentence"
        assert not text.endswith("."), f"{name}: the table adds its own punctuation"


def test_every_options_table_in_the_docs_is_current() -> None:
    assert stale_tables(ROOT) == []


def test_every_top_level_key_has_a_table() -> None:
    documented = {line.split("options:", 1)[1] for line in tables_in(ROOT) if ": options:" in line}
    assert documented >= set(TOP_LEVEL_KEYS)


def test_a_changed_description_makes_its_table_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    field = StaticIpConfig.model_fields["protect_static_ips"]
    monkeypatch.setattr(field, "description", "Something else entirely")
    assert stale_tables(ROOT) == ["docs/patterns/staticIp.md: options:staticIp"]
    assert doc_tables.main(["--check", "--root", str(ROOT)]) == 1


def test_a_changed_default_makes_its_table_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    field = IpRestrictedApiConfig.model_fields["stage_name"]
    monkeypatch.setattr(field, "default", "prod")
    assert stale_tables(ROOT) == ["docs/patterns/ipRestrictedApi.md: options:ipRestrictedApi"]


def test_rows_show_nested_keys_yaml_defaults_and_what_the_model_enforces() -> None:
    api = render_table("ipRestrictedApi")
    assert api.startswith("| key | default | meaning |\n|---|---|---|\n")
    assert "| `throttling.burstLimit` | `100` | " in api
    assert "| `routes[].method` | (required) | " in api
    # Literal values the description leaves out, and numeric bounds, come from the model.
    assert "`OPTIONS`, `ANY`" in api
    assert "From 0 to 10,000 |" in api
    static_ip = render_table("staticIp")
    assert "| `regions[].trafficDialPercentage` | `100` | " in static_ip
    assert '| `certificateArn` | `""` | ' in static_ip
    assert "| `sslPolicy` | `ELBSecurityPolicy-TLS13-1-2-2021-06` | " in static_ip
    sync = render_table("ipRangeSync")
    assert "| `services` | `[CLOUDFRONT]` | " in sync
    assert "| `schedule` | `rate(1 day)` | " in sync
    assert "Any of `prefixList`, `securityGroup`, `wafIpSet`" in sync
    edge = render_table("edge")
    assert "| `cors` |  | " in edge  # unset by default
    assert "| `cors.allowMethods` | `[GET]` | " in edge
    # A nested model can be documented on its own.
    assert render_table("ipRestrictedApi.routes").splitlines()[2].startswith("| `method` |")


def test_cells_escape_the_table_syntax(monkeypatch: pytest.MonkeyPatch) -> None:
    field = StaticIpConfig.model_fields["entry"]
    monkeypatch.setattr(field, "description", "`a` | `b`")
    row = next(line for line in render_table("staticIp").splitlines() if "`entry`" in line)
    assert row.endswith("`a` \\| `b`. One of `global-accelerator`, `nlb` |")


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_tables_are_found_and_rewritten_in_any_markdown_file(tmp_path: Path) -> None:
    before = (
        "# Edge\n\nIntro.\n\n<!-- options:edge -->\n| old | table |\n<!-- /options:edge -->\n"
        "\nEnd\n"
    )
    page = _write(tmp_path, "docs/patterns/edge.md", before)
    _write(tmp_path, ".venv/lib/site/README.md", "<!-- options:nosuchkey -->\n")  # not docs
    assert stale_tables(tmp_path) == ["docs/patterns/edge.md: options:edge"]
    assert doc_tables.main(["--root", str(tmp_path)]) == 0
    after = page.read_text(encoding="utf-8")
    assert after.startswith("# Edge\n\nIntro.\n\n<!-- options:edge -->\n\n| key | default |")
    assert after.endswith(f"{render_table('edge')}\n<!-- /options:edge -->\n\nEnd\n")
    assert doc_tables.main(["--check", "--root", str(tmp_path)]) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- options:staticIpp -->\n<!-- /options:staticIpp -->\n", "'staticIpp' is not"),
        ("<!-- options:region -->\n<!-- /options:region -->\n", "'region' is not"),
        ("<!-- options:edge.enabled -->\n<!-- /options:edge.enabled -->\n", "holds a value"),
        ("<!-- options:edge -->\n| a |\n", "never closed"),
    ],
)
def test_a_marker_the_tool_cannot_act_on_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    _write(tmp_path, "doc.md", text)
    with pytest.raises(DocTableError, match=message):
        stale_tables(tmp_path)
    assert doc_tables.main(["--check", "--root", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


# -- request paths and costs: generated from a synthesized stack file, never drawn by hand -----


def test_paths_and_cost_blocks_are_generated_from_the_stack_file(tmp_path: Path) -> None:
    from tools.cost import estimate, render
    from tools.exposure_view import exposure_rows, render_request_paths
    from tools.synth import load_stack_file, synthesize

    example = "examples/static-ip-global-accelerator.yaml"
    page = _write(
        tmp_path,
        "docs/patterns/x.md",
        f"<!-- paths:{example} -->\nold\n<!-- /paths:{example} -->\n"
        f"<!-- cost:{example} -->\nold\n<!-- /cost:{example} -->\n",
    )
    assert stale_tables(tmp_path) == [
        f"docs/patterns/x.md: paths:{example}",
        f"docs/patterns/x.md: cost:{example}",
    ]
    assert doc_tables.main(["--root", str(tmp_path)]) == 0
    text = page.read_text(encoding="utf-8")
    result = synthesize(load_stack_file(ROOT / example), stack="static-ip-global-accelerator")
    assert f"```mermaid\n{render_request_paths(exposure_rows(result))}\n```" in text
    assert "\n".join(render(estimate(result), result.region)) in text
    assert "Global Accelerator" in text  # a priced resource kind of the example
    assert stale_tables(tmp_path) == []


def test_the_pattern_cost_table_lists_every_pattern_example() -> None:
    from tools.cost import PATTERN_EXAMPLES, pattern_costs

    table = doc_tables.render_cost("patterns")
    for pattern, summary in pattern_costs().items():
        assert f"| `{pattern}` ([example](examples/{PATTERN_EXAMPLES[pattern]})) |" in table
        assert summary.split(":")[0] in table  # the total, as tools.cost computes it


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- paths:examples/nope.yaml -->\n<!-- /paths:examples/nope.yaml -->\n", "not a stack"),
        ("<!-- cost:../outside.yaml -->\n<!-- /cost:../outside.yaml -->\n", "not a stack"),
        ("<!-- cost:README.md -->\n<!-- /cost:README.md -->\n", "not a stack"),
        ("<!-- paths:examples/edge-oac.yaml -->\n", "never closed"),
    ],
)
def test_a_paths_or_cost_marker_without_a_stack_file_is_an_error(
    tmp_path: Path, text: str, message: str
) -> None:
    _write(tmp_path, "doc.md", text)
    with pytest.raises(DocTableError, match=message):
        stale_tables(tmp_path)


def test_config_blocks_quote_the_stack_file_verbatim(tmp_path: Path) -> None:
    example = "examples/edge-oac.yaml"
    page = _write(
        tmp_path, "docs/x.md", f"<!-- config:{example} -->\nold\n<!-- /config:{example} -->\n"
    )
    assert stale_tables(tmp_path) == [f"docs/x.md: config:{example}"]
    assert doc_tables.main(["--root", str(tmp_path)]) == 0
    block = re.search(r"```yaml\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    assert block is not None
    assert yaml.safe_load(block.group(1)) == yaml.safe_load((ROOT / example).read_text())
    assert block.group(1).startswith(f"# {example}\n")


def test_exposure_blocks_are_the_preview_table_of_the_stack(tmp_path: Path) -> None:
    from tools.exposure_view import exposure_rows, markdown_table
    from tools.synth import load_stack_file, synthesize

    stack = "Pulumi.dev.yaml"
    page = _write(
        tmp_path, "docs/x.md", f"<!-- exposure:{stack} -->\nold\n<!-- /exposure:{stack} -->\n"
    )
    assert doc_tables.main(["--root", str(tmp_path)]) == 0
    result = synthesize(load_stack_file(ROOT / stack), stack="dev")
    assert markdown_table(exposure_rows(result)) in page.read_text(encoding="utf-8")
