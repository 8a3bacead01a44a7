"""The words of the pages themselves, in the four languages of the dataset.

Names of things come from the data (server.labels); this is only the interface around them. The
words are kept in `words.toml` beside this module, one table per word with its four languages
(tests/test_i18n.py checks that every word has all four and every word a template uses exists).
Numbers, dates and durations are written as the reader's locale writes them (server.web.formatting).

The reader's language is `?lang=` (the switcher's choice, which every link of a page carries on)
or else the browser's Accept-Language.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from starlette.requests import Request

from server.labels import LANGUAGES
from server.web import formatting
from server.web.negotiation import negotiate_language

LANGUAGE_NAMES = {"en": "English", "fi": "suomi", "sv": "svenska", "zh": "中文"}
WORDS_FILE = Path(__file__).with_name("words.toml")


@cache
def all_words() -> dict[str, dict[str, str]]:
    """Every word: key -> language -> text."""
    with WORDS_FILE.open("rb") as file:
        return tomllib.load(file)


@cache
def translator(language: str) -> dict[str, str]:
    """The page words in one language (English where a word is missing)."""
    language = language if language in LANGUAGES else "en"
    return {key: words.get(language, words["en"]) for key, words in all_words().items()}


def word(language: str, key: str, **values: object) -> str:
    """One word, with `{name}` placeholders filled in (numbers written in the reader's locale)."""
    text = translator(language)[key]
    if not values:
        return text
    shown = {k: formatting.number(v, language) if isinstance(v, int | float) else v for k, v in values.items()}
    return text.format(**shown)


def reader_language(request: Request) -> str:
    """?lang= (the pages' language switcher) wins over Accept-Language."""
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return negotiate_language(request.headers.get("accept-language"), LANGUAGES)


def page_globals(request: Request) -> dict:
    """What every template can use: the reader's language, its words and the switcher's choices."""
    language = reader_language(request)
    return {
        "lang": language,
        "words": translator(language),
        "languages": LANGUAGE_NAMES,
        "say": lambda key, **values: word(language, key, **values),
    }
