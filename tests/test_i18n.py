"""The words of the pages in four languages, and numbers, dates and durations in the reader's locale.

The word list is data (server/web/words.toml): every word has all four languages, and every word a
template or a script asks for exists. Formatting is babel's (CLDR), checked against what each
locale writes. Browser checks that no English is left on Finnish and Swedish pages are in
tests/test_site.py.
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from babel.numbers import format_decimal

from server.labels import LANGUAGES
from server.sparql.query_ui import SCRIPT_WORDS
from server.web import formatting
from server.web.i18n import WORDS_FILE, translator, word
from server.web.templating import with_language

SERVER = Path(__file__).resolve().parent.parent / "server"
XSD = "http://www.w3.org/2001/XMLSchema#"


def words() -> dict[str, dict[str, str]]:
    with WORDS_FILE.open("rb") as file:
        return tomllib.load(file)


def used_words() -> set[str]:
    """Every word the templates and scripts ask for by name."""
    found = set()
    for template in (SERVER / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        found |= set(re.findall(r"words\.([a-z_]+)", text)) - {"get"}
        found |= set(re.findall(r"say\('([a-z_]+)'", text))
    script = (SERVER / "static" / "query-ui.js").read_text(encoding="utf-8")
    found |= set(re.findall(r'say\("([a-z_]+)"', script))
    return found | set(SCRIPT_WORDS)


def test_every_word_is_in_four_languages() -> None:
    incomplete = {key: set(LANGUAGES) ^ set(texts) for key, texts in words().items() if set(texts) != set(LANGUAGES)}
    assert incomplete == {}
    empty = [key for key, texts in words().items() if not all(text.strip() for text in texts.values())]
    assert empty == []


def test_placeholders_agree_across_languages() -> None:
    """A word with {n} in English has {n} in every language, so a page never shows a raw placeholder."""
    for key, texts in words().items():
        expected = set(re.findall(r"\{(\w+)\}", texts["en"]))
        for language, text in texts.items():
            assert set(re.findall(r"\{(\w+)\}", text)) == expected, (key, language)


def test_every_word_a_page_asks_for_exists() -> None:
    assert sorted(used_words() - set(words())) == []


def test_script_words_are_sent_to_the_query_ui() -> None:
    script = (SERVER / "static" / "query-ui.js").read_text(encoding="utf-8")
    assert set(re.findall(r'say\("([a-z_]+)"', script)) <= set(SCRIPT_WORDS)


def test_missing_language_falls_back_to_english() -> None:
    assert translator("xx")["search"] == "Search"
    assert translator("fi")["search"] == "Hae"


def test_placeholders_are_filled_with_numbers_in_the_locale() -> None:
    assert word("en", "triple_count", n=3851) == "In numbers: 3,851 triples."
    assert word("fi", "triple_count", n=3851) == f"Lukuina: {format_decimal(3851, locale='fi')} kolmikkoa."
    assert "\N{NO-BREAK SPACE}" in word("sv", "triple_count", n=3851) or "\u202f" in word("sv", "triple_count", n=3851)


@pytest.mark.parametrize("language", LANGUAGES)
def test_numbers_follow_the_locale(language: str) -> None:
    expected = format_decimal(Decimal("3851"), locale=formatting.LOCALES[language])
    assert formatting.number(3851, language) == expected
    assert formatting.literal("3851", XSD + "integer", language) == expected


@pytest.mark.parametrize(
    ("language", "date", "month", "four_years", "year_and_a_half"),
    [
        ("en", "September 24, 2019", "September 2016", "4 years", "1 year and 6 months"),
        ("fi", "24. syyskuuta 2019", "syyskuu 2016", "4 vuotta", "1 vuosi ja 6 kuukautta"),
        ("sv", "24 september 2019", "september 2016", "4 år", "1 år och 6 månader"),
        ("zh", "2019年9月24日", "2016年9月", "4年", "1年和6个月"),
    ],
)
def test_dates_and_durations_follow_the_locale(
    language: str, date: str, month: str, four_years: str, year_and_a_half: str
) -> None:
    assert formatting.literal("2019-09-24", XSD + "date", language) == date
    assert formatting.literal("2016-09", XSD + "gYearMonth", language) == month
    assert formatting.literal("1998", XSD + "gYear", language) == "1998"
    assert formatting.literal("P4Y", XSD + "duration", language) == four_years
    assert formatting.literal("P1Y6M", XSD + "duration", language) == year_and_a_half


def test_values_that_are_not_what_their_type_says_are_shown_as_written() -> None:
    assert formatting.literal("sometime", XSD + "date", "fi") == "sometime"
    assert formatting.literal("P", XSD + "duration", "fi") == "P"
    assert formatting.literal("many", XSD + "integer", "fi") == "many"
    assert formatting.literal("Kuopio", XSD + "string", "fi") == "Kuopio"


def test_links_keep_the_language_before_the_fragment() -> None:
    assert with_language("/ontology#City", "fi") == "/ontology?lang=fi#City"
    assert with_language("/browse?class=x", "sv") == "/browse?class=x&lang=sv"
    assert with_language("/doc/place/kuopio?lang=zh", "fi") == "/doc/place/kuopio?lang=zh"
    assert with_language("https://www.wikidata.org/wiki/Q1757", "fi", external=True).endswith("Q1757")


def test_every_example_query_has_its_title_and_question_in_four_languages(settings) -> None:
    from server.sparql.examples import Examples

    examples = Examples.load(settings.queries_dir).items
    assert examples
    for example in examples:
        for language in LANGUAGES:
            title, title_language = example.title_in(language)
            question, question_language = example.question_in(language)
            assert title and question and title_language == question_language == language, (example.slug, language)
