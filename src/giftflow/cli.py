"""The ``giftflow`` command: serve, migrate, demo, simulate, reconcile, policy, apikey, token.

Commands that read or write data open the database through ``database()``, which refuses, in one
line on stderr and exit code 2, a database that does not exist, is not migrated to the code's
head revision, or cannot be reached; it never creates a SQLite file (only ``migrate`` does).
Usage errors (a bad user id, a token lifetime over the maximum, a missing ``--scope``) are one
line on stderr and exit code 2 as well.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

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


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` as one line on stderr (never wrapped, no markup) and exit with ``code``."""
    err.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def describe_database(url: str) -> str:
    """Where ``url`` points, for messages: a SQLite file's absolute path, else the masked URL."""
    from sqlalchemy.engine import make_url

    from giftflow.db import sqlite_path

    path = sqlite_path(url)
    if path is not None:
        return str(path.resolve())
    return make_url(url).render_as_string(hide_password=True)


def database_url() -> str:
    """The configured database URL, checked: one that SQLAlchemy cannot parse or whose dialect or
    driver is not installed ends the command with one line and exit code 2 (not a traceback)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from giftflow.db import normalise_url

    url = get_settings().database_url
    try:
        make_url(normalise_url(url)).get_dialect().import_dbapi()
    except ArgumentError as exc:  # NoSuchModuleError included: an unknown dialect or driver
        fail(f"GIFTFLOW_DATABASE_URL is not a usable database URL: {_first_line(exc)}")
    except ImportError as exc:  # a dialect giftflow knows of, with no driver installed
        fail(f"GIFTFLOW_DATABASE_URL needs a driver that is not installed: {_first_line(exc)}")
    return url


def _revision_known(url: str, revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from giftflow.db import alembic_config

    try:
        return ScriptDirectory.from_config(alembic_config(url)).get_revision(revision) is not None
    except CommandError:
        return False


@contextmanager
def database() -> Iterator[Engine]:
    """An engine on the configured, migrated database for one command, disposed afterwards.

    Never creates a database: a SQLite file that does not exist, a database whose migrations are
    not at head, or one that cannot be reached ends the command with one line and exit code 2.
    """
    from sqlalchemy.exc import DBAPIError

    from giftflow.db import is_sqlite, make_engine, migration_status, sqlite_path

    url = database_url()
    where = describe_database(url)
    path = sqlite_path(url)
    not_migrated = f"database not migrated: run giftflow migrate (database: {where})"
    if path is not None and not path.is_file():
        fail(not_migrated)
    if is_sqlite(url) and path is None:
        fail(not_migrated)  # an in-memory database is empty by definition
    engine = make_engine(url, pool_size=1)
    try:
        try:
            current, head = migration_status(url, engine)
        except DBAPIError as exc:
            fail(f"cannot connect to the database: {_first_line(exc)} (database: {where})")
        if current is None:
            fail(not_migrated)
        if current != head:
            if _revision_known(url, current):
                fail(
                    f"database not migrated: at revision {current}, head is {head}: "
                    f"run giftflow migrate (database: {where})"
                )
            fail(
                f"database at revision {current}, unknown to this giftflow (head {head}): "
                f"upgrade giftflow (database: {where})"
            )
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
    database_url()  # a URL no engine can be made of: one line, not a failed startup
    if workers > 1 and is_sqlite(settings.database_url):
        err.print(
            "[red]SQLite allows one server process.[/red] Use --workers 1, or set "
            "GIFTFLOW_DATABASE_URL to a PostgreSQL database to run several."
        )
        raise typer.Exit(2)
    if not settings.jwt_secret:
        err.print("[yellow]GIFTFLOW_JWT_SECRET is not set: user tokens will be refused.[/yellow]")
    import os

    os.environ.setdefault("GIFTFLOW_GC_TUNING", "true")  # inherited by every worker process
    uvicorn.run(
        "giftflow.api:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        # open room streams (SSE, WebSocket) would otherwise hold a shutdown forever
        timeout_graceful_shutdown=5,
    )


@app.command()
def migrate(revision: str = typer.Argument("head", help="Alembic revision.")) -> None:
    """Create or upgrade the database schema."""
    from sqlalchemy.exc import DBAPIError

    from giftflow.db import migrate as run_migrations
    from giftflow.db import migration_status

    url = database_url()
    try:
        run_migrations(url, revision)
        current, head = migration_status(url)
    except DBAPIError as exc:
        where = describe_database(url)
        fail(f"cannot connect to the database: {_first_line(exc)} (database: {where})")
    console.print(f"database at revision [bold]{current}[/bold] (head {head})")


@app.command()
def reconcile() -> None:
    """Rebuild every balance from the postings; exit 1 on any difference."""
    from giftflow.ledger.reconcile_repository import reconcile as run_reconcile

    with database() as engine, console.status("Replaying the ledger…"):
        report = run_reconcile(engine)
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


def _policy_problems(file: Path) -> tuple[str, list[str]]:
    """(what was checked, its problems): a path that exists wins over a shipped profile name."""
    from giftflow.errors import InvalidPolicy
    from giftflow.money.policy import check_policy_file, list_profiles, load_profile

    if file.exists():
        if not file.is_file():
            return str(file), [f"(document): {file} is not a file"]
        return str(file), check_policy_file(file)
    name = str(file)
    if name not in list_profiles():
        shipped = ", ".join(list_profiles())
        return name, [f"(document): no such file or shipped profile {name} (shipped: {shipped})"]
    try:
        load_profile(name)
    except InvalidPolicy as exc:
        return f"profile {name}", list(exc.details.get("problems") or [exc.message])
    return f"profile {name}", []


@policy_app.command("check")
def policy_check(
    file: Path = typer.Argument(
        ..., metavar="FILE|PROFILE", help="Policy document (TOML or JSON) or shipped profile name."
    ),
) -> None:
    """Validate a policy document or shipped profile; print every problem; exit 1 if any."""
    label, problems = _policy_problems(file)
    if problems:
        for problem in problems:
            err.print(f"[red]✗[/red] {problem}", markup=True, highlight=False, soft_wrap=True)
        err.print(f"{label}: {len(problems)} problem(s)", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print(
        f"[green]✓[/green] {label} is a valid economy policy", highlight=False, soft_wrap=True
    )


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

    with database() as engine, engine.connect() as conn:
        rows = stored_versions(conn)
    console.print("shipped profiles: " + ", ".join(list_profiles()))
    table = Table("policy", "version", "effective from", title="stored versions")
    for policy_id, version, effective in rows:
        table.add_row(policy_id, str(version), str(effective))
    console.print(table)


@apikey_app.command("create")
def apikey_create(
    name: str = typer.Option(
        ..., help="Who or what the key is for; unique, and never reused after revocation."
    ),
    scope: list[str] | None = typer.Option(
        None, help="admin or platform (required; repeat for both)."
    ),
) -> None:
    """Create an API key and print it once (only its SHA-256 digest is stored)."""
    from giftflow.auth.apikeys import SCOPES, create_api_key
    from giftflow.clock import SystemClock
    from giftflow.db import unit_of_work
    from giftflow.errors import GiftflowError

    choices = ", ".join(sorted(SCOPES))
    if not scope:
        fail(f"--scope is required: one or more of {choices} (repeat --scope for several)")
    unknown = sorted(set(scope) - SCOPES)
    if unknown:
        fail(f"unknown scope {', '.join(unknown)}: --scope must be one of {choices}")
    try:
        with database() as engine, unit_of_work(engine) as conn:
            plaintext, record = create_api_key(conn, name, set(scope), SystemClock().now())
    except GiftflowError as exc:
        fail(exc.message)
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
    ttl: int | None = typer.Option(
        None,
        help="Lifetime in seconds (default GIFTFLOW_JWT_TTL_SECONDS; "
        "at most GIFTFLOW_JWT_MAX_TTL_SECONDS, 900 unless set).",
    ),
) -> None:
    """Mint a short-lived user token (for demos and tests; platforms sign their own)."""
    from giftflow.auth.tokens import TokenRequestInvalid, mint_user_token
    from giftflow.clock import SystemClock
    from giftflow.ids import is_user_id

    settings = get_settings()
    maximum = settings.jwt_max_ttl_seconds
    if not is_user_id(user_id):
        fail(f"invalid user id {user_id!r}: 1-64 characters of A-Z a-z 0-9 _ . -")
    if ttl is None:
        ttl = settings.jwt_ttl_seconds
        if not 1 <= ttl <= maximum:
            fail(
                f"GIFTFLOW_JWT_TTL_SECONDS is {ttl}, outside 1..{maximum} "
                "(GIFTFLOW_JWT_MAX_TTL_SECONDS); pass --ttl"
            )
    elif not 1 <= ttl <= maximum:
        fail(
            f"--ttl must be between 1 and {maximum} seconds, not {ttl} "
            "(the maximum is GIFTFLOW_JWT_MAX_TTL_SECONDS)"
        )
    if not settings.jwt_secret:
        fail("GIFTFLOW_JWT_SECRET is not set.")
    try:
        minted = mint_user_token(
            user_id, settings.jwt_secret, SystemClock().now(), ttl, max_ttl_seconds=maximum
        )
    except TokenRequestInvalid as exc:
        fail(str(exc))
    print(minted)


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Where `giftflow serve` will listen (for URLs)."),
    port: int = typer.Option(8000, help="Its port (for the URLs printed)."),
) -> None:
    """Seed a demo economy (creators, one live, viewers with coins bought in the sandbox) through
    the API, and print the URLs and tokens to try it. Safe to run again."""
    from giftflow.demo import seed, signin_links

    with database():
        pass  # refuses an unmigrated database in one line
    try:
        result = seed(get_settings())
    except RuntimeError as exc:
        fail(str(exc))
    base = f"http://{host}:{port}"
    table = Table(title="giftflow demo", show_header=False)
    table.add_row("live room", f"{base}/live/{result.live_id} (creator ava, on air)")
    table.add_row("watch it", f"curl -N -H 'Accept: text/event-stream' "
                  f"{base}/v1/lives/{result.live_id}/events")  # fmt: skip
    table.add_row("gift as viewer-01", f"curl -X POST {base}/v1/lives/{result.live_id}/gifts "
                  "-H \"Authorization: Bearer $VIEWER\" -H 'Idempotency-Key: my-first-rose' "
                  "-H 'Content-Type: application/json' -d '{\"gift_id\": \"rose\"}'")  # fmt: skip
    table.add_row("simulate", f"giftflow simulate --live {result.live_id} --viewers 50 "
                  f"--rate 200 --duration 30 --url {base}")  # fmt: skip
    table.add_row("API reference", f"{base}/docs")
    table.add_row("viewers", ", ".join(f"{v} ({result.viewer_coins[v]:,} coins)"
                                       for v in result.viewers[:4]) + ", …")  # fmt: skip
    console.print(table)
    settings = get_settings()
    links = signin_links(settings, result, base)
    console.print(
        f"[bold]Sign in to the console[/bold] (links good for {settings.demo_link_minutes} "
        "minutes, on a server started with GIFTFLOW_DEMO_SIGNIN=true, as `make run` does):"
    )
    for who, url in links.items():
        console.print(f"  {who}: {url}", soft_wrap=True, highlight=False)
    if result.totp_secret:
        console.print(
            f"Ava's authenticator secret (for withdrawals): {result.totp_secret} — add it to an "
            'authenticator app, or print a code with: .venv/bin/python -c "import pyotp; '
            f"print(pyotp.TOTP('{result.totp_secret}').now())\"",
            soft_wrap=True,
            highlight=False,
        )
    console.print(f"VIEWER={result.viewer_token}", soft_wrap=True)
    console.print(f"CREATOR={result.creator_token}", soft_wrap=True)
    console.print(f"PLATFORM_KEY={result.platform_key}", soft_wrap=True)
    console.print("(tokens last GIFTFLOW_JWT_MAX_TTL_SECONDS; mint more with giftflow token USER)")


@app.command()
def simulate(
    live: str = typer.Option(..., "--live", help="The live's id (giftflow demo prints one)."),
    viewers: int = typer.Option(50, min=1, max=10_000, help="Synthetic viewers."),
    rate: float = typer.Option(100.0, min=0.1, max=100_000, help="Gifts per second."),
    duration: float = typer.Option(10.0, min=0.1, max=86_400, help="Seconds to send for."),
    url: str = typer.Option("http://127.0.0.1:8000", help="The running giftflow server."),
) -> None:
    """Drive a live room through the HTTP API: synthetic viewers buy coins and send gifts at a
    rate while the room's stream is watched; ends with a summary and a reconcile."""
    import asyncio

    from giftflow.auth.tokens import mint_user_token
    from giftflow.clock import SystemClock
    from giftflow.ledger.reconcile_repository import reconcile as run_reconcile
    from giftflow.simulate import percentile
    from giftflow.simulate import run as run_simulation

    settings = get_settings()
    if not settings.jwt_secret:
        fail("GIFTFLOW_JWT_SECRET is not set (it must be the server's, to mint viewer tokens).")
    with database() as engine:
        import secrets

        from giftflow.auth.apikeys import create_api_key
        from giftflow.db import unit_of_work

        with unit_of_work(engine) as conn:
            key, _ = create_api_key(
                conn, f"simulate-{secrets.token_hex(4)}", {"platform"}, SystemClock().now()
            )

        def token(user_id: str) -> str:
            ttl = settings.jwt_max_ttl_seconds
            return mint_user_token(
                user_id, settings.jwt_secret, SystemClock().now(), ttl, max_ttl_seconds=ttl
            )

        try:
            stats = asyncio.run(
                run_simulation(
                    base_url=url.rstrip("/"),
                    live_id=live,
                    viewers=viewers,
                    rate=rate,
                    duration=duration,
                    platform_key=key,
                    token=token,
                    console=console,
                )
            )
        except (RuntimeError, OSError) as exc:
            fail(f"simulate: {exc}")
        except Exception as exc:  # httpx errors: the server is not there
            fail(f"simulate: {type(exc).__name__}: {_first_line(exc)} (is {url} running?)")
        result = run_reconcile(engine)
    table = Table(title=f"simulate: live {live}, {viewers} viewers, {rate:g}/s for {duration:g}s")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("gifts sent", f"{stats.sent:,}")
    table.add_row("accepted", f"{stats.accepted:,}")
    for code, n in sorted(stats.refused.items()):
        table.add_row(f"refused: {code}", f"{n:,}")
    table.add_row("coins spent", f"{stats.coins:,}")
    table.add_row("diamonds earned", f"{stats.diamonds / 100:,.2f}")
    table.add_row("gifts delivered on the stream", f"{stats.delivered:,}")
    table.add_row("events / frames received", f"{stats.events:,} / {stats.frames:,}")
    for p in (50, 95, 99):
        table.add_row(f"request p{p}", f"{percentile(stats.latencies, p) * 1000:.1f} ms")
    table.add_row("commit → delivery p99", f"{percentile(stats.deliveries, 99) * 1000:.1f} ms")
    table.add_row("reconcile", "clean" if not result.differences else
                  f"{len(result.differences)} differences")  # fmt: skip
    console.print(table)
    if result.differences or stats.delivered != stats.accepted:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover
    sys.exit(app())
