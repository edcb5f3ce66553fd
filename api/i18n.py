"""Thai and English for the portal: the reader's language, and the gettext catalogues.

Message ids are the English text, in the templates (``_()``, ``ngettext()``,
``pgettext()`` through Jinja2's i18n extension) and in ``api.messages`` for codes; the
Thai is in ``api/locales/th/LC_MESSAGES/messages.po`` (``make messages`` extracts,
updates and compiles). Amounts and dates are written by ``core.formatting``."""

from __future__ import annotations

import functools
import gettext
from pathlib import Path
from typing import Any

from fastapi import Request
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from api.messages import MESSAGES, Contextual
from catalog.taxonomy import Label
from core.formatting import Lang, long_date, thb, thb_range

__all__ = [
    "Lang",
    "choose_language",
    "install",
    "long_date",
    "pick",
    "say",
    "text_in",
    "thb",
    "thb_range",
    "translations",
]

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"


DEFAULT_LANG = Lang.th
LANG_COOKIE = "lang"


def choose_language(request: Request) -> Lang:
    """``?lang=`` first, then the cookie the switch set, then the browser, then Thai."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate is not None and candidate in Lang.__members__:
            return Lang(candidate)
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("en"):
        return Lang.en
    return DEFAULT_LANG


def pick(label: Label, lang: Lang) -> str:
    return label.th if lang is Lang.th else label.en


def text_in(th: str, en: str, lang: Lang) -> str:
    """The listing's text in ``lang``, falling back to the other language when empty."""
    first, second = (th, en) if lang is Lang.th else (en, th)
    return first or second


class CatalogueMissing(RuntimeError):
    pass


@functools.cache
def translations(lang: Lang) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang``; English is the message ids themselves."""
    if lang is Lang.en:
        return gettext.NullTranslations()
    try:
        return gettext.translation(DOMAIN, LOCALES, languages=[lang.value])
    except FileNotFoundError as exc:
        raise CatalogueMissing(
            f"no compiled {lang.value} messages under {LOCALES}: run `make messages`"
        ) from exc


def say(code: str, lang: Lang, **values: object) -> str:
    """The words for ``code`` (see ``api.messages``) in ``lang``."""
    message = MESSAGES[code]
    found = translations(lang)
    if isinstance(message, Contextual):
        text = found.pgettext(message.context, message.message)
    else:
        text = found.gettext(message)
    return text % values  # like Jinja's newstyle gettext: always a format string


def _lang_of(context: Context) -> Lang:
    lang = context.get("lang")
    return lang if isinstance(lang, Lang) else DEFAULT_LANG


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(_lang_of(context)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(_lang_of(context)).ngettext(singular, plural, n)


@pass_context
def _pgettext(context: Context, msgctxt: str, message: str) -> str:
    return translations(_lang_of(context)).pgettext(msgctxt, message)


@pass_context
def _npgettext(context: Context, msgctxt: str, singular: str, plural: str, n: int) -> str:
    return translations(_lang_of(context)).npgettext(msgctxt, singular, plural, n)


def install(env: Environment) -> None:
    """Jinja2's i18n extension, translating into the language of each page's context
    (one environment serves every reader)."""
    env.add_extension("jinja2.ext.i18n")
    install_callables: Any = getattr(env, "install_gettext_callables")  # noqa: B009 - added by the extension
    install_callables(
        gettext=_gettext,
        ngettext=_ngettext,
        pgettext=_pgettext,
        npgettext=_npgettext,
        newstyle=True,
    )
    translations(Lang.th)  # a missing catalogue fails at start, not on a reader's page
