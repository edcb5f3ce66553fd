"""The ``citydeal`` command: database, seed data, organisations, API keys, server."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Annotated, NoReturn, cast

import typer
from rich.console import Console
from sqlmodel import Session

from api.migrate import upgrade
from catalog.accounts.service import bootstrap_admin
from catalog.models import City, Organisation
from catalog.organisations import issue_key, misfit_keys
from catalog.search.documents import count_published
from catalog.search.semantic import embed_all
from catalog.search.sync import rebuild
from core.audit import Actor, act_as
from core.db import (
    Database,
    database_unavailable,
    for_writing,
    make_engine,
    unavailable_reason,
    utcnow,
)
from core.errors import AppError
from core.principal import OrganisationKind, Role
from core.settings import get_settings
from seed.loader import load_seed

app = typer.Typer(help="citydeal: smart-city investment catalogue.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
orgs_app = typer.Typer(help="Organisations.", no_args_is_help=True)
people_app = typer.Typer(help="People's accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(orgs_app, name="orgs")
app.add_typer(people_app, name="people")
console = Console()


def _session() -> Session:
    # Write intent from the start: on SQLite, a command that reads and then writes while
    # the app's followers write would otherwise fail at once ("database is locked").
    engine = for_writing(make_engine(get_settings().database_url))
    session = Session(engine, expire_on_commit=False)
    act_as(session, Actor(source="cli"))  # the audit log says the change came from here
    return session


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations and load reference data (provinces)."""
    try:
        upgrade(get_settings().database_url)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        # One line, no traceback: the command is fine, the database is not reachable.
        Console(stderr=True).print(
            f"[red]database unavailable:[/] {unavailable_reason(exc)}", highlight=False
        )
        raise typer.Exit(1) from None
    console.print("[green]database is at the latest schema[/]")


@app.command()
def seed() -> None:
    """Load the demo catalogue (idempotent)."""
    with _session() as session:
        report = load_seed(session)
        session.commit()
    console.print(
        f"seed: +{report.cities} cities, +{report.organisations} organisations, "
        f"+{report.smart_blocks} smart blocks, +{report.listings} listings, "
        f"+{report.investors} investor profiles, +{report.events} pitch days"
    )


@app.command()
def reindex(
    vectors: Annotated[
        bool, typer.Option(help="Also bring the listings' semantic vectors up to date.")
    ] = True,
) -> None:
    """Rebuild the search index from the database, and compute missing or stale semantic
    vectors; the app keeps serving the old index meanwhile."""
    from rich.progress import Progress

    from api.main import embedder_for, search_index_for  # the composition root, when needed

    settings = get_settings()
    index = search_index_for(settings)
    embedder = embedder_for(settings) if vectors else None
    database = Database(make_engine(settings.database_url))
    with Progress(console=console) as progress:
        with database.reading() as session:
            published = count_published(session)
            task = progress.add_task(f"indexing into {index.name}", total=published)
            written = rebuild(session, index, lambda n: progress.advance(task, n))
        if embedder is not None:
            task = progress.add_task("semantic vectors", total=published)
            embedded = embed_all(database, embedder, lambda n: progress.advance(task, n))
    console.print(f"[green]{written} published listings indexed[/]")
    if embedder is not None:
        console.print(f"[green]{embedded} title-and-summary passages embedded[/]")


@people_app.command("create-admin")
def people_create_admin(
    email: Annotated[str, typer.Option(help="The admin's e-mail address.")],
    name: Annotated[str, typer.Option(help="The admin's name.")] = "",
) -> None:
    """The first admin (or a new link for one): prints a single-use link to set a password."""
    settings = get_settings()
    with _session() as session:
        try:
            link = bootstrap_admin(session, email=email, name=name, settings=settings.accounts)
        except AppError as exc:
            console.print(f"[red]{exc.message}[/]")
            raise typer.Exit(2) from exc
        session.commit()
    console.print(f"Open this link to set the password of [bold]{link.person.email}[/] (once):")
    print(f"{settings.public_url.rstrip('/')}/invitations/{link.token}")


@orgs_app.command("create")
def orgs_create(
    slug: Annotated[str, typer.Option(help="Stable identifier, e.g. khon-kaen-think-city.")],
    name_th: Annotated[str, typer.Option(help="Thai name.")],
    name_en: Annotated[str, typer.Option(help="English name.")],
    kind: Annotated[OrganisationKind, typer.Option()] = OrganisationKind.city_company,
    city: Annotated[str | None, typer.Option(help="City slug, for publishers.")] = None,
) -> None:
    """Create an organisation."""
    from sqlmodel import select

    with _session() as session:
        city_id = None
        if city:
            found = session.exec(select(City).where(City.slug == city)).first()
            if found is None:
                console.print(f"[red]no city '{city}'[/]")
                raise typer.Exit(2)
            city_id = found.id
        session.add(
            Organisation(slug=slug, name_th=name_th, name_en=name_en, kind=kind, city_id=city_id)
        )
        session.commit()
    console.print(f"organisation [bold]{slug}[/] created")


@keys_app.command("create")
def keys_create(
    org: Annotated[str, typer.Option(help="Organisation slug.")],
    role: Annotated[Role, typer.Option(help="What the key may do.")],
    label: Annotated[str, typer.Option(help="A note to recognise the key by.")] = "",
) -> None:
    """Issue an API key; it is printed once and only its digest is stored."""
    with _session() as session:
        try:
            _row, key = issue_key(session, organisation_slug=org, role=role, label=label)
        except AppError as exc:
            console.print(f"[red]{exc.message}[/]")
            raise typer.Exit(2) from exc
        session.commit()
    console.print("[yellow]Store this key now; it cannot be shown again:[/]")
    print(key)


@keys_app.command("misfits")
def keys_misfits(
    revoke: Annotated[bool, typer.Option(help="Revoke them as well.")] = False,
) -> None:
    """List live keys whose role does not fit their organisation's kind (issued before
    roles had to fit): every request with one is refused. --revoke revokes them."""
    with _session() as session:
        found = misfit_keys(session)
        for row, organisation in found:
            print(f"{row.id}\t{organisation.slug}\t{organisation.kind}\t{row.role}\t{row.label}")
            if revoke:
                row.revoked_at = utcnow()
                session.add(row)
        session.commit()
    done = "revoked" if revoke else "found"
    console.print(f"{len(found)} misfit key(s) {done}", style="yellow" if found else None)


def _backup_failed(notes: Console, what: str, exc: Exception) -> NoReturn:
    """One line saying why an export or import stopped (exit 2), or that the database
    could not be reached (exit 1); a traceback only for a bug."""
    from core.backup import BackupError
    from core.db import database_unavailable, unavailable_reason

    if database_unavailable(exc):
        notes.print(f"[red]{what}: database unavailable:[/] {unavailable_reason(exc)}")
        raise typer.Exit(1) from None
    if isinstance(exc, UnicodeDecodeError):
        notes.print(f"[red]{what}: the file is not UTF-8 text[/]", highlight=False)
    elif isinstance(exc, BackupError | OSError):
        notes.print(f"[red]{what}: {exc}[/]", highlight=False)
    else:
        raise exc
    raise typer.Exit(2) from None


@app.command("export")
def export_data(
    file: Annotated[
        Path | None, typer.Argument(help="The file to write; standard output without one.")
    ] = None,
    with_vectors: Annotated[
        bool,
        typer.Option(
            "--with-vectors", help="Also write the semantic vectors (derived, slow to make)."
        ),
    ] = False,
) -> None:
    """Write all the app's data as JSON Lines, e.g. `citydeal export > backup.jsonl`:
    every table but secrets (password hashes, sessions, links) and derived data (README)."""
    from api.tables import BACKUP, metadata
    from core.backup import export

    notes = Console(stderr=True)  # standard output may be the export itself
    policy = BACKUP.including({"listing_vector"} if with_vectors else ())
    engine = make_engine(get_settings().database_url)
    partial = file.with_name(file.name + ".partial") if file is not None else None
    try:
        if partial is None:
            stdout = cast(io.TextIOWrapper, sys.stdout)
            stdout.reconfigure(encoding="utf-8")
            report = export(engine, metadata(), policy, stdout)
        else:
            # Written aside and renamed when complete: a failed export leaves no file
            # that looks like a backup.
            with partial.open("w", encoding="utf-8") as out:
                report = export(engine, metadata(), policy, out)
            partial.replace(cast(Path, file))
    except Exception as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        _backup_failed(notes, "the export failed", exc)
    finally:
        engine.dispose()
    notes.print(
        f"exported {report.total} rows of {len(report.rows)} tables "
        f"(migration {report.revision}) in {report.seconds:.1f} s"
    )


@app.command("import")
def import_data(
    file: Annotated[Path, typer.Argument(help="A file `citydeal export` wrote; - reads stdin.")],
) -> None:
    """Restore an export into a new database (`citydeal db upgrade` first): all of the
    file in one transaction, or nothing."""
    from api.tables import BACKUP, metadata
    from core.backup import restore

    engine = for_writing(make_engine(get_settings().database_url))
    try:
        if str(file) == "-":
            stdin = cast(io.TextIOWrapper, sys.stdin)
            stdin.reconfigure(encoding="utf-8")
            report = restore(engine, metadata(), BACKUP, stdin)
        else:
            with file.open(encoding="utf-8") as lines:
                report = restore(engine, metadata(), BACKUP, lines)
    except Exception as exc:
        _backup_failed(Console(stderr=True), "nothing was imported", exc)
    finally:
        engine.dispose()
    console.print(
        f"[green]imported {report.total} rows into {len(report.rows)} tables "
        f"in {report.seconds:.1f} s[/]"
    )
    console.print(
        "Passwords are not exported: people set a new one through a reset link "
        "(`citydeal people create-admin --email …` makes one for an admin). "
        "Run `citydeal reindex` to rebuild the search index and semantic vectors."
    )


@app.command()
def serve(
    host: str = "127.0.0.1", port: int = 8000, workers: int = 1, reload: bool = False
) -> None:
    """Serve the API and portal with uvicorn."""
    import uvicorn

    uvicorn.run("api.main:app", host=host, port=port, workers=workers, reload=reload)


if __name__ == "__main__":
    app()
