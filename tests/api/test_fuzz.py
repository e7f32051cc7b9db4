"""Schemathesis generates requests from the OpenAPI document: whatever arrives, giftflow answers
with a clear error or a success, never a 5xx, and the books still reconcile afterwards."""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case

from giftflow.db import make_engine
from giftflow.ledger.reconcile_repository import reconcile

from .conftest import Api


def check_operation(api: Api, operation: object) -> None:
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())  # type: ignore[attr-defined]
    def run(case: Case[Any]) -> None:
        for headers in (api.admin(), api.user("fuzz")):
            kwargs = case.as_transport_kwargs(
                base_url="http://testserver",
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            )
            response = api.client.request(**kwargs)
            assert response.status_code < 500, (case.method, case.path, response.text)
            if response.status_code >= 400:
                assert set(response.json()["error"]) == {"code", "message", "details"}

    run()


def test_generated_requests_never_cause_server_errors(api: Api, database_url: str) -> None:
    api.grant("user:fuzz:coins", 1000, "seed")
    schema = schemathesis.openapi.from_dict(api.client.get("/openapi.json").json())
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err would raise here
        labels.append(operation.label)
        check_operation(api, operation)
    assert "POST /v1/admin/transfers" in labels and "PUT /v1/users/{user_id}" in labels
    engine = make_engine(database_url, pool_size=1)
    try:
        assert reconcile(engine).differences == []
    finally:
        engine.dispose()
