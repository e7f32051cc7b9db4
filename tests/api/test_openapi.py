"""The OpenAPI document tells the truth: who may call each operation, the Idempotency-Key header
on value routes, the one error body on every error status, integer bounds as integers.

The document needs no database: the app is built but never started.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from giftflow.api import create_app
from giftflow.auth.deps import get_principal, require_scope, require_user
from giftflow.auth.principal import Principal
from giftflow.http.openapi import (
    API_KEY,
    ERROR,
    USER_TOKEN,
    install_openapi,
    integral_bounds_as_ints,
    route_auth,
)
from giftflow.settings import Settings

METHODS = ("get", "put", "post", "patch", "delete")
BOUNDS = ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(database_url="sqlite:///unused.db", jwt_secret="x" * 40))


@pytest.fixture(scope="module")
def doc(app: FastAPI) -> dict[str, Any]:
    served: dict[str, Any] = TestClient(app).get("/openapi.json").json()  # no lifespan: no db
    return served


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def is_value_route(method: str, path: str) -> bool:
    """Every POST under /v1 moves value (PUT /v1/users/{id} and the GETs do not), except the
    providers' webhooks (their signature authenticates them and the event id deduplicates
    them), the platform's guardian links, the admin item and gift catalogs, starting, ending and
    joining a live, second-factor and payout-method changes (no value moves; each is safe to
    repeat, refused when repeated, or guarded by a single-use code), and an operator's payout
    retry (it re-asks the provider under the withdrawal's own id, which is the idempotency key
    for good), and the operators' bookkeeping: publishing a policy version (a repeat is 409),
    validating one (stores nothing), starting a reconcile (a repeat returns the running one),
    scanning for fraud and resolving a flag (a repeat is 409)."""
    if path.startswith(("/v1/webhooks/", "/v1/guardians/")) or path in (
        "/v1/admin/items",
        "/v1/admin/gifts",
        "/v1/lives",
        "/v1/lives/{live_id}/end",
        "/v1/lives/{live_id}/viewers",
        "/v1/creator/totp",
        "/v1/creator/totp/confirm",
        "/v1/creator/totp/verify",
        "/v1/payout-methods",
        "/v1/admin/withdrawals/{withdrawal_id}/retry",
        "/v1/admin/policies",
        "/v1/admin/policies/validate",
        "/v1/admin/reconcile",
        "/v1/admin/flags/scan",
        "/v1/admin/flags/{flag_id}/resolve",
    ):
        return False
    return method == "POST" and path.startswith("/v1/")


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def test_the_document_is_built_once(app: FastAPI) -> None:
    assert app.openapi() is app.openapi()


def test_bearer_schemes_for_api_keys_and_user_tokens(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert set(schemes) == {API_KEY, USER_TOKEN}
    for scheme in schemes.values():
        assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "gfk_" in schemes[API_KEY]["bearerFormat"]


def test_every_authenticated_operation_references_a_scheme(
    app: FastAPI, doc: dict[str, Any]
) -> None:
    seen = set()
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or not context.include_in_schema:
            continue
        auth = route_auth(context.dependant)
        for method in context.methods or ():
            operation = doc["paths"][context.path_format][method.lower()]
            if auth is None:
                assert "security" not in operation, (method, context.path_format)
                continue
            seen.add(context.path_format)
            security = operation["security"]
            assert security, (method, context.path_format)
            assert all(set(alt) <= {API_KEY, USER_TOKEN} for alt in security)
            assert "401" in operation["responses"]
    assert {"/v1/admin/transfers", "/v1/wallet", "/v1/users/{user_id}", "/v1/policy"} <= seen


def test_security_follows_the_dependencies(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    assert paths["/v1/admin/transfers"]["post"]["security"] == [{API_KEY: ["admin"]}]
    assert paths["/v1/users/{user_id}"]["put"]["security"] == [{API_KEY: ["platform"]}]
    assert paths["/v1/wallet"]["get"]["security"] == [{USER_TOKEN: []}]
    either: list[dict[str, list[str]]] = [{API_KEY: []}, {USER_TOKEN: []}]
    assert paths["/v1/users/{user_id}"]["get"]["security"] == either
    assert paths["/v1/policy"]["get"]["security"] == either
    assert "403" not in paths["/v1/policy"]["get"]["responses"]  # any credential may read it
    assert "403" in paths["/v1/users/{user_id}"]["get"]["responses"]  # the route checks scopes
    assert "security" not in paths["/healthz"]["get"]


def test_route_auth_is_read_from_the_dependency_tree() -> None:
    app = FastAPI()

    @app.get("/either")
    def either(_: Principal = Depends(get_principal)) -> None: ...

    @app.get("/checked")
    def checked(principal: Principal = Depends(get_principal)) -> None: ...

    @app.get("/keys", dependencies=[Depends(require_scope("a", "b"))])
    def keys() -> None: ...

    @app.get("/users")
    def users(principal: Principal = Depends(require_user)) -> None: ...

    @app.get("/public")
    def public() -> None: ...

    install_openapi(app)
    paths = app.openapi()["paths"]
    assert paths["/either"]["get"]["security"] == [{API_KEY: []}, {USER_TOKEN: []}]
    assert "403" not in paths["/either"]["get"]["responses"]
    assert "403" in paths["/checked"]["get"]["responses"]
    assert paths["/keys"]["get"]["security"] == [{API_KEY: ["a"]}, {API_KEY: ["b"]}]
    assert paths["/users"]["get"]["security"] == [{USER_TOKEN: []}]
    assert "security" not in paths["/public"]["get"]
    assert set(paths["/public"]["get"]["responses"]) == {"200", "500"}


def test_every_error_status_has_the_error_body(doc: dict[str, Any]) -> None:
    error = doc["components"]["schemas"][ERROR]
    assert error["required"] == ["error"]
    assert set(error["properties"]["error"]["properties"]) == {"code", "message", "details"}
    for method, path, operation in operations(doc):
        assert "500" in operation["responses"], (method, path)
        for status, response in operation["responses"].items():
            if status[0] in "45":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": f"#/components/schemas/{ERROR}"}, (method, path, status)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert "ValidationError" not in doc["components"]["schemas"]


def test_error_statuses_follow_what_the_route_takes(doc: dict[str, Any]) -> None:
    for method, path, operation in operations(doc):
        statuses = set(operation["responses"])
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
        if is_value_route(method, path):
            assert {"400", "409", "503"} <= statuses, (method, path)
            assert operation["responses"]["503"]["headers"]["Retry-After"]["required"] is True
        if "401" in statuses:
            assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]["required"]


def test_idempotency_key_is_required_on_every_value_route(doc: dict[str, Any]) -> None:
    value_routes = []
    for method, path, operation in operations(doc):
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        if is_value_route(method, path):
            value_routes.append(path)
            key = headers.get("Idempotency-Key")
            assert key is not None, (method, path)
            assert key["required"] is True and key["description"]
            assert key["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}
        else:
            assert "Idempotency-Key" not in headers, (method, path)
    assert {"/v1/admin/transfers", "/v1/admin/pending-transfers"} <= set(value_routes)


def test_no_float_bound_anywhere(doc: dict[str, Any]) -> None:
    bounds = [(key, value) for key, value in walk(doc) if key in BOUNDS]
    assert ("maximum", 100) in bounds  # the limit of GET /v1/transactions
    for key, value in bounds:
        if isinstance(value, dict):  # a property that happens to be called "maximum"
            continue
        assert isinstance(value, int) and not isinstance(value, bool), (key, value)
        # a float has 53 bits: a larger bound may have been rounded before it became an int
        assert abs(value) <= 2**53, (key, value)


def test_integral_bounds_are_converted_in_general() -> None:
    node: dict[str, Any] = {
        "maximum": 1e14,
        "exclusiveMinimum": 0.0,
        "minimum": -3.0,
        "exclusiveMaximum": 2.5,  # not integral: kept
        "properties": {"maximum": {"type": "number", "maximum": 9.0}},  # a field named maximum
        "anyOf": [{"minimum": 1.0}, {"multipleOf": 2.0}],
    }
    integral_bounds_as_ints(node)
    assert node == {
        "maximum": 100_000_000_000_000,
        "exclusiveMinimum": 0,
        "minimum": -3,
        "exclusiveMaximum": 2.5,
        "properties": {"maximum": {"type": "number", "maximum": 9}},
        "anyOf": [{"minimum": 1}, {"multipleOf": 2.0}],
    }
    # == cannot tell 9 from 9.0: check the types
    converted = [v for k, v in walk(node) if k in BOUNDS and not isinstance(v, dict)]
    assert [type(v) for v in converted] == [int, int, int, float, int, int]
