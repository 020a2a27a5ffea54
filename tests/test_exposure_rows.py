"""The machine-readable columns of the ``exposure`` output: ``allowedCidrs`` and ``examplePath``.

``tools.smoke`` calls each door at its ``examplePath`` and expects a caller outside
``allowedCidrs`` to be refused; both must say what the model (and so the graph) says.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from components.exposure import exposure_model
from components.exposure.sources import NetSet
from tests.harness import shared_synthesis
from tests.samples import DEV_STACK, SHIPPED
from tests.test_exposure_graph import stack_of
from tools import smoke
from tools.synth import load_stack_file

HTTP = ("staticIp", "internalAlb", "ipRestrictedApi", "edge", "functionUrl")


def _rows(config: dict[str, Any]) -> list[dict[str, Any]]:
    return list(shared_synthesis(config).outputs.get("exposure") or [])


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_each_row_says_where_to_call_and_whom_it_admits_as_the_model_does(path: Path) -> None:
    config = load_stack_file(path)
    rows = _rows(config)
    model = exposure_model(stack_of(config))
    if not rows:  # no entry enabled: no output, and nothing but the Invoke API in the model
        assert {d.entry for d in model.doors} <= {"invokeApi"}, path.name
        return
    for row, door in zip(rows, model.doors, strict=True):
        assert (row["function"], row["entry"]) == (door.function, door.entry)
        where = f"{path.name}: {row['function']} via {row['entry']}"
        if row["entry"] not in HTTP:
            assert row["examplePath"] is None, where  # the Invoke API has no path
        if row["examplePath"] is None:
            continue
        assert row["examplePath"].startswith("/"), where
        if row["entry"] == "functionUrl":
            continue
        # The model routes a GET at that path through this entry to this function, and admits
        # exactly the addresses of the row (or everyone, for null).
        found = model.reach(row["function"], row["entry"], row["examplePath"], "GET")
        assert found is not None, f"{where}: {row['examplePath']} is not served there"
        sources, _ = found
        if row["allowedCidrs"] is None:
            assert ipaddress.ip_network("0.0.0.0/0") in sources.addresses.networks(), where
        else:
            assert NetSet.of(row["allowedCidrs"]) == sources.addresses, where


def test_the_dev_stack_rows_name_the_admin_allow_list_at_an_admin_path() -> None:
    config = load_stack_file(DEV_STACK)
    route = config["lambda-exposure:ipRestrictedApi"]["routes"][0]
    rows = {(r["function"], r["entry"], r["paths"]): r for r in _rows(config)}
    admin = [r for (fn, entry, _), r in rows.items() if (fn, entry) == ("admin", "ipRestrictedApi")]
    assert len(admin) == 1
    assert admin[0]["allowedCidrs"] == route["allow"]
    assert admin[0]["examplePath"] == route["path"]
    # The accelerator's door to the app admits every IPv4 address: no list, called at its path.
    (static,) = [r for (fn, entry, _), r in rows.items() if (fn, entry) == ("app", "staticIp")]
    assert static["allowedCidrs"] is None
    assert static["examplePath"] == "/"
    # The internal ALB admits the VPC only.
    (inside,) = [r for (fn, entry, _), r in rows.items() if entry == "internalAlb"]
    assert inside["allowedCidrs"] == [config["lambda-exposure:network"]["cidr"]]


def test_a_deny_list_reads_as_the_addresses_it_leaves() -> None:
    config = {
        "aws:region": "eu-west-1",
        "lambda-exposure:ipRestrictedApi": {"enabled": True, "deny": ["198.51.100.0/24"]},
    }
    (api,) = [r for r in _rows(config) if r["entry"] == "ipRestrictedApi"]
    allowed = NetSet.of(api["allowedCidrs"])
    assert "198.51.100.7" not in allowed
    assert "198.51.101.7" in allowed
    # Every IPv4 address but the denied ones (the REGIONAL endpoint carries IPv4 only).
    assert allowed | NetSet.of(["198.51.100.0/24"]) == NetSet.of(["0.0.0.0/0"])


def test_smoke_reads_the_rows_the_program_writes() -> None:
    # The restriction rows tools.smoke derives from the program's own output for the dev stack:
    # the two /admin rows of the API (app's */admin and the admin function), nothing open.
    config = load_stack_file(DEV_STACK)
    outputs = shared_synthesis(config).outputs
    found = smoke.restrictions(outputs)
    assert {(r.entry, r.function) for r in found} >= {("ipRestrictedApi", "admin")}
    for restriction in found:
        assert restriction.allowed, restriction
        if restriction.entry == "ipRestrictedApi":
            assert all("/admin" in url for url in restriction.urls), restriction
    assert not [r for r in found if r.entry == "staticIp"]  # the accelerator admits any IPv4


def test_smoke_leaves_a_row_without_a_gettable_path_alone() -> None:
    row = {
        "function": "app",
        "entry": "ipRestrictedApi",
        "url": "https://api.example/",
        "allowedCidrs": ["203.0.113.0/24"],
        "examplePath": None,
    }
    outputs = {"exposure": [row], "apiUrl": "https://api.example/"}
    assert smoke.restrictions(outputs) == []
    # ... and an older program's row without the key is still checked, at /.
    older = {k: v for k, v in row.items() if k != "examplePath"}
    (restriction,) = smoke.restrictions({"exposure": [older]})
    assert restriction.urls == ("https://api.example/",)
