"""Labels chosen in one place, with a language fallback (pages, search and reconciliation).

A resource may have names in several languages and under several properties. The reader's
language comes first, then English, Finnish, Swedish and Chinese, then a name without a language,
then any name at all, and finally the end of the IRI itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from server.namespaces import DCT, FOAF, RDFS, SCHEMA, SKOS

# The languages of the dataset and of the pages, in the order names fall back on one another.
LANGUAGES = ("en", "fi", "sv", "zh")

# In order of preference: a resource's own preferred name beats a title beats a generic label.
LABEL_PROPERTIES = (
    SKOS + "prefLabel",
    DCT + "title",
    RDFS + "label",
    FOAF + "name",
    SCHEMA + "name",
)
ALTERNATIVE_PROPERTIES = (SKOS + "altLabel", SKOS + "hiddenLabel")
NAME_PROPERTIES = (*LABEL_PROPERTIES, *ALTERNATIVE_PROPERTIES)


def fallback_chain(language: str) -> tuple[str, ...]:
    return (language, *(lang for lang in LANGUAGES if lang != language), "")


def local_name(iri: str) -> str:
    """The readable end of an IRI: after #, else after the last /."""
    tail = iri.rsplit("#", 1)[-1] if "#" in iri else iri.rstrip("/").rsplit("/", 1)[-1]
    return tail or iri


@dataclass
class Labels:
    """Names of many resources: IRI -> language -> names, in order of property preference."""

    names: dict[str, dict[str, list[tuple[int, str]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    def add(self, iri: str, prop: str, value: str, language: str | None) -> None:
        if prop not in LABEL_PROPERTIES:
            return
        bucket = self.names[iri][(language or "").lower()]
        rank = LABEL_PROPERTIES.index(prop)
        bucket.append((rank, value))
        bucket.sort()

    def best(self, iri: str, language: str = "en") -> str:
        return self.choose(iri, language)[0]

    def choose(self, iri: str, language: str = "en") -> tuple[str, str | None]:
        """The best name and its language ('' for no language, None for the IRI's own end)."""
        by_language = self.names.get(iri, {})
        for lang in fallback_chain(language):
            exact = by_language.get(lang) or next(
                (names for tag, names in by_language.items() if lang and tag.split("-")[0] == lang), None
            )
            if exact:
                return exact[0][1], lang
        for tag, names in by_language.items():
            if names:
                return names[0][1], tag
        return local_name(iri), None

    def known(self, iri: str) -> bool:
        return iri in self.names

    def update(self, rows: Iterable[tuple[str, str, str, str | None]]) -> Labels:
        for iri, prop, value, language in rows:
            self.add(iri, prop, value, language)
        return self
