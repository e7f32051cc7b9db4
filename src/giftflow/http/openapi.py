"""The OpenAPI document, made to tell the truth.

FastAPI's generated document is post-processed once (and again only if the routes change):

- **Security.** Two HTTP bearer schemes, ``ApiKey`` (``gfk_…`` keys with scopes) and
  ``UserToken`` (a user's JWT), so ``/docs`` shows an Authorize button. Each operation's
  requirement is read from its dependency tree, never from a hand-kept list: a route that depends
  (directly or not) on ``get_principal`` is authenticated; ``require_scope(...)`` narrows it to
  API keys with one of those scopes (given as OpenAPI 3.1 role names), ``require_user`` to user
  tokens.
- **Error responses.** A component schema ``Error`` (the one body every failure has) and, for
  each operation, the error statuses it can answer, each with that schema: 401 when
  authenticated; 403 when a dependency checks the principal (``require_scope``,
  ``require_user``) or the endpoint takes the principal itself to check it (a route that names
  the parameter ``_`` does not look at it, so it cannot refuse it); 404 when the path has
  parameters; 400, 409, 503 on value routes; 400, 413, 415 and 422 with a body; 422 with any
  parameter; 500 everywhere. FastAPI's ``HTTPValidationError`` is replaced: the app answers
  validation errors in the ``Error`` body too.
- **Idempotency-Key.** A value route declares the header (``IdempotencyKeyHeader``, optional in
  the signature so the server answers ``400 idempotency_key_required`` itself); here it is marked
  required, with its real length limits.
- **Integer bounds.** FastAPI's OpenAPI models hold ``maximum``/``minimum`` as floats, so
  ``le=100000000000000`` comes out as ``1e14``; every integral bound is written back as an int.
  (A bound above 2**53 has already lost precision in that float: keep bounds below it.)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from giftflow.auth.deps import get_principal, require_scope, require_user
from giftflow.errors import all_error_classes
from giftflow.http.idempotent import MAX_KEY_LENGTH

API_KEY = "ApiKey"
USER_TOKEN = "UserToken"
ERROR = "Error"
IDEMPOTENCY_KEY = "Idempotency-Key"

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    API_KEY: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "gfk_…",
        "description": (
            "An API key (`gfk_…`) for the platform's backend and operators, made with "
            "`giftflow apikey create`. Scopes: `platform` (user profiles, any user's wallet), "
            "`admin` (the value endpoints under /v1/admin)."
        ),
    },
    USER_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "A user's short-lived JWT (HS256, `sub` = user id, at most 15 minutes), signed by "
            "the platform; `giftflow token USER_ID` mints one for demos. It reaches only that "
            "user's own resources."
        ),
    },
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": ERROR,
    "description": "Every failure: a stable `code` (see docs/errors.md), a message, the facts.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "examples": ["insufficient_funds"]},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}

_BOUNDS = ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum")
_FASTAPI_422 = ("HTTPValidationError", "ValidationError")


def _codes(status: int) -> str:
    return ", ".join(f"`{c.code}`" for c in all_error_classes() if c.status == status)


@dataclass(frozen=True, slots=True)
class RouteAuth:
    """Who may call a route, as read from its dependency tree."""

    api_key: bool  # API keys are accepted
    user: bool  # user tokens are accepted
    scopes: tuple[str, ...]  # an API key needs one of these (empty: any key)
    may_forbid: bool  # the route can answer 403

    def security(self) -> list[dict[str, list[str]]]:
        """The operation's ``security``: a list of alternatives."""
        alternatives: list[dict[str, list[str]]] = []
        if self.api_key:
            alternatives += [{API_KEY: [s]} for s in self.scopes] or [{API_KEY: []}]
        if self.user:
            alternatives.append({USER_TOKEN: []})
        return alternatives


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _walk(sub)


def _required_scopes(call: Callable[..., Any] | None) -> tuple[str, ...] | None:
    """The scopes of a dependency made by ``require_scope(...)``, else None."""
    if call is None or not getattr(call, "__qualname__", "").startswith(
        f"{require_scope.__qualname__}.<locals>."
    ):
        return None
    any_of = inspect.getclosurevars(call).nonlocals.get("any_of", ())
    return tuple(str(s) for s in any_of)


def route_auth(dependant: Dependant) -> RouteAuth | None:
    """Who may call the route with this dependency tree; None for a public route."""
    authenticated = False
    api_key = user = True
    scopes: tuple[str, ...] = ()
    may_forbid = False
    for dep in _walk(dependant):
        if dep.call is get_principal:
            authenticated = True
        elif dep.call is require_user:
            api_key, may_forbid = False, True
        elif (required := _required_scopes(dep.call)) is not None:
            user, may_forbid = False, True
            scopes = required
    if not authenticated:
        return None
    if any(d.call is get_principal and d.name != "_" for d in dependant.dependencies):
        may_forbid = True  # the endpoint checks the principal itself
    return RouteAuth(api_key=api_key, user=user, scopes=scopes, may_forbid=may_forbid)


def _is_value_operation(operation: dict[str, Any]) -> bool:
    return any(
        p.get("in") == "header" and str(p.get("name", "")).lower() == IDEMPOTENCY_KEY.lower()
        for p in operation.get("parameters", [])
    )


def _require_idempotency_key(operation: dict[str, Any]) -> None:
    for param in operation.get("parameters", []):
        if param.get("in") == "header" and param["name"].lower() == IDEMPOTENCY_KEY.lower():
            param["required"] = True
            param["schema"] = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH}
            param.setdefault(
                "description",
                "Required on every request that moves value: a unique key per intended effect.",
            )


def _error_statuses(
    operation: dict[str, Any], auth: RouteAuth | None, value: bool
) -> dict[int, str]:
    """The error statuses an operation can answer, each with a description of its codes."""
    params = operation.get("parameters", [])
    body = "requestBody" in operation
    statuses = {500: "`internal_error`" + (" or `ledger_write_failed`" * value) + "."}
    if auth is not None:
        statuses[401] = "`unauthenticated`: missing or invalid credentials."
        if auth.may_forbid:
            statuses[403] = "`forbidden`: these credentials may not do this."
    if any(p.get("in") == "path" for p in params):
        statuses[404] = "`not_found`: no such resource (or not one of yours)."
    if body or value:
        reasons = []
        if body:
            reasons.append("`invalid_json`: the body is not strict JSON (see `details.reason`)")
        if value:
            reasons.append("`idempotency_key_required`")
        statuses[400] = "; ".join(reasons) + "."
    if body:
        statuses[413] = "`request_too_large`: the body passes the maximum request size."
        statuses[415] = "`unsupported_media_type`: the body is not sent as application/json."
    if body or value:
        statuses[422] = "`validation_error` or another input refusal: " + _codes(422) + "."
    elif params:
        statuses[422] = "`validation_error` or another input refusal (see docs/errors.md)."
    if value:
        statuses[409] = "Refused: " + _codes(409) + "."
        statuses[503] = "`overloaded` or `unavailable`: retry after `Retry-After` seconds."
    return statuses


def _error_headers(status: int, value: bool) -> dict[str, Any]:
    if status == 401:
        return {
            "WWW-Authenticate": {
                "description": "Always `Bearer`.",
                "required": True,
                "schema": {"type": "string"},
            }
        }
    if value and status in (409, 503):
        return {
            "Retry-After": {
                "description": "Seconds to wait before retrying (409 only for a key in flight).",
                "required": status == 503,
                "schema": {"type": "string"},
            }
        }
    return {}


def _document_errors(operation: dict[str, Any], auth: RouteAuth | None, value: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}}
    for status, description in _error_statuses(operation, auth, value).items():
        declared = responses.setdefault(str(status), {})
        if not declared.get("description") or declared["description"] == "Validation Error":
            declared["description"] = description
        headers = _error_headers(status, value)
        if headers:
            declared.setdefault("headers", {}).update(headers)
    for key, response in responses.items():
        if key[0] in "45":  # declared by the route or above: every failure has this body
            response["content"] = content
    operation["responses"] = dict(sorted(responses.items()))


def integral_bounds_as_ints(node: Any) -> None:
    """Write every integral ``maximum``/``minimum``/``exclusive*`` bound as an int, in place."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _BOUNDS and isinstance(value, float) and value.is_integer():
                node[key] = int(value)
            else:
                integral_bounds_as_ints(value)
    elif isinstance(node, list):
        for item in node:
            integral_bounds_as_ints(item)


def _is_referenced(document: dict[str, Any], name: str) -> bool:
    """Whether anything but the schema ``name`` itself refers to it."""
    ref = f"#/components/schemas/{name}"
    schemas = document.get("components", {}).get("schemas", {})
    others = {k: v for k, v in schemas.items() if k != name}
    document = {**document, "components": {**document.get("components", {}), "schemas": others}}

    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            return node.get("$ref") == ref or any(walk(v) for v in node.values())
        if isinstance(node, list):
            return any(walk(v) for v in node)
        return False

    return walk(document)


def tell_the_truth(document: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """Post-process FastAPI's ``document`` for ``app``'s routes, in place; returns it."""
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    schemas = components.setdefault("schemas", {})
    schemas[ERROR] = ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = document.get("paths", {})
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or not context.include_in_schema:
            continue
        auth = route_auth(context.dependant)
        for method in context.methods or ():
            operation = paths.get(str(context.path_format), {}).get(method.lower())
            if operation is None:
                continue
            value = _is_value_operation(operation)
            if auth is not None:
                operation["security"] = auth.security()
            if value:
                _require_idempotency_key(operation)
            _document_errors(operation, auth, value)
    for name in _FASTAPI_422:  # HTTPValidationError first: it is what refers to ValidationError
        if name in schemas and not _is_referenced(document, name):
            del schemas[name]
    integral_bounds_as_ints(document)
    return document


def install_openapi(app: FastAPI) -> None:
    """Security schemes, the Idempotency-Key header and the real error body on every route.

    ``app.openapi`` is replaced by a function that post-processes FastAPI's document once; FastAPI
    itself rebuilds its document only when the routes change, and then it is processed again.
    """
    generate = app.openapi
    processed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = generate()
        if not processed or processed[0] is not document:
            processed[:] = [tell_the_truth(document, app)]
        return processed[0]

    app.openapi = openapi  # type: ignore[method-assign]
