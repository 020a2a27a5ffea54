"""handlers/ip_range_sync: moto for EC2 / S3 / WAFv2, the real ip-ranges.json versions as input.

Expected sets are computed here from the JSON files with a plain comprehension and
``ipaddress.collapse_addresses``; nothing is hard-coded. moto completes prefix-list modifications at
once and ignores ``MaxEntries`` changes, so those parts run against ``FakePrefixListEc2`` below.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from handlers import ip_range_sync as irs
from tests.fixtures_path import REPO_ROOT, require_fixture

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
    """Write calls in order, seen through botocore's before-parameter-build hook."""

    def __init__(self, *clients) -> None:
        self.calls: list[tuple[str, dict]] = []
        for client in clients:
            client.meta.events.register("before-parameter-build", self._hook)

    def _hook(self, params, model, **_):
        if model.name in WRITE_OPS:
            self.calls.append((model.name, copy.deepcopy(params)))

    def ops(self, name: str | None = None) -> list[tuple[str, dict]]:
        return [c for c in self.calls if name is None or c[0] == name]

    def clear(self) -> None:
        self.calls.clear()


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

    result = run(env, cfg, body, fetched)
    assert result["outcome"] == "refused" and env.rec.ops() == []
    assert fetched.urls == [irs.IP_RANGES_URL]  # the message token alone refused it

    # Without the S3 state the token check cannot refuse: the diff against live state is empty.
    env.s3.delete_object(Bucket=BUCKET, Key=irs.DEFAULT_STATE_KEY)
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
        fetched.body = old
        assert irs.run(sns_event(old), cfg, env.clients)["outcome"] == "refused"
        assert fetched.urls == []
    else:  # the message says nothing about the token: the document's own syncToken refuses it
        fetched.body = old
        result = irs.run(sns_event(old, synctoken=""), cfg, env.clients)
        assert result["outcome"] == "refused" and fetched.urls == [irs.IP_RANGES_URL]

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
    assert run(env, cfg, body, fetched, event={})["outcome"] == "refused"


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
    real_modify = env.ec2.modify_managed_prefix_list

    def modify_then_other_run_finishes(**kwargs):
        response = real_modify(**kwargs)
        irs.write_state(env.s3, BUCKET, irs.DEFAULT_STATE_KEY, new, irs.parse_document(new))
        return response

    monkeypatch.setattr(env.ec2, "modify_managed_prefix_list", modify_then_other_run_finishes)
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
