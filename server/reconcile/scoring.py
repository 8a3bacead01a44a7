"""How well a candidate's name keys match a query, exact or fuzzy (rapidfuzz).

How well a candidate's name keys match a query: exact, variant, government, or fuzzy (rapidfuzz)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz

from server.reconcile.keys import QueryForms
from server.store.name_index import GOVERNMENT_KEY, NAME_KEY, VARIANT_KEY

# How a candidate was found, best first. The first seven are certain enough to be a match.
EXACT_KINDS = ("id", "code", "wikidata", "geonames", "name", "variant", "government")
KIND_SCORES = {"id": 100.0, "code": 100.0, "wikidata": 100.0, "geonames": 100.0, "name": 100.0}
KIND_SCORES |= {"variant": 95.0, "government": 90.0}
FUZZY_WEIGHT = 0.85  # a fuzzy name match never reaches an exact one
GOVERNMENT_FUZZY_WEIGHT = 0.75


@dataclass
class Keys:
    """The index keys of one candidate, by kind."""

    names: set[str] = field(default_factory=set)
    variants: set[str] = field(default_factory=set)
    government: set[str] = field(default_factory=set)

    def add(self, predicate: str, key: str) -> None:
        {NAME_KEY: self.names, VARIANT_KEY: self.variants, GOVERNMENT_KEY: self.government}[predicate].add(key)


def similarity(left: str, right: str) -> float:
    """rapidfuzz's weighted ratio of two keys (0-100): edits, word order and partial matches."""
    return fuzz.WRatio(left, right, processor=None)


def name_score(forms: QueryForms, keys: Keys) -> tuple[float, str]:
    """How well a query's name matches a candidate's keys: (score 0-100, how)."""
    if forms.exact & keys.names:
        return KIND_SCORES["name"], "name"
    if forms.lookup_keys & (keys.names | keys.variants):
        return KIND_SCORES["variant"], "variant"
    if forms.lookup_keys & keys.government:
        return KIND_SCORES["government"], "government"
    queries = {forms.key, *forms.variant_keys}
    best = max((similarity(q, k) for q in queries for k in keys.names | keys.variants), default=0.0)
    government = max((similarity(q, k) for q in queries for k in keys.government), default=0.0)
    return round(max(best * FUZZY_WEIGHT, government * GOVERNMENT_FUZZY_WEIGHT), 1), "fuzzy"


# --- Search: ranking what people type into a search box ----------------------------------------------

SLUG_SCORE = 92.0  # the words of an entity's id ("agreement/kuopio-pudong" for "Kuopio Pudong")
PREFIX_WORD_SCORE = 90.0  # a query word that begins a word of the name ("kuo" in "kuopio")
WORDS_WEIGHT = 0.6  # in a search's fuzzy score: every word found, in any order...
WHOLE_WEIGHT = 0.4  # ...against the whole name's similarity


def word_similarity(word: str, candidates: set[str]) -> float:
    """How well one query word is found among a name's words (0-100): equal, begun, or nearly."""
    best = 0.0
    for other in candidates:
        if other == word:
            return 100.0
        if len(word) >= 3 and other.startswith(word):
            best = max(best, PREFIX_WORD_SCORE)
        else:
            best = max(best, fuzz.ratio(word, other, processor=None))
    return best


def search_score(forms: QueryForms, keys: Keys, slug: str = "") -> tuple[float, str]:
    """How well a search matches a candidate: an exact name, variant or government name first
    (as reconciliation scores them), then the words of its id, then names that hold every word
    of the query in any order, each exactly, as a beginning or nearly (a typo), weighed with the
    similarity of the whole name. Fuzzy scores stay below exact ones (at most 85)."""
    score, kind = name_score(forms, keys)
    if kind != "fuzzy":
        return score, kind
    if slug and slug in forms.exact | {forms.key}:
        return SLUG_SCORE, "slug"
    query_words = [w for w in forms.key.split() if w] or [forms.key]
    spelled = keys.names | keys.variants | ({slug} if slug else set())
    name_words = {w for key in spelled for w in key.split()} | {k.replace(" ", "") for k in spelled}
    if not name_words or not forms.key:
        return score, kind
    coverage = sum(word_similarity(w, name_words) for w in query_words) / len(query_words)
    whole = max((similarity(q, k) for q in {forms.key, *forms.variant_keys} for k in spelled), default=0.0)
    return round(FUZZY_WEIGHT * (WORDS_WEIGHT * coverage + WHOLE_WEIGHT * whole), 1), "words"
