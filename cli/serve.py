"""``imgedit serve`` (the API, WebSockets and the web page) and ``imgedit keys`` (API keys)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import command, print_json, stderr
from imgedit.config import Settings, get_settings
from imgedit.errors import BadInputError

if TYPE_CHECKING:
    from server.auth import KeyStore

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


def _key_store() -> KeyStore:
    """The API key store over the configured database (the server's modules load only here)."""
    from server.auth import KeyStore
    from sessions import create_db_engine, create_sessionmaker

    return KeyStore(create_sessionmaker(create_db_engine(settings=get_settings())))


@command
def serve_command(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    log_level: Annotated[
        str, typer.Option(help="Server log level: critical, error, warning, info, debug or trace.")
    ] = "info",
    ssl_certfile: Annotated[
        Path | None,
        typer.Option(help="TLS certificate (PEM): serve HTTPS, which the PowerPoint add-in needs."),
    ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="The certificate's private key (PEM).")] = None,
) -> None:
    """Serve the API, the WebSockets and the web page at http://HOST:PORT/ (https:// with TLS).

    On a fresh IMGEDIT_HOME it creates the database and prints an API key for the tenant 'local'
    once; paste it into the page. The API is described at /docs and in docs/api.md. Stop with Ctrl-C.

    Example: imgedit serve --host 0.0.0.0 --port 8000
    """
    import uvicorn

    from server.app import create_app

    settings = get_settings()
    app = create_app(settings)
    app.state.ctx.store.blobs.check()  # a wrong bucket, endpoint or key stops the start, not an upload
    keys = app.state.ctx.keys
    if not keys.any_active():
        # First start: a key for the local user, shown once, so the page can be used at once.
        new = keys.create("local", label="created by imgedit serve")
        stderr.print(f"Created an API key for tenant 'local' (shown only now): [bold]{new.key}[/]")
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise BadInputError("Give both --ssl-certfile and --ssl-keyfile, or neither.")
    scheme = "https" if ssl_certfile else "http"
    where = app.state.ctx.db_engine.url.render_as_string(hide_password=True)
    jobs = "jobs run here" if settings.queue == "local" else "jobs run by imgedit worker processes"
    stderr.print(
        f"imgedit serving on [bold]{scheme}://{host}:{port}/[/] "
        f"(database {where}, blobs {app.state.ctx.store.blobs.url}; {jobs})",
        soft_wrap=True,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        ws_max_size=1024 * 1024,
        # Frames are short JSON (ids, states, steps): compressing each one cost both ends more CPU
        # than it saved bytes (bench/server_load.py).
        ws_per_message_deflate=False,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
    )


@keys_app.command("create")
@command
def keys_create(
    tenant: Annotated[
        str, typer.Option(help="The tenant the key acts for: its sessions and jobs (created if new).")
    ],
    label: Annotated[str, typer.Option(help="A note to recognise the key by (default: none).")] = "",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print id, tenant and key as one JSON line.")
    ] = False,
) -> None:
    """Create an API key for TENANT and print it (it is stored hashed and cannot be shown again).

    Send it as 'Authorization: Bearer KEY'. Keys live in the configured database
    (IMGEDIT_DATABASE_URL, else IMGEDIT_HOME).

    Example: imgedit keys create --tenant design --label "Figma plugin"
    """
    new = _key_store().create(tenant, label=label)
    if as_json:
        print_json({"id": new.id, "tenant": new.tenant, "key": new.key})
    else:
        typer.echo(new.key)


@keys_app.command("list")
@command
def keys_list(
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print a JSON line per key: id, tenant, label, created_at, revoked."),
    ] = False,
) -> None:
    """List keys: id, tenant, active or revoked, label; one per line (the keys themselves are never stored).

    Example: imgedit keys list --json
    """
    for info in _key_store().list():
        row = {
            "id": info.id,
            "tenant": info.tenant,
            "label": info.label,
            "created_at": info.created_at.isoformat(),
            "revoked": info.revoked_at is not None,
        }
        if as_json:
            print_json(row)
        else:
            typer.echo(f"{info.id}\t{info.tenant}\t{'revoked' if row['revoked'] else 'active'}\t{info.label}")


@keys_app.command("revoke")
@command
def keys_revoke(
    key_id: Annotated[
        str,
        typer.Argument(
            metavar="KEY_ID", help="The key's id: the 12 characters after ik_ (see `imgedit keys list`)."
        ),
    ],
) -> None:
    """Revoke a key: requests with it are refused from now on (open WebSockets within a second).

    Example: imgedit keys revoke 3f9c2a1b7d04
    """
    info = _key_store().revoke(key_id)
    typer.echo(f"revoked {info.id} (tenant {info.tenant})")


#: The settings an operator of the service reaches for first, listed by ``imgedit serve --help``.
SERVICE_SETTINGS = (
    "home",
    "database_url",
    "blob_url",
    "s3_endpoint_url",
    "presigned_results",
    "engine",
    "max_upload_bytes",
    "max_image_pixels",
    "inline_upload_bytes",
    "rate_limit_per_minute",
    "failed_logins_per_minute",
    "max_sessions_per_tenant",
    "metrics_auth",
    "classic_workers",
    "classic_processes",
    "gpu_workers",
    "cors_origins",
    "queue",
    "broker_url",
)


def settings_epilog() -> str:
    """The service's settings with their defaults, read from ``Settings`` so the help stays true."""
    lines = [
        "Settings come from IMGEDIT_* environment variables, or the same keys in lower case in "
        "imgedit.toml (IMGEDIT_CONFIG names another file); docs/deploy.md lists them all. "
        "For the service:"
    ]
    for name in SERVICE_SETTINGS:
        field = Settings.model_fields[name]
        default = "" if field.default is None else f" (default {field.default})"
        lines.append(f"IMGEDIT_{name.upper()}{default}: {field.description}")
    return "\n\n".join(lines)


def register(app: typer.Typer) -> None:
    app.command("serve", epilog=settings_epilog())(serve_command)
    app.add_typer(keys_app, name="keys")
