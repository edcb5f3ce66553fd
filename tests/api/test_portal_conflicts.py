"""Two editors on one listing in the portal: a save made from an older version never
overwrites what was saved meanwhile; the editor sees the other's changes field by field
and chooses, and only then does the save go through."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import httpx

from tests.factories import World, auth, listing_payload

EDIT = "/dashboard/listings/shared-plan/edit"


class _Form(HTMLParser):
    """The values a browser would submit from the page's edit form."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.checked: dict[str, list[str]] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr: dict[str, Any] = dict(attrs)
        name = attr.get("name")
        if tag == "input" and name:
            if attr.get("type") == "radio":
                if "checked" in attr:
                    self.fields[name] = attr["value"]
            elif attr.get("type") == "checkbox":
                if "checked" in attr:  # an unticked box sends nothing; ticked ones, a list
                    self.checked.setdefault(name, []).append(attr.get("value") or "on")
            else:
                self.fields[name] = attr.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attr:
            self.fields[self._select] = attr["value"]

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_of(html: str) -> dict[str, Any]:
    """What a browser would post for the page's form: ticked boxes as lists."""
    parser = _Form()
    parser.feed(html)
    return {**parser.fields, **parser.checked}


async def _editor(client: httpx.AsyncClient, world: World) -> dict[str, str]:
    body = listing_payload(slug="shared-plan", title_en="Shared plan", summary_en="First summary")
    key = auth(world.nakhon_sawan_key)
    assert (await client.post("/v1/listings", json=body, headers=key)).status_code == 201
    signin = await client.get("/signin")
    token = form_of(signin.text)["csrf_token"]
    signed_in = await client.post(
        "/signin", data={"api_key": world.nakhon_sawan_key, "csrf_token": token}
    )
    assert signed_in.status_code == 303
    return key


async def _stored(client: httpx.AsyncClient, key: dict[str, str]) -> dict[str, Any]:
    listing: dict[str, Any] = (await client.get("/v1/listings/shared-plan", headers=key)).json()
    return listing


async def test_a_stale_save_shows_their_change_and_keeps_mine(
    client: httpx.AsyncClient, world: World
) -> None:
    key = await _editor(client, world)
    tab_a = form_of((await client.get(EDIT)).text)
    tab_b = form_of((await client.get(EDIT)).text)

    saved_a = await client.post(EDIT, data=tab_a | {"summary_en": "Summary by A"})
    assert saved_a.status_code == 303

    conflict = await client.post(EDIT, data=tab_b | {"title_en": "Title by B"})
    assert conflict.status_code == 409
    assert 'data-field="summary_en"' in conflict.text
    assert 'data-field="title_en"' not in conflict.text  # only A changed the summary
    page = form_of(conflict.text)
    assert page["title_en"] == "Title by B"  # what B typed is kept
    assert page["resolve_summary_en"] == "theirs"  # B never touched it
    stored = await _stored(client, key)
    assert (stored["title_en"], stored["summary_en"]) == ("Shared plan", "Summary by A")

    resolved = await client.post(EDIT, data=page)
    assert resolved.status_code == 303
    stored = await _stored(client, key)
    assert (stored["title_en"], stored["summary_en"]) == ("Title by B", "Summary by A")


async def test_a_field_both_changed_needs_a_choice_before_the_save(
    client: httpx.AsyncClient, world: World
) -> None:
    key = await _editor(client, world)
    tab_a = form_of((await client.get(EDIT)).text)
    tab_b = form_of((await client.get(EDIT)).text)
    assert (await client.post(EDIT, data=tab_a | {"title_en": "A title"})).status_code == 303

    conflict = await client.post(EDIT, data=tab_b | {"title_en": "B title"})
    assert conflict.status_code == 409
    page = form_of(conflict.text)
    assert "resolve_title_en" not in page  # both changed it: no choice is made for B
    assert "A title" in conflict.text
    assert "Shared plan" in conflict.text

    unresolved = await client.post(EDIT, data=page)
    assert unresolved.status_code == 409
    assert 'id="resolve-title_en-error"' in unresolved.text
    assert (await _stored(client, key))["title_en"] == "A title"

    taken = await client.post(EDIT, data=form_of(unresolved.text) | {"resolve_title_en": "mine"})
    assert taken.status_code == 303
    assert (await _stored(client, key))["title_en"] == "B title"


async def test_taking_theirs_keeps_the_other_editors_value(
    client: httpx.AsyncClient, world: World
) -> None:
    key = await _editor(client, world)
    tab_a = form_of((await client.get(EDIT)).text)
    tab_b = form_of((await client.get(EDIT)).text)
    assert (await client.post(EDIT, data=tab_a | {"title_en": "A title"})).status_code == 303
    conflict = await client.post(EDIT, data=tab_b | {"title_en": "B title", "stage": "funded"})
    page = form_of(conflict.text) | {"resolve_title_en": "theirs"}
    assert (await client.post(EDIT, data=page)).status_code == 303
    stored = await _stored(client, key)
    assert (stored["title_en"], stored["stage"]) == ("A title", "funded")
