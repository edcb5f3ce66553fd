"""The gettext catalogues: every message in the code and templates has its Thai, the
placeholders agree, and the compiled catalogue the app reads is the one in the .po."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from api.i18n import LOCALES, Lang, say, translations
from api.messages import MESSAGES
from core.settings import PROJECT_ROOT

PO = LOCALES / "th" / "LC_MESSAGES" / "messages.po"
Key = tuple[str, str | None]


def _key(message: Message) -> Key:
    return (_texts(message.id)[0], message.context)


def _texts(value: object) -> tuple[str, ...]:
    """A message's id or string as a tuple (singular and plural forms are sequences)."""
    if isinstance(value, str):
        return (value,)
    return tuple(str(part) for part in value) if isinstance(value, list | tuple) else ()


def _read(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """What `make messages` would extract today, by the same command."""
    pot = tmp_path_factory.mktemp("messages") / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "NP_:1c,2", "-o", str(pot), "."],
        cwd=PROJECT_ROOT,
        check=True,
    )
    return _read(pot)


def untranslated(source: Catalog, thai: Catalog) -> list[Key]:
    """Messages of ``source`` with no Thai in ``thai``: absent, empty or fuzzy."""
    missing = []
    for message in source:
        if not message.id:
            continue
        found = thai.get(message.id, context=message.context)
        strings = () if found is None else _texts(found.string)
        if found is None or found.fuzzy or not strings or not all(strings):
            missing.append(_key(message))
    return missing


def test_every_message_has_its_thai(extracted: Catalog) -> None:
    missing = untranslated(extracted, _read(PO))
    assert not missing, (
        f"{len(missing)} messages without Thai (run `make messages`, translate): {missing}"
    )


def test_the_check_finds_a_message_without_thai(extracted: Catalog, tmp_path: Path) -> None:
    thai = _read(PO)
    dropped = next(m for m in thai if m.id and isinstance(m.id, str))
    dropped.string = ""
    fuzzy = next(m for m in thai if m.id and isinstance(m.id, str) and m is not dropped)
    fuzzy.flags.add("fuzzy")
    assert set(untranslated(extracted, thai)) == {_key(dropped), _key(fuzzy)}


def test_placeholders_agree() -> None:
    problems = [(message.id, errors) for message, errors in _read(PO).check() if errors]
    assert not problems, problems


def test_the_compiled_catalogue_is_the_po() -> None:
    compiled = translations(Lang.th)
    stale = []
    for message in _read(PO):
        ids, strings = _texts(message.id), _texts(message.string)
        if not message.id:
            continue
        if len(ids) == 2:
            shown = compiled.ngettext(ids[0], ids[1], 1)
        elif message.context:
            shown = compiled.pgettext(message.context, ids[0])
        else:
            shown = compiled.gettext(ids[0])
        if shown != strings[0]:
            stale.append(ids[0])
    assert not stale, f"the .mo is older than the .po (run `make messages`): {stale}"


def test_every_code_speaks_both_languages() -> None:
    for code, message in MESSAGES.items():
        values = dict.fromkeys(re.findall(r"%\((\w+)\)", str(message)), 7)
        thai, english = say(code, Lang.th, **values), say(code, Lang.en, **values)
        assert thai, code
        assert english, code
        assert thai != english, (code, thai)


def test_values_are_filled_in_and_kept_as_data() -> None:
    assert say("too_many_sign_ins", Lang.th, minutes=15).endswith("15 นาที")
    assert say("too_many_sign_ins", Lang.en, minutes="%(x)s") == (
        "Too many failed sign-ins; try again in %(x)s minutes"
    )
