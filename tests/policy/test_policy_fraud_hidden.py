"""The fraud thresholds are for operators: a user or a platform key reading the policy in force
does not learn how far under them it can stay."""

from __future__ import annotations

from tests.api.conftest import Api


def test_fraud_thresholds_are_shown_to_admin_keys_only(api: Api) -> None:
    api.create_users("vi")
    for headers in (api.user("vi"), api.platform()):
        document = api.client.get("/v1/policy", headers=headers).json()
        assert "fraud" not in document
        assert document["gifts"]["creator_share_percent"] == 50
    admin = api.client.get("/v1/policy", headers=api.admin()).json()
    assert admin["fraud"]["shared_fingerprint"]["min_users"] >= 2
