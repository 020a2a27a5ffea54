"""ipRangeSync.shareWith: a RAM resource share of the synced prefix lists.

One share, one resource association per synced list, one principal association per principal,
external principals only when the config says so; and the config errors, each before any
resource and naming its key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.graph import IP_RANGE_SYNC_COMPONENT as COMPONENT
from tests.graph import PREFIX_LIST
from tools.synth import Resource, Synth, load_stack_file

ROOT = Path(__file__).resolve().parent.parent
SHARE = "aws:ram/resourceShare:ResourceShare"
RESOURCE_ASSOCIATION = "aws:ram/resourceAssociation:ResourceAssociation"
PRINCIPAL_ASSOCIATION = "aws:ram/principalAssociation:PrincipalAssociation"

ACCOUNT = "444455556666"
ORGANIZATION = "arn:aws:organizations::111122223333:organization/o-exampleorgid"
OU = "arn:aws:organizations::111122223333:ou/o-exampleorgid/ou-ab12-34cd56ef"
OTHER_OU = "arn:aws:organizations::999999999999:ou/o-otherorgid99/ou-ab12-34cd56ef"


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def shared(share_with: list[str], **options: Any) -> dict[str, Any]:
    """A selection AWS keeps no list of (so the lists are synced, and shareable)."""
    return {
        "ipRangeSync": {
            "enabled": True,
            "services": ["API_GATEWAY"],
            "regions": ["eu-west-1"],
            "targets": ["prefixList"],
            "shareWith": share_with,
            **options,
        }
    }


def ours(result: Synth, type_: str) -> list[Resource]:
    component = result.one(COMPONENT)
    return [r for r in result.children_of(component) if r.type == type_]


def test_share_holds_every_synced_list_for_every_principal(synth) -> None:
    principals = [ORGANIZATION, OU, ACCOUNT]
    result = synth(shared(principals, allowExternalPrincipals=True))
    (share,) = ours(result, SHARE)
    assert share.inputs["allowExternalPrincipals"] is True
    assert share.region is None  # the stack's region, where the lists are
    lists = ours(result, PREFIX_LIST)
    assert len(lists) == 2  # IPv4 and IPv6
    resources = ours(result, RESOURCE_ASSOCIATION)
    assert sorted(r.inputs["resourceArn"] for r in resources) == sorted(
        pl.outputs["arn"] for pl in lists
    )
    associations = ours(result, PRINCIPAL_ASSOCIATION)
    assert sorted(a.inputs["principal"] for a in associations) == sorted(principals)
    for association in [*resources, *associations]:
        assert association.inputs["resourceShareArn"] == share.outputs["arn"]
        assert result.depends_on(association, share)
    assert result.outputs["ipRangeSync"]["resourceShareArn"] == share.outputs["arn"]


def test_external_principals_stay_off_unless_the_config_says_so(synth) -> None:
    result = synth(shared([ORGANIZATION, ACCOUNT]))
    (share,) = ours(result, SHARE)
    assert share.inputs["allowExternalPrincipals"] is False


def test_removing_a_principal_leaves_the_other_associations_alone(synth) -> None:
    def by_name(principals: list[str]) -> dict[str, str]:
        result = synth(shared(principals))
        return {a.name: a.inputs["principal"] for a in ours(result, PRINCIPAL_ASSOCIATION)}

    before = by_name([ORGANIZATION, OU, ACCOUNT])
    after = by_name([ORGANIZATION, ACCOUNT])
    # The same logical name for the same principal: no re-association (and no gap in access).
    assert after == {name: p for name, p in before.items() if p != OU}


def test_ipv4_only_shares_one_list(synth) -> None:
    result = synth(shared([ACCOUNT], ipv6=False, allowExternalPrincipals=True))
    (only,) = ours(result, PREFIX_LIST)
    (association,) = ours(result, RESOURCE_ASSOCIATION)
    assert association.inputs["resourceArn"] == only.outputs["arn"]


def test_no_share_without_share_with(synth) -> None:
    result = synth(shared([]))
    assert ours(result, SHARE) == [] and ours(result, PRINCIPAL_ASSOCIATION) == []
    assert "resourceShareArn" not in result.outputs["ipRangeSync"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (shared(["12345"]), "ipRangeSync.shareWith[0]: '12345' is not a 12-digit account id"),
        (
            shared([ACCOUNT, "arn:aws:iam::111122223333:root"]),
            "ipRangeSync.shareWith[1]: 'arn:aws:iam::111122223333:root' is not",
        ),
        (shared([OU.upper()]), "ipRangeSync.shareWith[0]"),
        (shared([ORGANIZATION + "\n"]), "ipRangeSync.shareWith[0]"),
        (shared(["\uff14" * 12]), "ipRangeSync.shareWith[0]"),  # full-width digits
        (shared([ACCOUNT, ACCOUNT]), "ipRangeSync.shareWith: duplicate principal"),
        (
            shared([ORGANIZATION, OTHER_OU]),
            "ipRangeSync.shareWith[1]: o-otherorgid99 is not the organization of [0]",
        ),
        (
            {
                "ipRangeSync": {
                    **shared([ACCOUNT])["ipRangeSync"],
                    "targets": ["wafIpSet"],
                }
            },
            "ipRangeSync.shareWith: RAM shares the prefix lists, and targets has no prefixList",
        ),
        (
            # The whole CloudFront selection with auto: AWS's lists, which no one can share.
            {
                "ipRangeSync": {
                    "enabled": True,
                    "services": ["CLOUDFRONT"],
                    "shareWith": [ACCOUNT],
                }
            },
            "ipRangeSync.shareWith: with managedPrefixList: auto this CLOUDFRONT selection",
        ),
        (
            shared([ORGANIZATION, OU], allowExternalPrincipals=True),
            "ipRangeSync.allowExternalPrincipals: only an account can be outside",
        ),
    ],
    ids=[
        "short-account",
        "iam-arn",
        "uppercase-ou",
        "trailing-newline",
        "full-width-digits",
        "duplicate",
        "two-organizations",
        "no-prefix-list",
        "aws-managed-lists",
        "external-without-account",
    ],
)
def test_bad_share_config_fails_before_any_resource(synth_error, config, message) -> None:
    assert message in synth_error(config)


def test_the_example_shares_both_lists_with_its_principals(synth) -> None:
    config = load_stack_file(ROOT / "examples" / "ip-range-sync-shared.yaml")
    result = synth(config)
    settings = config["lambda-exposure:ipRangeSync"]
    (share,) = ours(result, SHARE)
    assert share.inputs["allowExternalPrincipals"] is settings["allowExternalPrincipals"]
    assert sorted(a.inputs["principal"] for a in ours(result, PRINCIPAL_ASSOCIATION)) == sorted(
        settings["shareWith"]
    )
    assert len(ours(result, RESOURCE_ASSOCIATION)) == 2
