"""GET /v1/policy: the policy in force, as one response model."""

from __future__ import annotations

from tests.api.conftest import Api


def test_policy_endpoint_serves_the_configured_profile(api: Api) -> None:
    policy = api.client.get("/v1/policy", headers=api.user("u")).json()
    assert policy["label"] == "standard@1"
    assert policy["gifts"]["creator_share_percent"] == 50
    assert policy["exchange"] == {
        "enabled": True,
        "regions": None,
        "diamond_hundredths": 1200,
        "coins": 5,
    }
    assert api.client.get("/v1/policy").status_code == 401
    assert policy["object"] == "policy"
    assert policy["effective_from"] == "2026-01-01T00:00:00Z"
