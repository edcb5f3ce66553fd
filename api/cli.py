"""The ``citydeal`` command: database, seed data, organisations, API keys, server."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from sqlmodel import Session

from api.migrate import upgrade
from catalog.accounts.service import bootstrap_admin
from catalog.models import City, Organisation
from catalog.organisations import issue_key
from catalog.search.documents import count_published
from catalog.search.semantic import embed_all
from catalog.search.sync import rebuild
from core.db import Database, for_writing, make_engine
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
    return Session(engine, expire_on_commit=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations and load reference data (provinces)."""
    upgrade(get_settings().database_url)
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


@app.command()
def serve(
    host: str = "127.0.0.1", port: int = 8000, workers: int = 1, reload: bool = False
) -> None:
    """Serve the API and portal with uvicorn."""
    import uvicorn

    uvicorn.run("api.main:app", host=host, port=port, workers=workers, reload=reload)


if __name__ == "__main__":
    app()
