"""The ``giftflow`` command: serve, migrate, reconcile, policy check, apikey create, token."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from giftflow.settings import get_settings

app = typer.Typer(help="giftflow: a ledger-grade virtual-gift economy.", no_args_is_help=True)
policy_app = typer.Typer(help="Economy policy documents.", no_args_is_help=True)
apikey_app = typer.Typer(help="Platform API keys.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(apikey_app, name="apikey")
console = Console()
err = Console(stderr=True)


@contextmanager
def database() -> Iterator[Engine]:
    """An engine on the configured database for one command, disposed afterwards."""
    from giftflow.db import make_engine

    engine = make_engine(get_settings().database_url, pool_size=1)
    try:
        yield engine
    finally:
        engine.dispose()


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="Server processes (PostgreSQL only for > 1)."),
) -> None:
    """Run the HTTP API (and the ledger writer) with uvicorn."""
    import uvicorn

    from giftflow.db import is_sqlite

    settings = get_settings()
    if workers > 1 and is_sqlite(settings.database_url):
        err.print(
            "[red]SQLite allows one server process.[/red] Use --workers 1, or set "
            "GIFTFLOW_DATABASE_URL to a PostgreSQL database to run several."
        )
        raise typer.Exit(2)
    if not settings.jwt_secret:
        err.print("[yellow]GIFTFLOW_JWT_SECRET is not set: user tokens will be refused.[/yellow]")
    uvicorn.run(
        "giftflow.api:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
    )


@app.command()
def migrate(revision: str = typer.Argument("head", help="Alembic revision.")) -> None:
    """Create or upgrade the database schema."""
    from giftflow.db import migrate as run_migrations
    from giftflow.db import migration_status

    url = get_settings().database_url
    run_migrations(url, revision)
    current, head = migration_status(url)
    console.print(f"database at revision [bold]{current}[/bold] (head {head})")


@app.command()
def reconcile() -> None:
    """Rebuild every balance from the postings; exit 1 on any difference."""
    from giftflow.ledger.reconcile import reconcile as run_reconcile

    with database() as engine, console.status("Replaying the ledger…"), engine.connect() as conn:
        report = run_reconcile(conn)
    console.print(
        f"{report.accounts} accounts, {report.transactions} transactions, "
        f"{report.postings} postings"
    )
    if report.clean:
        console.print("[green]clean[/green]: every balance equals its postings; sums are zero.")
        return
    table = Table("check", "subject", "expected", "actual", "message", title="Differences")
    for d in report.differences:
        table.add_row(d.check, d.subject, str(d.expected), str(d.actual), d.message)
    console.print(table)
    console.print(f"[red]{len(report.differences)} difference(s)[/red]")
    raise typer.Exit(1)


@policy_app.command("check")
def policy_check(file: Path = typer.Argument(..., help="Policy document (TOML or JSON).")) -> None:
    """Validate a policy document; print every problem; exit 1 if any."""
    from giftflow.money.policy import check_policy_file

    problems = check_policy_file(file)
    if problems:
        for problem in problems:
            err.print(f"[red]✗[/red] {problem}")
        err.print(f"{file}: {len(problems)} problem(s)")
        raise typer.Exit(1)
    console.print(f"[green]✓[/green] {file} is a valid economy policy")


@policy_app.command("load")
def policy_load(
    file: Path = typer.Argument(..., help="Policy document or shipped profile name."),
) -> None:
    """Store a policy version in the database (versions are immutable)."""
    from giftflow.clock import SystemClock
    from giftflow.db import unit_of_work
    from giftflow.errors import GiftflowError
    from giftflow.money.policy import load_policy, load_profile
    from giftflow.money.repository import store_policy

    try:
        policy = load_policy(file) if file.exists() else load_profile(str(file))
        with database() as engine, unit_of_work(engine) as conn:
            created = store_policy(conn, policy, SystemClock().now())
    except GiftflowError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    state = "stored" if created else "already stored"
    console.print(f"{policy.version_label} {state} (effective {policy.effective_from.isoformat()})")


@policy_app.command("list")
def policy_list() -> None:
    """Shipped profiles and the versions stored in the database."""
    from giftflow.money.policy import list_profiles
    from giftflow.money.repository import stored_versions

    console.print("shipped profiles: " + ", ".join(list_profiles()))
    with database() as engine, engine.connect() as conn:
        rows = stored_versions(conn)
    table = Table("policy", "version", "effective from", title="stored versions")
    for policy_id, version, effective in rows:
        table.add_row(policy_id, str(version), str(effective))
    console.print(table)


@apikey_app.command("create")
def apikey_create(
    name: str = typer.Option(..., help="Who or what the key is for."),
    scope: list[str] = typer.Option(["platform"], help="admin and/or platform (repeatable)."),
) -> None:
    """Create an API key and print it once (only its SHA-256 digest is stored)."""
    from giftflow.auth.apikeys import create_api_key
    from giftflow.clock import SystemClock
    from giftflow.db import unit_of_work
    from giftflow.errors import GiftflowError

    try:
        with database() as engine, unit_of_work(engine) as conn:
            plaintext, record = create_api_key(conn, name, set(scope), SystemClock().now())
    except GiftflowError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    err.print(f"key {record.prefix}… for {name!r} with scopes {sorted(record.scopes)}")
    print(plaintext)


@apikey_app.command("list")
def apikey_list() -> None:
    """Every API key: prefix, name, scopes, created, revoked."""
    from giftflow.auth.apikeys import list_api_keys

    with database() as engine, engine.connect() as conn:
        rows = list_api_keys(conn)
    table = Table("prefix", "name", "scopes", "created", "revoked", title="API keys")
    for prefix, name, scopes, created, revoked in rows:
        table.add_row(prefix, name, scopes, str(created), str(revoked or ""))
    console.print(table)


@apikey_app.command("revoke")
def apikey_revoke(prefix: str = typer.Argument(..., help="The key's prefix, as listed.")) -> None:
    """Revoke a key (servers forget it within 30 seconds)."""
    from giftflow.auth.apikeys import revoke_api_key
    from giftflow.clock import SystemClock
    from giftflow.db import unit_of_work

    with database() as engine, unit_of_work(engine) as conn:
        count = revoke_api_key(conn, prefix, SystemClock().now())
    if not count:
        err.print(f"[red]No live key with prefix {prefix!r}.[/red]")
        raise typer.Exit(1)
    console.print(f"revoked {count} key(s) with prefix {prefix}")


@app.command()
def token(
    user_id: str = typer.Argument(..., help="The platform's user id."),
    ttl: int = typer.Option(900, help="Lifetime in seconds."),
) -> None:
    """Mint a short-lived user token (for demos and tests; platforms sign their own)."""
    from giftflow.auth.tokens import mint_user_token
    from giftflow.clock import SystemClock

    settings = get_settings()
    if not settings.jwt_secret:
        err.print("[red]GIFTFLOW_JWT_SECRET is not set.[/red]")
        raise typer.Exit(2)
    print(mint_user_token(user_id, settings.jwt_secret, SystemClock().now(), ttl))


def main() -> None:  # pragma: no cover
    sys.exit(app())
