"""Every response matches the OpenAPI document: its status is documented for the operation, its
body matches that status's schema, its content type and required headers are the documented ones.

Schemathesis checks it two ways: generated requests for every operation (a few examples each, to
keep CI short), and a fixed tour of requests that reach each success and each kind of refusal.
The credentials follow each operation's documented ``security``, so a 401 or 403 there would mean
the document names the wrong credential.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from giftflow.http.openapi import API_KEY

from .conftest import Api

CHECKS = [
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]
USER = "conform"
# per operation and database, kept small for CI (the fuzz test covers breadth); raise it locally
EXAMPLES = int(os.environ.get("GIFTFLOW_CONFORMANCE_EXAMPLES", "6"))


def credentials(api: Api, operation: Any) -> dict[str, str]:
    """Headers for the first credential the operation's document accepts."""
    security = operation.definition.raw.get("security")
    if not security:
        return {}
    first = security[0]
    if API_KEY in first:
        return api.platform() if first[API_KEY] == ["platform"] else api.admin()
    return api.user(USER)


def is_value(operation: Any) -> bool:
    return any(
        p.get("name") == "Idempotency-Key" for p in operation.definition.raw.get("parameters", [])
    )


def send(api: Api, case: Case[Any], headers: dict[str, str]) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    response: httpx.Response = api.client.request(**kwargs)
    case.validate_response(response, checks=CHECKS, headers=headers)
    return response


def check_generated(api: Api, operation: Any, mode: GenerationMode) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case[Any]) -> None:
        headers = credentials(api, operation)
        if is_value(operation) and mode is GenerationMode.POSITIVE:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        response = send(api, case, headers)
        if mode is GenerationMode.POSITIVE:  # negative cases may drop the credentials on purpose
            assert response.status_code not in (401, 403), (operation.label, response.text)

    run()


@pytest.fixture
def schema(api: Api) -> Any:
    api.grant(f"user:{USER}:coins", 1000, "conform-seed")  # creates the user first
    return schemathesis.openapi.from_dict(api.client.get("/openapi.json").json())


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_requests_get_documented_responses(
    api: Api, schema: Any, mode: GenerationMode
) -> None:
    """Positive cases follow the document; negative ones break it (a wrong type, a missing
    required header such as Idempotency-Key, ...) and must get a documented refusal."""
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        raw = operation.definition.raw
        if mode is GenerationMode.NEGATIVE and not (raw.get("parameters") or "requestBody" in raw):
            continue  # nothing in the request to break
        labels.append(operation.label)
        check_generated(api, operation, mode)
    assert "POST /v1/admin/transfers" in labels and "GET /v1/admin/balances" in labels


class Tour:
    """Fixed requests through schemathesis cases, each validated against the document."""

    def __init__(self, api: Api, schema: Any) -> None:
        self.api = api
        self.schema = schema

    def __call__(
        self,
        label: str,
        expected: int,
        *,
        headers: dict[str, str] | None = None,
        idem: str | None = None,
        raw_body: str | None = None,
        **case: Any,
    ) -> dict[str, Any]:
        method, path = label.split(" ", 1)
        operation = self.schema[path][method]
        sent = credentials(self.api, operation) if headers is None else dict(headers)
        if idem is not None:
            sent["Idempotency-Key"] = idem
        made = operation.Case(**case)
        if raw_body is None:
            response = send(self.api, made, sent)
        else:  # a body no generator would write: send it as is, validate what comes back
            kwargs = made.as_transport_kwargs(base_url="http://testserver", headers=sent)
            kwargs.pop("json", None)
            kwargs["content"] = raw_body
            kwargs["headers"]["Content-Type"] = "application/json"
            response = self.api.client.request(**kwargs)
            made.validate_response(response, checks=CHECKS, headers=sent)
        assert response.status_code == expected, (label, response.status_code, response.text)
        body: dict[str, Any] = response.json()
        return body


def test_a_tour_of_successes_and_refusals(api: Api, schema: Any) -> None:
    tour = Tour(api, schema)
    user = {"user_id": USER}
    grant = {
        "postings": [
            {
                "source": "platform:equity:grants",
                "destination": f"user:{USER}:coins",
                "asset": "COIN",
                "amount": 70,
            }
        ],
        "memo": "tour",
        "metadata": {"ticket": "T-1"},
    }
    # successes
    tour("GET /healthz", 200)
    tour("GET /readyz", 200)
    tour("GET /v1/policy", 200)
    tour("PUT /v1/users/{user_id}", 201, path_parameters={"user_id": "tour-2"}, body={})
    tour("PUT /v1/users/{user_id}", 200, path_parameters=user, body={"region": "US"})
    tour("GET /v1/users/{user_id}", 200, path_parameters=user)
    txn = tour("POST /v1/admin/transfers", 201, idem="tour-1", body=grant)
    tour("POST /v1/admin/transfers", 201, idem="tour-1", body=grant)  # replayed
    tour("GET /v1/admin/transactions/{txn_id}", 200, path_parameters={"txn_id": txn["id"]})
    tour("GET /v1/wallet", 200)
    tour("GET /v1/users/{user_id}/wallet", 200, path_parameters=user)
    tour("GET /v1/transactions", 200, query={"limit": 1})
    tour("GET /v1/admin/balances", 200, query={"path": f"user:{USER}:coins"})
    reverse = "POST /v1/admin/transactions/{txn_id}/reverse"
    tour(reverse, 201, idem="tour-2", path_parameters={"txn_id": txn["id"]}, body={"memo": "r"})
    pending_body = {
        "source": f"user:{USER}:coins",
        "destination": "platform:revenue:gifts",
        "asset": "COIN",
        "amount": 5,
    }
    for action, idem in (("post", "tour-3"), ("void", "tour-4")):
        pending = tour("POST /v1/admin/pending-transfers", 201, idem=idem, body=pending_body)
        ids = {"pending_id": pending["id"]}
        tour("GET /v1/admin/pending-transfers/{pending_id}", 200, path_parameters=ids)
        one_route = "/v1/admin/pending-transfers/{pending_id}/{action}"
        if one_route in schema.raw_schema["paths"]:
            label, ids = f"POST {one_route}", {**ids, "action": action}
        else:  # one route per action
            label = f"POST /v1/admin/pending-transfers/{{pending_id}}/{action}"
        tour(label, 200, idem=f"{idem}-{action}", path_parameters=ids)

    # refusals, each with the Error body of its documented status
    tour("GET /v1/wallet", 401, headers={})
    tour("GET /v1/wallet", 403, headers=api.admin())
    tour("POST /v1/admin/transfers", 403, headers=api.user(USER), idem="t", body=grant)
    tour("GET /v1/users/{user_id}", 404, headers=api.user(USER), path_parameters={"user_id": "x"})
    tour("GET /v1/admin/transactions/{txn_id}", 404, path_parameters={"txn_id": "999999"})
    tour("POST /v1/admin/transfers", 400, idem=None, body=grant)
    tour("POST /v1/admin/transfers", 400, idem="t-dup", raw_body='{"memo": 1, "memo": 2}')
    tour("POST /v1/admin/transfers", 413, idem="t-big", raw_body=json.dumps({"m": "x" * 70000}))
    tour("POST /v1/admin/transfers", 409, idem="tour-1", body={**grant, "memo": "other"})
    tour(reverse, 409, idem="tour-5", path_parameters={"txn_id": txn["id"]}, body={})
    tour("POST /v1/admin/transfers", 422, idem="t-422", body={"postings": []})
    tour("GET /v1/admin/balances", 422, query={"path": "nope"})
