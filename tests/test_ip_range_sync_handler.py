"""handlers/ip_range_sync: moto for EC2 / S3 / WAFv2, the real ip-ranges.json versions as input.

Expected sets are computed here from the JSON files with a plain comprehension and
``ipaddress.collapse_addresses``; nothing is hard-coded. moto completes prefix-list modifications at
once and ignores ``MaxEntries`` changes, so those parts run against ``FakePrefixListEc2`` below.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from handlers import ip_range_sync as irs
from tests.fixtures_path import REPO_ROOT, require_fixture
from tests.strategies import json_values

OLD = ("ip-ranges", "ip-ranges-2025-11-05.json")
NEW = ("ip-ranges", "ip-ranges-2026-07-19.json")
REGION = "eu-west-1"
BUCKET = "ip-range-sync-state"
WRITE_OPS = {
    "ModifyManagedPrefixList",
    "AuthorizeSecurityGroupIngress",
    "RevokeSecurityGroupIngress",
    "UpdateIPSet",
    "PutObject",
    "DeleteObject",
}


# --------------------------------------------------------------------------- helpers


def doc_bytes(which: tuple[str, str]) -> bytes:
    return require_fixture(*which).read_bytes()


def expected(body: bytes, services, regions=(), ipv6=True) -> dict[int, set[str]]:
    data = json.loads(body)
    v4 = [
        ipaddress.ip_network(p["ip_prefix"])
        for p in data["prefixes"]
        if p["service"] in services and (not regions or p["region"] in regions)
    ]
    v6 = [
        ipaddress.ip_network(p["ipv6_prefix"])
        for p in data["ipv6_prefixes"]
        if ipv6 and p["service"] in services and (not regions or p["region"] in regions)
    ]
    return {
        4: {str(n) for n in ipaddress.collapse_addresses(v4)},
        6: {str(n) for n in ipaddress.collapse_addresses(v6)},
    }


def sns_event(body: bytes, **override) -> dict:
    event = json.loads(require_fixture("events", "snsEvent.json").read_text())
    message = {
        "create-time": "2026-07-19T23:27:05+00:00",
        "synctoken": override.get("synctoken") or str(json.loads(body)["syncToken"]),
        "md5": hashlib.md5(body).hexdigest(),
        "url": irs.IP_RANGES_URL,
    }
    message.update(override)
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return event


class Recorder:
    """Write calls in order, seen through botocore's before-parameter-build hook.

    Calls on the lease object are kept apart (``lease_calls``): every run takes and releases
    the lease, and "nothing was written" means nothing to a target or to the state."""

    def __init__(self, *clients) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.lease_calls: list[tuple[str, dict]] = []
        for client in clients:
            client.meta.events.register("before-parameter-build", self._hook)

    def _hook(self, params, model, **_):
        if model.name in WRITE_OPS:
            lease = params.get("Key") == irs.DEFAULT_LEASE_KEY
            (self.lease_calls if lease else self.calls).append((model.name, copy.deepcopy(params)))

    def ops(self, name: str | None = None) -> list[tuple[str, dict]]:
        return [c for c in self.calls if name is None or c[0] == name]

    def clear(self) -> None:
        self.calls.clear()
        self.lease_calls.clear()


class Env:
    """A moto account with every target created, and the handler config pointing at them."""

    def __init__(self, n_groups=10, max_entries=1000, waf_scope="REGIONAL") -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.ec2 = boto3.client("ec2", region_name=REGION)
        waf_region = "us-east-1" if waf_scope == "CLOUDFRONT" else REGION
        self.waf = boto3.client("wafv2", region_name=waf_region)
        self.s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        self.pl = {
            family: self.ec2.create_managed_prefix_list(
                PrefixListName=f"aws-ranges-v{family}",
                AddressFamily=f"IPv{family}",
                MaxEntries=max_entries,
            )["PrefixList"]["PrefixListId"]
            for family in (4, 6)
        }
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.groups = [
            self.ec2.create_security_group(GroupName=f"pool-{i}", Description="pool", VpcId=vpc)[
                "GroupId"
            ]
            for i in range(n_groups)
        ]
        self.waf_sets = {}
        for family in (4, 6):
            s = self.waf.create_ip_set(
                Name=f"aws-ranges-v{family}",
                Scope=waf_scope,
                IPAddressVersion=f"IPV{family}",
                Addresses=[],
                Description="kept by ip-range-sync",
            )["Summary"]
            self.waf_sets[family] = f"{s['Name']}|{s['Id']}|{waf_scope}"
        overrides = {"s3": self.s3, "ec2": self.ec2}
        overrides["wafv2:us-east-1" if waf_scope == "CLOUDFRONT" else "wafv2"] = self.waf
        self.clients = irs.Clients(**overrides)
        self.rec = Recorder(self.s3, self.ec2, self.waf)

    def config(self, targets=("pl", "sg", "waf"), **env) -> irs.Config:
        base = {
            "SERVICES": "EC2",
            "REGIONS": "us-east-1",
            "IPV6": "true",
            "PORTS": "443",
            "RULES_PER_GROUP": "30",  # moto counts IPv4+IPv6 together against 60
            "STATE_BUCKET": BUCKET,
        }
        if "pl" in targets:
            base |= {"PREFIX_LIST_IPV4_ID": self.pl[4], "PREFIX_LIST_IPV6_ID": self.pl[6]}
        if "sg" in targets:
            base["SECURITY_GROUP_IDS"] = ",".join(self.groups)
        if "waf" in targets:
            base |= {"WAF_IPV4_SET": self.waf_sets[4], "WAF_IPV6_SET": self.waf_sets[6]}
        base.update(env)
        return irs.Config.from_env(base)

    def store_state_after_each_prefix_list_write(self, monkeypatch, body: bytes) -> None:
        """Another run overlapping this one: right after each prefix-list write of this run, it
        stores ``body`` (its document) as the state."""
        real = self.ec2.modify_managed_prefix_list

        def modify_then_store(**kwargs):
            response = real(**kwargs)
            irs.write_state(self.s3, BUCKET, irs.DEFAULT_STATE_KEY, body, irs.parse_document(body))
            return response

        monkeypatch.setattr(self.ec2, "modify_managed_prefix_list", modify_then_store)

    # live state, read independently of the handler
    def pl_entries(self, family: int) -> set[str]:
        return {
            e["Cidr"]
            for e in self.ec2.get_managed_prefix_list_entries(PrefixListId=self.pl[family])[
                "Entries"
            ]
        }

    def sg_rules(self) -> dict[str, set[tuple[int, str, int, str]]]:
        out = {}
        for sg in self.ec2.describe_security_groups(GroupIds=self.groups)["SecurityGroups"]:
            rules = set()
            for perm in sg["IpPermissions"]:
                for r in perm.get("IpRanges", []):
                    rules.add((4, r["CidrIp"], perm.get("FromPort"), r.get("Description", "")))
                for r in perm.get("Ipv6Ranges", []):
                    rules.add((6, r["CidrIpv6"], perm.get("FromPort"), r.get("Description", "")))
            out[sg["GroupId"]] = rules
        return out

    def sg_cidrs(self, family: int) -> set[str]:
        return {
            c
            for rules in self.sg_rules().values()
            for f, c, _, d in rules
            if f == family and d == irs.MARKER
        }

    def waf_addresses(self, family: int) -> set[str]:
        name, id_, scope = self.waf_sets[family].split("|")
        return set(self.waf.get_ip_set(Name=name, Scope=scope, Id=id_)["IPSet"]["Addresses"])

    def state_token(self) -> str | None:
        try:
            return self.s3.head_object(Bucket=BUCKET, Key=irs.DEFAULT_STATE_KEY)["Metadata"][
                "synctoken"
            ]
        except ClientError:
            return None

    def snapshot(self) -> tuple:
        return (
            {f: self.pl_entries(f) for f in (4, 6)},
            self.sg_rules(),
            {f: self.waf_addresses(f) for f in (4, 6)},
            self.state_token(),
        )

    def assert_live(self, want: dict[int, set[str]], targets=("pl", "sg", "waf")) -> None:
        for family in (4, 6):
            if "pl" in targets:
                assert self.pl_entries(family) == want[family]
            if "sg" in targets:
                assert self.sg_cidrs(family) == want[family]
            if "waf" in targets:
                assert self.waf_addresses(family) == want[family]


@pytest.fixture
def aws(monkeypatch):
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setattr(irs, "_sleep", lambda _s: None)
    with mock_aws():
        yield


@pytest.fixture
def fetched(monkeypatch):
    """Patch fetch_ranges; set ``fetched.body`` to choose what it returns."""

    class Fetch:
        body = b""
        urls: list[str] = []

        def __call__(self, url):
            self.urls.append(url)
            return self.body

    fetch = Fetch()
    fetch.urls = []
    monkeypatch.setattr(irs, "fetch_ranges", fetch)
    return fetch


def run(env: Env, cfg: irs.Config, body: bytes, fetched, event=None) -> dict:
    fetched.body = body
    return irs.run(sns_event(body) if event is None else event, cfg, env.clients)


def pl_order_ok(calls: list[tuple[str, dict]], pl_id: str) -> bool:
    mods = [p for op, p in calls if op == "ModifyManagedPrefixList" and p["PrefixListId"] == pl_id]
    last_add = max((i for i, p in enumerate(mods) if p.get("AddEntries")), default=-1)
    first_rem = min((i for i, p in enumerate(mods) if p.get("RemoveEntries")), default=len(mods))
    return first_rem >= last_add


# --------------------------------------------------------------------------- full runs (moto)


def test_first_sync_from_empty_fills_every_target(aws, fetched, capsys):
    env = Env()
    body = doc_bytes(OLD)
    want = expected(body, {"EC2"}, {"us-east-1"})
    assert len(want[4]) > 100 and want[6]  # several batches, both families

    result = run(env, env.config(), body, fetched)

    assert result["outcome"] == "applied"
    env.assert_live(want)
    assert env.state_token() == str(json.loads(body)["syncToken"])
    for rules in env.sg_rules().values():  # quota per group and family
        for family in (4, 6):
            assert sum(1 for r in rules if r[0] == family) <= 30
    assert set(result["securityGroupsInUse"]) == {g for g, rules in env.sg_rules().items() if rules}
    for _op, params in env.rec.ops("ModifyManagedPrefixList"):
        assert len(params.get("AddEntries", [])) <= 100
        assert len(params.get("RemoveEntries", [])) <= 100
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["outcome"] == "applied" and log["syncToken"] == json.loads(body)["syncToken"]
    assert log["writeCalls"] == len(env.rec.ops()) - 1  # every write but the state PutObject
    assert log["targets"]["prefixList.ipv4"]["added"] == len(want[4])
    assert isinstance(log["durationMs"], float)


def test_update_applies_exact_diff_adds_before_removes(aws, fetched):
    env = Env()
    cfg = env.config()
    old, new = doc_bytes(OLD), doc_bytes(NEW)
    was = expected(old, {"EC2"}, {"us-east-1"})
    want = expected(new, {"EC2"}, {"us-east-1"})
    assert all(was[f] - want[f] and want[f] - was[f] for f in (4, 6))  # real adds and removes
    run(env, cfg, old, fetched)
    env.rec.clear()

    result = run(env, cfg, new, fetched)

    assert result["outcome"] == "applied"
    env.assert_live(want)
    calls = env.rec.ops()
    for family in (4, 6):
        pl_id = env.pl[family]
        mods = [
            p for op, p in calls if op == "ModifyManagedPrefixList" and p["PrefixListId"] == pl_id
        ]
        added = {e["Cidr"] for p in mods for e in p.get("AddEntries", [])}
        removed = {e["Cidr"] for p in mods for e in p.get("RemoveEntries", [])}
        assert added == want[family] - was[family]
        assert removed == was[family] - want[family]
        assert pl_order_ok(calls, pl_id)
        assert result["targets"][f"prefixList.ipv{family}"] == {
            "added": len(added),
            "removed": len(removed),
            "writeCalls": len(mods),
        }
    sg = [(op, p) for op, p in calls if "SecurityGroup" in op]
    kinds = [op for op, _ in sg]
    assert kinds == sorted(kinds)  # every Authorize... before the first Revoke...
    for family, key, cidr_key in ((4, "IpRanges", "CidrIp"), (6, "Ipv6Ranges", "CidrIpv6")):
        got = {
            op: {
                r[cidr_key]
                for _, p in sg
                if _ == op
                for perm in p["IpPermissions"]
                for r in perm.get(key, [])
            }
            for op in ("AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress")
        }
        assert got["AuthorizeSecurityGroupIngress"] == want[family] - was[family]
        assert got["RevokeSecurityGroupIngress"] == was[family] - want[family]
    assert len(env.rec.ops("UpdateIPSet")) == 2  # one full replacement per family
    assert calls[-1][0] == "PutObject"  # state last
    assert env.state_token() == str(json.loads(new)["syncToken"])


def test_rerun_same_document_writes_nothing(aws, fetched):
    env = Env()
    cfg = env.config()
    body = doc_bytes(NEW)
    run(env, cfg, body, fetched)
    env.rec.clear()

    # The targets are still read and compared (issue 12.1: a rerun repairs drift), but the
    # message's token alone says the stored document is the newest: no download, no write.
    result = run(env, cfg, body, fetched)
    assert result["outcome"] == "converged" and env.rec.ops() == []
    assert result["document"] == "stored" and result["drift"] == {}
    assert fetched.urls == [irs.IP_RANGES_URL]

    # Without the S3 state the token check cannot refuse: the diff against live state is empty.
    env.s3.delete_object(Bucket=BUCKET, Key=irs.DEFAULT_STATE_KEY)
    env.rec.clear()
    result = run(env, cfg, body, fetched)
    assert result["outcome"] == "applied"
    assert [op for op, _ in env.rec.ops()] == ["PutObject"]
    assert all(t["writeCalls"] == 0 for t in result["targets"].values())


def test_pure_planners_say_nothing_to_do_for_equal_sets():
    want = expected(doc_bytes(NEW), {"CLOUDFRONT"})
    plan = irs.plan_prefix_list(want[4], want[4], max_entries=len(want[4]))
    assert (plan.adds, plan.removes, plan.calls, plan.grow_to) == ([], [], [], None)
    assert irs.plan_waf(want[6], want[6]) == (None, 0, 0)
    group = irs.GroupState("sg-1", {4: {c: {443} for c in want[4]}, 6: {}}, {4: 0, 6: 0})
    sg = irs.plan_security_groups([group], {4: want[4]}, [443], rules_per_group=len(want[4]))
    assert sg.write_calls == 0 and sg.groups_in_use == ["sg-1"]


@pytest.mark.parametrize(
    "case", ["md5", "no-md5", "url", "malformed", "older-message", "older-document"]
)
def test_refusals_change_nothing(aws, fetched, case):
    env = Env()
    cfg = env.config()
    new, old = doc_bytes(NEW), doc_bytes(OLD)
    run(env, cfg, new, fetched)
    before = env.snapshot()
    env.rec.clear()
    fetched.urls.clear()

    if case == "md5":
        fetched.body = old[: len(old) // 2]  # a truncated download
        with pytest.raises(irs.DocumentRejected, match="md5"):
            irs.run(sns_event(old, synctoken="9" * 12), cfg, env.clients)
    elif case == "no-md5":
        fetched.body = new
        event = sns_event(new, synctoken="9" * 12)
        message = json.loads(event["Records"][0]["Sns"]["Message"])
        del message["md5"]
        event["Records"][0]["Sns"]["Message"] = json.dumps(message)
        with pytest.raises(irs.DocumentRejected, match="no md5"):
            irs.run(event, cfg, env.clients)
        assert fetched.urls == []  # refused before any download
    elif case == "url":
        fetched.body = old
        event = sns_event(
            old, url="https://ip-ranges.example.com/ip-ranges.json", synctoken="9" * 12
        )
        assert irs.run(event, cfg, env.clients)["outcome"] == "refused"
        assert fetched.urls == []  # never downloaded
    elif case == "malformed":
        body = new[:-10] + b"9999}"  # newer token text, broken JSON, matching md5
        fetched.body = body
        event = sns_event(body, synctoken="9" * 12)
        with pytest.raises(irs.DocumentRejected, match="malformed"):
            irs.run(event, cfg, env.clients)
    elif case == "older-message":
        # An old notification: the targets are checked against the newer stored document,
        # never against the older one; nothing is downloaded.
        fetched.body = old
        result = irs.run(sns_event(old), cfg, env.clients)
        assert (result["outcome"], result["document"]) == ("converged", "stored")
        assert result["syncToken"] == str(json.loads(new)["syncToken"])
        assert fetched.urls == []
    else:  # the message says nothing about the token: the document's own syncToken is older
        fetched.body = old
        result = irs.run(sns_event(old, synctoken=""), cfg, env.clients)
        assert (result["outcome"], result["document"]) == ("converged", "stored")
        assert fetched.urls == [irs.IP_RANGES_URL]

    assert env.rec.ops() == []
    assert env.snapshot() == before


def test_scheduled_run_fetches_itself(aws, fetched):
    env = Env()
    body = doc_bytes(NEW)
    cfg = env.config(targets=("pl",))
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    result = run(env, cfg, body, fetched, event=event)
    assert result["outcome"] == "applied" and result["trigger"] == "schedule"
    assert fetched.urls == [irs.IP_RANGES_URL]
    env.assert_live(expected(body, {"EC2"}, {"us-east-1"}), targets=("pl",))
    # A manual {} run with the same document reads the targets and finds nothing to do.
    result = run(env, cfg, body, fetched, event={})
    assert (result["outcome"], result["trigger"], result["drift"]) == ("converged", "manual", {})


def test_failure_at_second_target_keeps_state_and_next_run_converges(aws, fetched, monkeypatch):
    """Guarantee: targets are applied one after the other, each adds-then-removes. A failure
    stops the run; targets before it are fully converged (their removes ran only after all their
    adds), the failing target had no remove issued, later targets are untouched, the S3 state is
    not advanced, and the next run redoes whatever is left from the live state."""
    env = Env()
    cfg = env.config(targets=("pl", "sg"))
    old, new = doc_bytes(OLD), doc_bytes(NEW)
    was = expected(old, {"EC2"}, {"us-east-1"})
    want = expected(new, {"EC2"}, {"us-east-1"})
    run(env, cfg, old, fetched)
    sg_before = env.sg_rules()

    real = env.ec2.authorize_security_group_ingress

    def broken(**kwargs):
        raise ClientError({"Error": {"Code": "RequestLimitExceeded", "Message": "x"}}, "Authorize")

    monkeypatch.setattr(env.ec2, "authorize_security_group_ingress", broken)
    with pytest.raises(ClientError):
        run(env, cfg, new, fetched)
    env.assert_live(want, targets=("pl",))  # first target done
    assert env.sg_rules() == sg_before  # second target: nothing removed
    assert env.sg_cidrs(4) == was[4]
    assert env.state_token() == str(json.loads(old)["syncToken"])

    monkeypatch.setattr(env.ec2, "authorize_security_group_ingress", real)
    env.rec.clear()
    assert run(env, cfg, new, fetched)["outcome"] == "applied"
    env.assert_live(want, targets=("pl", "sg"))
    assert not env.rec.ops("ModifyManagedPrefixList")  # nothing left to do there
    assert env.state_token() == str(json.loads(new)["syncToken"])


def test_a_run_overtaken_by_a_newer_one_stops_before_its_next_target(aws, fetched, monkeypatch):
    """Two overlapping runs: while this one applies its first target, a run with the same (or a
    newer) document finishes and stores its state. This one must not go on to put its ranges
    over the other's on the next target, nor overwrite the stored state."""
    env = Env()
    cfg = env.config(targets=("pl", "sg"))
    old, new = doc_bytes(OLD), doc_bytes(NEW)
    run(env, cfg, old, fetched)
    sg_before = env.sg_rules()
    env.store_state_after_each_prefix_list_write(monkeypatch, new)
    result = run(env, cfg, new, fetched)
    assert result["outcome"] == "superseded"
    assert env.sg_rules() == sg_before  # the second target was left to the other run
    assert env.state_token() == str(json.loads(new)["syncToken"])
    assert "sg" not in " ".join(result["targets"])


def test_failure_inside_prefix_list_batches_never_removes(aws, fetched, monkeypatch):
    env = Env()
    cfg = env.config(targets=("pl",), SERVICES="S3", REGIONS="")
    old, new = doc_bytes(OLD), doc_bytes(NEW)
    was = expected(old, {"S3"})[6]
    want = expected(new, {"S3"})[6]
    assert len(want - was) > 100 and was - want
    run(env, cfg, old, fetched)

    real = env.ec2.modify_managed_prefix_list
    seen = []

    def second_call_fails(**kwargs):
        if kwargs["PrefixListId"] == env.pl[6]:
            seen.append(kwargs)
            if len(seen) == 2:
                raise ClientError({"Error": {"Code": "InternalError", "Message": "x"}}, "Modify")
        return real(**kwargs)

    monkeypatch.setattr(env.ec2, "modify_managed_prefix_list", second_call_fails)
    with pytest.raises(ClientError):
        run(env, cfg, new, fetched)
    live = env.pl_entries(6)
    assert was <= live < was | want  # only additions landed
    assert env.state_token() == str(json.loads(old)["syncToken"])
    monkeypatch.setattr(env.ec2, "modify_managed_prefix_list", real)
    run(env, cfg, new, fetched)
    assert env.pl_entries(6) == want


# --------------------------------------------------------------------------- drift (issue 12.1)

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


def tamper(env: Env) -> dict[str, dict[str, list[str]]]:
    """Change every target by hand, as a person in the console would; return the drift made."""
    drift: dict[str, dict[str, list[str]]] = {}
    for family, extra in ((4, "192.0.2.0/24"), (6, "2001:db8::/32")):
        pl_id = env.pl[family]
        gone = sorted(env.pl_entries(family))[0]
        version = env.ec2.describe_managed_prefix_lists(PrefixListIds=[pl_id])["PrefixLists"][0][
            "Version"
        ]
        env.ec2.modify_managed_prefix_list(
            PrefixListId=pl_id,
            CurrentVersion=version,
            AddEntries=[{"Cidr": extra, "Description": "added by hand"}],
            RemoveEntries=[{"Cidr": gone}],
        )
        drift[f"prefixList.ipv{family}"] = {"missing": [gone], "extra": [extra]}
    rules = env.sg_rules()
    holder = next(g for g, r in rules.items() if any(x[0] == 4 and x[3] == irs.MARKER for x in r))
    revoked = sorted(c for f, c, _, d in rules[holder] if f == 4 and d == irs.MARKER)[0]
    env.ec2.revoke_security_group_ingress(
        GroupId=holder,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": revoked}]}
        ],
    )
    roomiest = min(rules, key=lambda g: len(rules[g]))
    env.ec2.authorize_security_group_ingress(
        GroupId=roomiest,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "198.51.100.0/24", "Description": irs.MARKER}],
            }
        ],
    )
    drift["securityGroups"] = {
        "missing": [f"{revoked} tcp/443"],
        "extra": ["198.51.100.0/24 tcp/443"],
    }
    name, id_, scope = env.waf_sets[4].split("|")
    current = env.waf.get_ip_set(Name=name, Scope=scope, Id=id_)
    addresses = sorted(current["IPSet"]["Addresses"])
    env.waf.update_ip_set(
        Name=name,
        Scope=scope,
        Id=id_,
        Addresses=[*addresses[1:], "203.0.113.0/24"],
        LockToken=current["LockToken"],
    )
    drift["wafIpSet.ipv4"] = {"missing": [addresses[0]], "extra": ["203.0.113.0/24"]}
    return drift


@pytest.mark.parametrize("trigger", ["manual", "schedule", "sns-duplicate"])
def test_every_run_repairs_drift_and_logs_it(aws, fetched, capsys, trigger):
    """Issue 12.1: a run whose document is not newer than the stored one still reads every
    target and repairs it; only the state write depends on the token."""
    env = Env()
    cfg = env.config()
    body = doc_bytes(NEW)
    want = expected(body, {"EC2"}, {"us-east-1"})
    run(env, cfg, body, fetched)
    state_etag = env.s3.head_object(Bucket=BUCKET, Key=irs.DEFAULT_STATE_KEY)["ETag"]
    made = tamper(env)
    env.rec.clear()
    fetched.urls.clear()
    capsys.readouterr()

    event = {"manual": {}, "schedule": SCHEDULED, "sns-duplicate": sns_event(body)}[trigger]
    result = run(env, cfg, body, fetched, event=event)

    assert result["outcome"] == "converged"
    env.assert_live(want)
    assert not env.waf_addresses(4) - want[4] and "2001:db8::/32" not in env.pl_entries(6)
    assert {
        name: {"missing": d["missing"], "extra": d["extra"]} for name, d in result["drift"].items()
    } == made
    assert all(
        d["missingCount"] == len(d["missing"]) and d["extraCount"] == len(d["extra"])
        for d in result["drift"].values()
    )
    # The SNS duplicate needs no download: the stored document is the one it announces.
    assert fetched.urls == ([] if trigger == "sns-duplicate" else [irs.IP_RANGES_URL])
    assert result["document"] == ("stored" if trigger == "sns-duplicate" else "downloaded")
    assert not [c for c in env.rec.ops("PutObject")]  # the state is not rewritten
    assert env.s3.head_object(Bucket=BUCKET, Key=irs.DEFAULT_STATE_KEY)["ETag"] == state_etag
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["outcome"] == "converged" and log["drift"] == result["drift"]

    # Repaired: the next run finds nothing.
    again = run(env, cfg, body, fetched, event={})
    assert again["drift"] == {} and again["writeCalls"] == 0


def test_an_older_download_is_never_applied_over_the_stored_document(aws, fetched):
    """A scheduled run that downloads an older document (a stale cache, a slow edge) repairs
    the targets to the newer stored document instead; it never regresses them."""
    env = Env()
    cfg = env.config(targets=("pl", "waf"))
    old, new = doc_bytes(OLD), doc_bytes(NEW)
    want = expected(new, {"EC2"}, {"us-east-1"})
    run(env, cfg, new, fetched)
    tamper_pl = sorted(env.pl_entries(4))[0]
    version = env.ec2.describe_managed_prefix_lists(PrefixListIds=[env.pl[4]])["PrefixLists"][0][
        "Version"
    ]
    env.ec2.modify_managed_prefix_list(
        PrefixListId=env.pl[4], CurrentVersion=version, RemoveEntries=[{"Cidr": tamper_pl}]
    )

    result = run(env, cfg, old, fetched, event=SCHEDULED)

    assert (result["outcome"], result["document"]) == ("converged", "stored")
    assert result["syncToken"] == str(json.loads(new)["syncToken"])
    assert result["drift"] == {
        "prefixList.ipv4": {"missing": [tamper_pl], "missingCount": 1, "extra": [], "extraCount": 0}
    }
    env.assert_live(want, targets=("pl", "waf"))
    assert env.state_token() == str(json.loads(new)["syncToken"])


# --------------------------------------------------------------------------- bad input (issue 12.2)


class NoAws(irs.Clients):
    """Clients that fail the test when asked for anything: refusals happen before AWS."""

    def get(self, name, region=None):
        raise AssertionError(f"AWS client {name} requested")


JUNK_ENVELOPES = [
    None,
    [],
    "{}",
    42,
    {"Records": None},
    {"Records": []},
    {"Records": "x"},
    {"Records": [5]},
    {"Records": [{"eventSource": "aws:s3", "s3": {}}]},
    {"source": "aws.events"},
    {"detail-type": "Scheduled Event"},
    {"trigger": "later"},
    {"trigger": "deploy", "extra": 1},
    {"hello": "world"},
]


@pytest.mark.parametrize("event", JUNK_ENVELOPES, ids=[repr(e)[:30] for e in JUNK_ENVELOPES])
def test_unsupported_events_are_refused_with_a_line_and_touch_nothing(fetched, capsys, event):
    cfg = irs.Config.from_env({"SERVICES": "EC2", "STATE_BUCKET": BUCKET})
    result = irs.run(event, cfg, NoAws())
    assert result["outcome"] == "refused"
    assert result["reason"].startswith("unsupported event: ")
    assert fetched.urls == []
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert json.loads(line)["reason"] == result["reason"]


def _sns(message: object, **record: object) -> dict:
    event = json.loads(require_fixture("events", "snsEvent.json").read_text())
    event["Records"][0]["Sns"]["Message"] = message
    event["Records"][0].update(record)
    return event


GOOD_MESSAGE = {
    "create-time": "2026-07-19T23:27:05+00:00",
    "synctoken": "1784503625",
    "md5": "0" * 32,
    "url": irs.IP_RANGES_URL,
}
JUNK_MESSAGES = [
    5,
    None,
    "null",
    "[]",
    "not json",
    "[" * 100_000,
    json.dumps({**GOOD_MESSAGE, "md5": 5}),
    json.dumps({**GOOD_MESSAGE, "md5": "xyz"}),
    json.dumps({**GOOD_MESSAGE, "md5": "\uff10" * 32}),  # fullwidth digits are not hex
    json.dumps({**GOOD_MESSAGE, "synctoken": "12a"}),
    json.dumps({**GOOD_MESSAGE, "synctoken": [1]}),
    json.dumps({**GOOD_MESSAGE, "synctoken": "\u0661\u0662"}),  # Arabic-Indic digits
    json.dumps({**GOOD_MESSAGE, "synctoken": True}),
    json.dumps({**GOOD_MESSAGE, "url": 5}),
]


@pytest.mark.parametrize("message", JUNK_MESSAGES, ids=[repr(m)[:30] for m in JUNK_MESSAGES])
def test_malformed_sns_messages_raise_document_rejected_before_aws(fetched, message):
    cfg = irs.Config.from_env({"SERVICES": "EC2", "STATE_BUCKET": BUCKET})
    with pytest.raises(irs.DocumentRejected):
        irs.run(_sns(message), cfg, NoAws())
    assert fetched.urls == []


def test_sns_record_without_its_sns_object_is_rejected(fetched):
    cfg = irs.Config.from_env({"SERVICES": "EC2", "STATE_BUCKET": BUCKET})
    event = _sns("x")
    event["Records"][0]["Sns"] = None  # EventSource still says aws:sns
    with pytest.raises(irs.DocumentRejected, match="no 'Sns' object"):
        irs.run(event, cfg, NoAws())


JSON_VALUES = json_values(text_size=8, leaves=10)


@settings(max_examples=300, deadline=None)
@given(
    event=JSON_VALUES
    | st.dictionaries(st.sampled_from(["Records", "source", "trigger"]), JSON_VALUES)
)
def test_any_json_event_is_an_event_a_refusal_or_document_rejected(event):
    """The only outcomes of parsing an event: a trigger, UnsupportedEvent, DocumentRejected."""
    try:
        trigger = irs.parse_event(event)
    except (irs.UnsupportedEvent, irs.DocumentRejected):
        return
    assert trigger.kind in ("sns", "schedule", "manual", "deploy")


@settings(max_examples=300, deadline=None)
@given(message=st.dictionaries(st.sampled_from(sorted(GOOD_MESSAGE)), JSON_VALUES))
def test_any_json_message_is_a_notification_or_document_rejected(message):
    try:
        note = irs.parse_message(json.dumps({**GOOD_MESSAGE, **message}))
    except irs.DocumentRejected:
        return
    assert re.fullmatch(r"[0-9a-f]{32}", note.md5 or "")
    assert note.synctoken is None or isinstance(note.synctoken, int)
    assert isinstance(note.url, str)


@functools.cache
def _small_document() -> str:
    data = json.loads(doc_bytes(NEW))
    return json.dumps(
        {
            "syncToken": data["syncToken"],
            "createDate": data["createDate"],
            "prefixes": data["prefixes"][:5],
            "ipv6_prefixes": data["ipv6_prefixes"][:5],
        }
    )


def small_document() -> dict:
    """The first prefixes of the real 2026-07-19 document, both families (a fresh copy)."""
    return json.loads(_small_document())


PATHS = [
    (),
    ("syncToken",),
    ("prefixes",),
    ("ipv6_prefixes",),
    ("prefixes", 0),
    ("prefixes", 1, "ip_prefix"),
    ("prefixes", 2, "service"),
    ("prefixes", 3, "region"),
    ("ipv6_prefixes", 0, "ipv6_prefix"),
]


def _replace(doc: dict, path: tuple, value: object) -> object:
    if not path:
        return value
    node: Any = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return doc


@settings(max_examples=300, deadline=None)
@given(path=st.sampled_from(PATHS), value=JSON_VALUES)
def test_a_document_with_any_value_anywhere_is_selected_or_rejected(path, value):
    """Issue 12.2: never AttributeError, TypeError or an address error; DocumentRejected."""
    body = json.dumps(_replace(small_document(), path, value)).encode()
    try:
        doc = irs.parse_document(body)
        v4, v6 = irs.select_networks(doc, ["AMAZON", "EC2", "S3", "ROUTE53"], ipv6=True)
    except irs.DocumentRejected:
        return
    assert all(isinstance(n, ipaddress.IPv4Network) for n in v4)
    assert all(isinstance(n, ipaddress.IPv6Network) for n in v6)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: _replace(d, ("prefixes", 0, "ip_prefix"), "300.1.2.0/24"), "not an IPv4"),
        (lambda d: _replace(d, ("prefixes", 0, "ip_prefix"), "2001:db8::/32"), "not an IPv4"),
        (lambda d: _replace(d, ("ipv6_prefixes", 0, "ipv6_prefix"), "10.0.0.0/8"), "not an IPv6"),
        (lambda d: _replace(d, ("prefixes", 0), None), r"prefixes\[0\] is not an object"),
        (lambda d: _replace(d, ("syncToken",), "soon"), "syncToken 'soon' is not a number"),
        (lambda d: _replace(d, ("syncToken",), True), "syncToken True is not a number"),
        (lambda d: _replace(d, ("prefixes",), {}), "prefixes is not a list"),
        (lambda d: [d], "not a JSON object"),
    ],
)
def test_malformed_documents_name_what_is_wrong(mutate, message):
    doc = small_document()
    for p in doc["prefixes"] + doc["ipv6_prefixes"]:
        p["service"] = "EC2"  # selected, so its network is parsed
    body = json.dumps(mutate(doc)).encode()
    with pytest.raises(irs.DocumentRejected, match=message):
        irs.select_networks(irs.parse_document(body), ["EC2"], ipv6=True)
    with pytest.raises(irs.DocumentRejected, match="not JSON"):
        irs.parse_document(b"\xff\xfe not utf-8")


def test_a_malformed_scheduled_download_writes_nothing(aws, fetched):
    env = Env()
    cfg = env.config(targets=("pl",), SERVICES="EC2")
    doc = small_document()
    doc["prefixes"][0] = {"ip_prefix": 7, "service": "EC2", "region": "us-east-1"}
    with pytest.raises(irs.DocumentRejected, match=r"prefixes\[0\]"):
        run(env, cfg, json.dumps(doc).encode(), fetched, event=SCHEDULED)
    assert env.rec.ops() == [] and env.state_token() is None
    assert [op for op, _ in env.rec.lease_calls] == ["PutObject", "DeleteObject"]


# --------------------------------------------------------------------------- overlapping (12.3)


@pytest.fixture
def clock(monkeypatch):
    """A monotonic clock that only moves when the handler sleeps."""

    class Clock:
        now = 1000.0
        slept: list[float] = []

        def sleep(self, seconds: float) -> None:
            self.slept.append(seconds)
            self.now += seconds

    c = Clock()
    c.slept = []
    monkeypatch.setattr(irs, "_sleep", c.sleep)
    monkeypatch.setattr(irs, "_monotonic", lambda: c.now)
    return c


def hold_lease(env: Env, expires_in: float, owner: str = "other-run") -> irs.Lease:
    lease = irs._put_lease(env.s3, BUCKET, irs.DEFAULT_LEASE_KEY, owner, expires_in, None)
    assert lease is not None
    env.rec.clear()
    return lease


@pytest.mark.parametrize("event", ["sns", SCHEDULED], ids=["sns", "schedule"])
def test_async_run_that_cannot_get_the_lease_raises_for_a_retry(aws, fetched, clock, event):
    env = Env()
    cfg = env.config(targets=("pl",))
    body = doc_bytes(NEW)
    held = hold_lease(env, 3600)
    with pytest.raises(irs.LeaseBusy):
        run(env, cfg, body, fetched, event=None if event == "sns" else event)
    assert sum(clock.slept) >= irs.LEASE_WAIT_SECONDS  # waited, bounded
    assert fetched.urls == [] and env.rec.ops() == []
    # The other run's lease is untouched: only the failed creations were attempted.
    head = env.s3.head_object(Bucket=BUCKET, Key=irs.DEFAULT_LEASE_KEY)
    assert head["ETag"] == held.etag
    assert {p.get("IfNoneMatch") for _, p in env.rec.lease_calls} == {"*"}


@pytest.mark.parametrize("event", [{}, {"trigger": "deploy"}], ids=["manual", "deploy"])
def test_sync_run_that_cannot_get_the_lease_answers_busy_and_never_fails(
    aws, fetched, clock, event
):
    """The deploy-time Invocation fails the deployment on an error: another run converging the
    same targets is not one."""
    env = Env()
    cfg = env.config(targets=("pl",))
    hold_lease(env, 3600)
    result = run(env, cfg, doc_bytes(NEW), fetched, event=event)
    assert result["outcome"] == "busy" and "error" not in result
    assert result["leaseHolder"]["owner"] == "other-run"
    assert fetched.urls == [] and env.rec.ops() == []


def test_a_run_waits_for_a_lease_released_meanwhile(aws, fetched, clock, monkeypatch):
    env = Env()
    cfg = env.config(targets=("pl",))
    body = doc_bytes(NEW)
    held = hold_lease(env, 3600)
    real_sleep = clock.sleep

    def other_run_finishes(seconds):
        real_sleep(seconds)
        if len(clock.slept) == 3:
            irs.release_lease(env.s3, BUCKET, held)

    monkeypatch.setattr(irs, "_sleep", other_run_finishes)
    result = run(env, cfg, body, fetched, event={"trigger": "deploy"})
    assert result["outcome"] == "applied" and len(clock.slept) == 3
    env.assert_live(expected(body, {"EC2"}, {"us-east-1"}), targets=("pl",))


def test_an_expired_lease_is_taken_over_and_released(aws, fetched, clock):
    """A run killed at its timeout leaves its lease behind; its expiry frees it."""
    env = Env()
    cfg = env.config(targets=("pl",))
    dead = hold_lease(env, -5, owner="dead-run")
    result = run(env, cfg, doc_bytes(NEW), fetched, event=SCHEDULED)
    assert result["outcome"] == "applied" and clock.slept == []
    assert result["leaseHolder"] == {"owner": "dead-run", "expiresInSeconds": -5, "expired": True}
    put, delete = env.rec.lease_calls[-2:]
    assert put[0] == "PutObject" and put[1]["IfMatch"] == dead.etag  # compare-and-swap
    assert delete[0] == "DeleteObject" and delete[1]["IfMatch"] != dead.etag
    assert result["leaseReleased"] is True
    with pytest.raises(ClientError):
        env.s3.head_object(Bucket=BUCKET, Key=irs.DEFAULT_LEASE_KEY)


def test_the_lease_outlives_the_invocation_deadline(aws, fetched):
    class Context:
        aws_request_id = "0f5c0f3c-5b8e-4b0e-9f5a-1d2c3b4a5e6f"

        def get_remaining_time_in_millis(self):
            return 200_000

    env = Env()
    cfg = env.config(targets=("pl",))
    fetched.body = doc_bytes(NEW)
    before = time.time()
    irs.run({}, cfg, env.clients, Context())
    put = env.rec.lease_calls[0][1]
    assert put["Metadata"]["owner"] == Context.aws_request_id
    expires = float(put["Metadata"]["expires"])
    # the metadata keeps milliseconds
    assert before + 200 + irs.LEASE_MARGIN_SECONDS - 0.001 <= expires <= time.time() + 230


def test_release_leaves_a_lease_another_run_took_over(aws, fetched, monkeypatch):
    """If our lease was taken over (it expired), releasing must not delete the new holder's."""
    env = Env()
    cfg = env.config(targets=("pl",))
    body = doc_bytes(NEW)
    taken: list[irs.Lease] = []

    def fetch_while_taken_over(url):
        fetched.urls.append(url)
        head = env.s3.head_object(Bucket=BUCKET, Key=irs.DEFAULT_LEASE_KEY)
        taken.append(
            irs._put_lease(env.s3, BUCKET, irs.DEFAULT_LEASE_KEY, "next", 60, head["ETag"])
        )
        return body

    monkeypatch.setattr(irs, "fetch_ranges", fetch_while_taken_over)
    result = irs.run({}, cfg, env.clients)
    assert result["leaseReleased"] is False
    head = env.s3.head_object(Bucket=BUCKET, Key=irs.DEFAULT_LEASE_KEY)
    assert head["ETag"] == taken[0].etag and head["Metadata"]["owner"] == "next"


def test_overlapping_runs_are_serialized_and_the_older_never_wins(aws, fetched, clock, monkeypatch):
    """The scheduled run (older document) holds the lease while the SNS run (newer) arrives:
    the SNS run waits and raises for Lambda's retry; the retry applies the newer document.
    Then the older document comes back (a late duplicate): it changes nothing."""
    env = Env()
    cfg = env.config(targets=("pl", "sg"))
    old, new = doc_bytes(OLD), doc_bytes(NEW)
    want_new = expected(new, {"EC2"}, {"us-east-1"})
    outcomes: list[str] = []

    def scheduled_download(url):
        # While the scheduled run holds the lease, AWS publishes and SNS delivers.
        fetched.body = new
        try:
            irs.run(sns_event(new), cfg, env.clients)
        except irs.LeaseBusy:
            outcomes.append("sns busy")
        return old

    monkeypatch.setattr(irs, "fetch_ranges", scheduled_download)
    assert irs.run(SCHEDULED, cfg, env.clients)["outcome"] == "applied"
    assert outcomes == ["sns busy"]
    assert env.state_token() == str(json.loads(old)["syncToken"])

    monkeypatch.setattr(irs, "fetch_ranges", lambda url: new)  # Lambda's retry of the SNS event
    assert irs.run(sns_event(new), cfg, env.clients)["outcome"] == "applied"
    env.assert_live(want_new, targets=("pl", "sg"))

    monkeypatch.setattr(irs, "fetch_ranges", lambda url: old)
    env.rec.clear()
    late = irs.run(SCHEDULED, cfg, env.clients)
    assert (late["outcome"], late["document"]) == ("converged", "stored")
    assert env.rec.ops() == []
    env.assert_live(want_new, targets=("pl", "sg"))
    assert env.state_token() == str(json.loads(new)["syncToken"])


def newer_than(body: bytes, by: int) -> bytes:
    data = json.loads(body)
    data["syncToken"] = str(int(data["syncToken"]) + by)
    return json.dumps(data).encode()


@pytest.mark.parametrize("first", [False, True], ids=["over-a-state", "first-state"])
def test_state_write_never_overwrites_a_newer_state(aws, fetched, monkeypatch, first):
    """Someone stores a newer state between this run's read and its write (the lease makes it
    impossible for this function's runs): the conditional write refuses, nothing is lost."""
    env = Env()
    cfg = env.config(targets=("pl",))
    old, new = doc_bytes(OLD), doc_bytes(NEW)
    if not first:
        run(env, cfg, old, fetched)
    newest = newer_than(new, 1)
    # The overtaken check before each target runs before the write; the last write is the race.
    env.store_state_after_each_prefix_list_write(monkeypatch, newest)
    monkeypatch.setattr(irs, "overtaken", lambda *a: False)
    result = run(env, cfg, new, fetched)
    assert result["outcome"] == "superseded"
    assert env.state_token() == json.loads(newest)["syncToken"]
    puts = [p for _, p in env.rec.ops("PutObject") if p["Body"].read() == new]
    assert len(puts) == 1
    assert ("IfNoneMatch" if first else "IfMatch") in puts[0]


@pytest.mark.parametrize("race", ["older-state", "conflict"])
def test_state_write_replaces_an_older_state_written_meanwhile(aws, fetched, monkeypatch, race):
    """A lost precondition with an older state behind it (412), or S3's 409 for a concurrent
    conditional write: re-read, and write again over what is there now."""
    env = Env()
    cfg = env.config(targets=("pl",))
    old, new = doc_bytes(OLD), doc_bytes(NEW)
    run(env, cfg, old, fetched)
    older = json.loads(old)
    older["createDate"] = "rewritten"
    older_body = json.dumps(older).encode()
    real_put = env.s3.put_object
    seen: list[dict] = []

    def race_once(**kwargs):
        if kwargs["Key"] == irs.DEFAULT_STATE_KEY and not seen:
            seen.append(kwargs)
            if race == "conflict":
                raise ClientError(
                    {"Error": {"Code": "ConditionalRequestConflict", "Message": "x"}}, "PutObject"
                )
            irs.write_state(
                env.s3, BUCKET, irs.DEFAULT_STATE_KEY, older_body, irs.parse_document(older_body)
            )
        return real_put(**kwargs)

    monkeypatch.setattr(env.s3, "put_object", race_once)
    assert run(env, cfg, new, fetched)["outcome"] == "applied"
    assert seen and "IfMatch" in seen[0]
    assert env.state_token() == str(json.loads(new)["syncToken"])
    stored = env.s3.get_object(Bucket=BUCKET, Key=irs.DEFAULT_STATE_KEY)["Body"].read()
    assert stored == new


# --------------------------------------------------------------------------- capacity (issue 10.2)


def test_selection_above_the_prefix_list_limit_is_refused_before_any_write(aws, fetched, capsys):
    env = Env()
    cfg = env.config(targets=("pl", "waf"), SERVICES="AMAZON", REGIONS="")
    body = doc_bytes(NEW)
    n = len(expected(body, {"AMAZON"})[4])
    assert n > irs.PREFIX_LIST_MAX_ENTRIES
    with pytest.raises(irs.DoesNotFit, match=f"prefixList.ipv4: {n} IPv4 prefixes"):
        run(env, cfg, body, fetched)
    assert env.rec.ops() == [] and env.state_token() is None
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["outcome"] == "error" and "at most 1000 entries" in log["error"]


def test_waf_limit_is_checked_before_the_prefix_list_is_written(aws, fetched, monkeypatch):
    """The WAF set is the last target, the prefix list the first: a WAF that cannot hold the
    selection must stop the run before the prefix list is touched."""
    env = Env()
    cfg = env.config(targets=("pl", "waf"))
    body = doc_bytes(NEW)
    n = len(expected(body, {"EC2"}, {"us-east-1"})[4])
    monkeypatch.setattr(irs, "WAF_MAX_ADDRESSES", n - 1)
    with pytest.raises(irs.DoesNotFit, match=f"wafIpSet.ipv4: {n} IPv4 prefixes"):
        run(env, cfg, body, fetched)
    assert env.rec.ops() == []


def test_check_fits_on_each_limit():
    data = json.loads(doc_bytes(NEW))
    base = ipaddress.ip_network(
        next(p["ip_prefix"] for p in data["prefixes"] if p["ip_prefix"].endswith("/16"))
    )
    many = [str(n) for n in base.subnets(new_prefix=30)][: irs.WAF_MAX_ADDRESSES + 1]
    waf = irs.Config.from_env(
        {"SERVICES": "EC2", "STATE_BUCKET": "b", "WAF_IPV4_SET": "n|i|REGIONAL"}
    )
    irs.check_fits(waf, many[:-1], [])
    with pytest.raises(irs.DoesNotFit, match=r"wafIpSet\.ipv4: 10001 IPv4 prefixes"):
        irs.check_fits(waf, many, [])
    pl = irs.Config.from_env(
        {"SERVICES": "EC2", "STATE_BUCKET": "b", "PREFIX_LIST_IPV4_ID": "pl-1"}
    )
    irs.check_fits(pl, many[:1000], [])
    with pytest.raises(irs.DoesNotFit, match=r"prefixList\.ipv4: 1001"):
        irs.check_fits(pl, many[:1001], [])
    pool = irs.Config.from_env(
        {
            "SERVICES": "EC2",
            "STATE_BUCKET": "b",
            "SECURITY_GROUP_IDS": "sg-1,sg-2",
            "PORTS": "443,80",
        }
    )
    irs.check_fits(pool, many[:60], [])  # 2 groups x (60 // 2 ports)
    with pytest.raises(irs.PoolTooSmall, match="needs at least 3 groups"):
        irs.check_fits(pool, many[:61], [])
    with pytest.raises(irs.DoesNotFit, match="1001 prefixes selected"):
        irs.plan_prefix_list([], many[:1001], max_entries=1)


def test_prefix_list_peak_above_the_limit_removes_disjoint_entries_first():
    """EC2, all regions, IPv4: 650 -> 706 entries (+137 / -81). Adds-first peaks at 750; with a
    limit of 740 the removes that overlap no new network go first, and the peak drops below."""
    old, new = doc_bytes(OLD), doc_bytes(NEW)
    was, want = expected(old, {"EC2"})[4], expected(new, {"EC2"})[4]
    plain = irs.plan_prefix_list(was, want, max_entries=1000)
    peak = irs._peak(len(was), plain.calls)
    assert peak > len(want)
    limit = peak - 10
    plan = irs.plan_prefix_list(was, want, max_entries=len(was), limit=limit)
    assert irs._peak(len(was), plan.calls) <= limit and plan.grow_to <= limit
    first_add = next(i for i, (add, _) in enumerate(plan.calls) if add)
    early = [c for _, rem in plan.calls[:first_add] for c in rem]
    assert early
    wanted = [ipaddress.ip_network(c) for c in want]
    for cidr in early:  # dropping them refuses no address of the new selection
        assert not any(ipaddress.ip_network(cidr).overlaps(w) for w in wanted)
    ec2 = FakePrefixListEc2(entries=was, max_entries=len(was), busy_polls=0)
    irs.apply_prefix_list(ec2, "pl-1", plan)
    assert ec2.entries == want and ec2.max_entries <= limit
    with pytest.raises(irs.DoesNotFit, match="at the peak"):
        irs.plan_prefix_list(was, want, max_entries=len(was), limit=len(want))


# --------------------------------------------------------------------------- security groups


def test_security_groups_spread_over_the_pool_and_leave_other_rules(aws, fetched):
    env = Env(n_groups=4)
    env.ec2.authorize_security_group_ingress(
        GroupId=env.groups[0],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.1.0.0/16", "Description": "bastion"}],
            }
        ],
    )
    cfg = env.config(
        targets=("sg",), SERVICES="CLOUDFRONT", REGIONS="", IPV6="false", RULES_PER_GROUP="60"
    )
    old, new = doc_bytes(OLD), doc_bytes(NEW)
    want_old = expected(old, {"CLOUDFRONT"}, ipv6=False)[4]
    assert len(want_old) > 2 * 60  # needs at least three groups
    result = run(env, cfg, old, fetched)
    rules = env.sg_rules()
    assert (4, "10.1.0.0/16", 22, "bastion") in rules[env.groups[0]]
    assert all(len(r) <= 60 for r in rules.values())
    assert env.sg_cidrs(4) == want_old
    assert sorted(result["securityGroupsInUse"]) == sorted(
        g for g, r in rules.items() if any(x[3] == irs.MARKER for x in r)
    )
    placement = {c: g for g, r in rules.items() for _, c, _, d in r if d == irs.MARKER}

    run(env, cfg, new, fetched)
    want_new = expected(new, {"CLOUDFRONT"}, ipv6=False)[4]
    after = env.sg_rules()
    assert env.sg_cidrs(4) == want_new
    assert all(len(r) <= 60 for r in after.values())
    assert (4, "10.1.0.0/16", 22, "bastion") in after[env.groups[0]]
    moved = {
        c
        for g, r in after.items()
        for _, c, _, d in r
        if d == irs.MARKER and placement.get(c, g) != g
    }
    assert moved == set()  # stable: a kept prefix stays in its group


def test_security_group_pool_too_small_is_refused_before_any_write(aws, fetched):
    env = Env(n_groups=2)
    cfg = env.config(
        targets=("pl", "sg"),
        SERVICES="CLOUDFRONT",
        REGIONS="",
        IPV6="false",
        RULES_PER_GROUP="60",
        PREFIX_LIST_IPV6_ID="",
    )
    body = doc_bytes(NEW)
    n = len(expected(body, {"CLOUDFRONT"}, ipv6=False)[4])
    with pytest.raises(irs.PoolTooSmall, match=f"at least {-(-n // 60)} groups"):
        run(env, cfg, body, fetched)
    assert env.rec.ops() == []  # not even the prefix list, which comes first
    assert env.state_token() is None


def test_security_group_planner_packs_and_counts_transient_room():
    cidrs = [f"10.0.{i}.0/24" for i in range(10)]
    g1 = irs.GroupState("sg-1", {4: {c: {443} for c in cidrs[:4]}, 6: {}}, {4: 1, 6: 0})
    g2 = irs.GroupState("sg-2", {4: {}, 6: {}}, {4: 0, 6: 0})
    # keep cidrs[2:4], drop cidrs[:2], add cidrs[4:9]; 5 rules per group
    plan = irs.plan_security_groups([g1, g2], {4: cidrs[2:9]}, [443], rules_per_group=5)
    assert plan.revoke == {"sg-1": [(4, cidrs[0], 443), (4, cidrs[1], 443)]}
    # sg-1 holds 1 + 4 rules until the revoke: all five new prefixes go to sg-2
    assert plan.authorize == {"sg-2": [(4, c, 443) for c in cidrs[4:9]]}
    assert plan.groups_in_use == ["sg-1", "sg-2"]
    # ...so 6 new prefixes cannot fit in sg-2's 5 rules
    with pytest.raises(irs.PoolTooSmall, match="at least 3 groups"):
        irs.plan_security_groups([g1, g2], {4: cidrs[2:10]}, [443], rules_per_group=5)
    plan = irs.plan_security_groups([g1, g2], {4: cidrs[2:9]}, [443, 80], rules_per_group=10)
    assert set(plan.authorize) == {"sg-1", "sg-2"}
    assert plan.added[4] == len(cidrs[2:9]) * 2 - 2  # cidrs[2:4] already had 443


# --------------------------------------------------------------------------- WAF


def test_waf_lock_token_conflict_is_retried(aws, fetched, monkeypatch):
    env = Env(waf_scope="CLOUDFRONT")
    cfg = env.config(targets=("waf",), SERVICES="CLOUDFRONT", REGIONS="")
    body = doc_bytes(NEW)
    want = expected(body, {"CLOUDFRONT"})
    real = env.waf.update_ip_set
    attempts = []

    def racing(**kwargs):
        attempts.append(kwargs["LockToken"])
        if len(attempts) == 1:  # someone else writes first: our token goes stale
            name, id_, scope = env.waf_sets[4].split("|")
            current = env.waf.get_ip_set(Name=name, Scope=scope, Id=id_)
            real(
                Name=name,
                Scope=scope,
                Id=id_,
                Addresses=["192.0.2.0/24"],
                LockToken=current["LockToken"],
            )
        return real(**kwargs)

    monkeypatch.setattr(env.waf, "update_ip_set", racing)
    result = run(env, cfg, body, fetched)
    assert result["outcome"] == "applied"
    assert len(attempts) == 3 and attempts[0] != attempts[1]  # v4 twice (retry), v6 once
    assert result["targets"]["wafIpSet.ipv4"]["writeCalls"] == 2
    env.assert_live(want, targets=("waf",))
    name, id_, scope = env.waf_sets[4].split("|")
    assert env.waf.get_ip_set(Name=name, Scope=scope, Id=id_)["IPSet"]["Description"]


# --------------------------------------------------------------------------- prefix lists, fake


class FakePrefixListEc2:
    """What moto lacks: modify-in-progress states, MaxEntries (changed alone, enforced), the
    100-entry limit, and the CurrentVersion check."""

    def __init__(self, entries=(), max_entries=5, family="IPv4", busy_polls=2):
        self.entries = set(entries)
        self.max_entries = max_entries
        self.version = 1
        self.state = "create-complete"
        self.family = family
        self.busy_polls = busy_polls
        self._busy = 0
        self.log: list[dict] = []
        self.polls = 0

    def describe_managed_prefix_lists(self, PrefixListIds):
        self.polls += 1
        if self._busy:
            self._busy -= 1
            state = "modify-in-progress"
        else:
            state = self.state
        return {
            "PrefixLists": [
                {
                    "PrefixListId": PrefixListIds[0],
                    "State": state,
                    "Version": self.version,
                    "MaxEntries": self.max_entries,
                    "AddressFamily": self.family,
                }
            ]
        }

    def get_managed_prefix_list_entries(
        self, PrefixListId, MaxResults, TargetVersion=None, NextToken=None
    ):
        items = sorted(self.entries)
        start = int(NextToken or 0)
        page = items[start : start + MaxResults]
        resp = {"Entries": [{"Cidr": c} for c in page]}
        if start + MaxResults < len(items):
            resp["NextToken"] = str(start + MaxResults)
        return resp

    def modify_managed_prefix_list(
        self, PrefixListId, CurrentVersion=None, AddEntries=(), RemoveEntries=(), MaxEntries=None
    ):
        self.log.append(
            {
                "add": [e["Cidr"] for e in AddEntries],
                "remove": [e["Cidr"] for e in RemoveEntries],
                "max": MaxEntries,
            }
        )
        assert self._busy == 0, "modify while modify-in-progress"
        assert CurrentVersion == self.version, "stale CurrentVersion"
        assert len(AddEntries) <= 100 and len(RemoveEntries) <= 100
        if MaxEntries is not None:
            assert not AddEntries and not RemoveEntries, "MaxEntries with entries in one call"
            self.max_entries = MaxEntries
        else:
            new = (self.entries | {e["Cidr"] for e in AddEntries}) - {
                e["Cidr"] for e in RemoveEntries
            }
            assert len(new) <= self.max_entries, "over MaxEntries"
            self.entries = new
            self.version += 1
        self.state = "modify-complete"
        self._busy = self.busy_polls


def test_prefix_list_batches_grow_and_wait_with_fake():
    old, new = doc_bytes(OLD), doc_bytes(NEW)
    was = expected(old, {"S3"})[6]
    want = expected(new, {"S3"})[6]
    adds, removes = want - was, was - want
    assert len(adds) > 100 and removes
    ec2 = FakePrefixListEc2(entries=was, max_entries=len(was), family="IPv6")
    pl, current = irs.read_prefix_list(ec2, "pl-1", 6)
    assert current == was
    plan = irs.plan_prefix_list(current, want, pl["MaxEntries"])
    calls = irs.apply_prefix_list(ec2, "pl-1", plan)

    assert ec2.entries == want
    assert calls == len(ec2.log) == plan.write_calls
    assert ec2.log[0]["max"] is not None and ec2.log[0]["max"] >= len(was)  # grown first
    body = ec2.log[1:]
    assert {c for c in adds} == {c for e in body for c in e["add"]}
    assert {c for c in removes} == {c for e in body for c in e["remove"]}
    last_add = max(i for i, e in enumerate(body) if e["add"])
    first_remove = min(i for i, e in enumerate(body) if e["remove"])
    assert first_remove >= last_add
    a, r = -(-len(adds) // 100), -(-len(removes) // 100)
    assert len(body) == a + r - 1  # the last add call carries the first remove batch
    assert ec2.polls > len(ec2.log)  # waited through modify-in-progress


@pytest.mark.parametrize("grow", [False, True])
def test_prefix_list_concurrent_writer_makes_the_stale_plan_fail(grow):
    """CurrentVersion is the version the plan was read at, not a fresh one per call: a write by
    someone else between planning and applying (another run, the console) must fail the call."""
    old, new = doc_bytes(OLD), doc_bytes(NEW)
    was, want = expected(old, {"S3"})[6], expected(new, {"S3"})[6]
    ec2 = FakePrefixListEc2(
        entries=was, max_entries=len(was) if grow else 10_000, family="IPv6", busy_polls=0
    )
    pl, current = irs.read_prefix_list(ec2, "pl-1", 6)
    plan = irs.plan_prefix_list(current, want, pl["MaxEntries"])
    assert (plan.grow_to is not None) == grow and plan.removes
    ec2.entries.add("2001:db8::/32")  # someone else's write, a version the plan never saw
    ec2.version += 1
    with pytest.raises(AssertionError, match="stale CurrentVersion"):
        irs.apply_prefix_list(ec2, "pl-1", plan, pl["Version"])
    assert ec2.entries == was | {"2001:db8::/32"}  # nothing of ours landed
    assert len(ec2.log) == 1


def test_prefix_list_entry_calls_chain_versions_with_fake():
    """After the first call, each entries call expects exactly the version its predecessor made:
    a writer slipping in between two batches stops the run before its removes."""
    old, new = doc_bytes(OLD), doc_bytes(NEW)
    was, want = expected(old, {"S3"})[6], expected(new, {"S3"})[6]
    ec2 = FakePrefixListEc2(entries=was, max_entries=10_000, family="IPv6", busy_polls=0)
    pl, current = irs.read_prefix_list(ec2, "pl-1", 6)
    plan = irs.plan_prefix_list(current, want, pl["MaxEntries"])
    assert len(plan.calls) >= 2
    real = ec2.modify_managed_prefix_list

    def interleaved(**kwargs):
        result = real(**kwargs)
        if len(ec2.log) == 1:
            ec2.version += 1  # another writer, right after our first batch
        return result

    ec2.modify_managed_prefix_list = interleaved
    with pytest.raises(AssertionError, match="stale CurrentVersion"):
        irs.apply_prefix_list(ec2, "pl-1", plan, pl["Version"])
    assert ec2.entries >= was  # the first batch only added


def test_prefix_list_from_empty_and_failed_state_with_fake():
    want = expected(doc_bytes(OLD), {"S3"})[6]
    ec2 = FakePrefixListEc2(max_entries=10, family="IPv6", busy_polls=0)
    plan = irs.plan_prefix_list(set(), want, 10)
    assert plan.grow_to == len(want)
    irs.apply_prefix_list(ec2, "pl-1", plan)
    assert ec2.entries == want
    assert [len(e["add"]) for e in ec2.log[1:]] == [100] * (len(want) // 100) + (
        [len(want) % 100] if len(want) % 100 else []
    )
    ec2.state = "modify-failed"
    with pytest.raises(RuntimeError, match="modify-failed"):
        irs.wait_prefix_list(ec2, "pl-1")
    with pytest.raises(irs.ConfigError, match="PREFIX_LIST_IPV4_ID: pl-1 is IPv6"):
        irs.read_prefix_list(FakePrefixListEc2(family="IPv6"), "pl-1", 4)


# --------------------------------------------------------------------------- config and CLI


def test_config_contract():
    cfg = irs.Config.from_env(
        {
            "SERVICES": "cloudfront, EC2",
            "REGIONS": "GLOBAL,eu-west-1",
            "IPV6": "true",
            "SECURITY_GROUP_IDS": "sg-1,sg-2",
            "PORTS": "443,80",
            "WAF_IPV6_SET": "n|id|CLOUDFRONT",
            "STATE_BUCKET": "b",
        }
    )
    assert cfg.services == ("CLOUDFRONT", "EC2") and cfg.ports == (443, 80)
    assert cfg.waf_ipv6_set == irs.WafSet("n", "id", "CLOUDFRONT")
    assert cfg.state_key == irs.DEFAULT_STATE_KEY and cfg.rules_per_group == 60
    for bad, key in [
        ({"STATE_BUCKET": "b"}, "SERVICES"),
        ({"SERVICES": "EC2"}, "STATE_BUCKET"),
        ({"SERVICES": "EC2", "STATE_BUCKET": "b", "WAF_IPV4_SET": "a|b"}, "WAF_IPV4_SET"),
        ({"SERVICES": "EC2", "STATE_BUCKET": "b", "PREFIX_LIST_IPV6_ID": "pl-1"}, "IPV6"),
        ({"SERVICES": "EC2", "STATE_BUCKET": "b", "PORTS": "https"}, "PORTS"),
        # int() would read each of these as a port or a count; the environment is ASCII only.
        ({"SERVICES": "EC2", "STATE_BUCKET": "b", "PORTS": "\uff14\uff14\uff13"}, "PORTS"),
        ({"SERVICES": "EC2", "STATE_BUCKET": "b", "PORTS": "4_43"}, "PORTS"),
        ({"SERVICES": "EC2", "STATE_BUCKET": "b", "PORTS": "+443"}, "PORTS"),
        ({"SERVICES": "EC2", "STATE_BUCKET": "b", "PORTS": "0"}, "PORTS"),
        ({"SERVICES": "EC2", "STATE_BUCKET": "b", "RULES_PER_GROUP": "\uff160"}, "RULES_PER_GROUP"),
        ({"SERVICES": "EC2", "STATE_BUCKET": "b", "RULES_PER_GROUP": "0"}, "RULES_PER_GROUP"),
        ({"SERVICES": "\u017f3", "STATE_BUCKET": "b"}, "SERVICES"),
    ]:
        with pytest.raises(irs.ConfigError, match=key):
            irs.Config.from_env(bad)


def test_fetch_ranges_refuses_other_urls():
    with pytest.raises(ValueError, match="refusing"):
        irs.fetch_ranges("https://example.com/ip-ranges.json")


def test_fetch_ranges_refuses_redirects():
    # urllib would follow a 30x anywhere; the handler the opener uses refuses instead.
    handler = next(h for h in irs._OPENER.handlers if isinstance(h, irs._NoRedirects))
    request = urllib.request.Request(irs.IP_RANGES_URL)
    with pytest.raises(ValueError, match="refusing redirect 302"):
        handler.redirect_request(request, None, 302, "Found", {}, "https://evil.example/x.json")
    assert not any(type(h) is urllib.request.HTTPRedirectHandler for h in irs._OPENER.handlers)


@pytest.mark.parametrize("collapse", [False, True])
def test_cli_list_matches_selection(capsys, collapse):
    path = require_fixture(*NEW)
    data = json.loads(path.read_bytes())
    services, regions = {"API_GATEWAY", "CLOUDFRONT"}, {"eu-west-1", "GLOBAL"}
    nets4 = {
        ipaddress.ip_network(p["ip_prefix"])
        for p in data["prefixes"]
        if p["service"] in services and p["region"] in regions
    }
    nets6 = {
        ipaddress.ip_network(p["ipv6_prefix"])
        for p in data["ipv6_prefixes"]
        if p["service"] in services and p["region"] in regions
    }
    if collapse:
        nets4, nets6 = (
            set(ipaddress.collapse_addresses(nets4)),
            set(ipaddress.collapse_addresses(nets6)),
        )
    argv = ["list", "--service", "API_GATEWAY", "--service", "CLOUDFRONT", "--region", "eu-west-1"]
    argv += ["--region", "GLOBAL", "--file", str(path), "--ipv6"] + (
        ["--collapse"] if collapse else []
    )
    assert irs.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(set(lines))
    assert set(lines) == {str(n) for n in nets4 | nets6}


def test_cli_as_module_without_ipv6():
    path = require_fixture(*OLD)
    want = {
        p["ip_prefix"]
        for p in json.loads(path.read_bytes())["prefixes"]
        if p["service"] == "API_GATEWAY"
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "handlers.ip_range_sync",
            "list",
            "--service",
            "API_GATEWAY",
            "--file",
            str(path),
        ],
        cwd=Path(REPO_ROOT),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert set(out.split()) == want and len(out.split()) == len(want)


# --------------------------------------------------------------------------- CLI errors (12.10)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_list_without_network_prints_one_line_and_fails():
    """No network (here: an HTTPS proxy on a closed local port): one line, exit 1, no trace."""
    proxy = f"http://127.0.0.1:{_closed_port()}"
    env = {**os.environ, "HTTPS_PROXY": proxy, "https_proxy": proxy, "NO_PROXY": "", "no_proxy": ""}
    out = subprocess.run(
        [sys.executable, "-m", "handlers.ip_range_sync", "list", "--service", "CLOUDFRONT"],
        cwd=Path(REPO_ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and out.stdout == ""
    assert "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot read {irs.IP_RANGES_URL}: ")
    assert "--file" in line


@pytest.mark.parametrize(
    "failure",
    [
        urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")),
        TimeoutError("timed out"),
        ValueError("refusing redirect 302 from x to 'y'"),
    ],
    ids=["urlerror", "timeout", "redirect"],
)
def test_cli_list_download_failures_are_one_line(monkeypatch, capsys, failure):
    def failing_open(*args, **kwargs):
        raise failure

    monkeypatch.setattr(irs._OPENER, "open", failing_open)
    assert irs.main(["list", "--service", "CLOUDFRONT"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: cannot read https://")


def test_cli_list_bad_file_is_one_line(tmp_path, capsys):
    assert irs.main(["list", "--service", "EC2", "--file", str(tmp_path / "missing.json")]) == 1
    assert capsys.readouterr().err.startswith(f"error: cannot read {tmp_path / 'missing.json'}")
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "syncToken": "1",
                "prefixes": [{"ip_prefix": "1.2.3.4/40", "service": "EC2", "region": "x"}],
            }
        )
    )
    assert irs.main(["list", "--service", "EC2", "--file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ip-ranges document is malformed") and len(err.splitlines()) == 1
