"""Liveness, readiness and metrics."""

from __future__ import annotations

from tests.api.conftest import SECRET, Api


def test_healthz_and_metrics(api: Api) -> None:
    assert api.client.get("/healthz").json()["status"] == "ok"
    api.grant("user:m:coins", 1, "g")
    text = api.client.get("/metrics").text
    assert 'giftflow_writer_commands_total{outcome="ok"}' in text
    assert 'route="/v1/admin/transfers",status="201"' in text


def test_readyz_is_503_until_migrations_are_current(tmp_path: object) -> None:
    from pathlib import Path

    from fastapi.testclient import TestClient

    from giftflow.api import create_app
    from giftflow.db import migrate
    from giftflow.settings import Settings

    url = f"sqlite:///{Path(str(tmp_path)) / 'fresh.db'}"
    settings = Settings(database_url=url, jwt_secret=SECRET, pending_sweep_seconds=0)
    with TestClient(create_app(settings)) as client:
        r = client.get("/readyz")
        assert r.status_code == 503
        body = r.json()["error"]
        assert body["code"] == "not_ready"
        assert body["details"]["checks"]["migrations"].startswith("at None, head is 00")
        migrate(url)
        assert client.get("/readyz").json()["status"] == "ready"
