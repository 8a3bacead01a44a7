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
