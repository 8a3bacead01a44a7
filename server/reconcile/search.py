"""Search by name for people (/search): reconciliation's matching, ranked for a search box.

Why here: a search box and a reconciliation service answer the same question, "which things are
called this?", and people type into both the same way: words in any order, without accents, in
pinyin, with typos. The name keys, the name index and the scores are this feature's
(server.reconcile.keys, scoring, matching; rapidfuzz and pypinyin stay in this room, as
tests/test_architecture.py asks), and features do not import one another, so the page is served
from here (registered in server/app.py beside the home page) rather than from server.linked.

Candidates come from the search index beside the build (server.store.name_table; the name index
graph where there is none): exact keys, shared words, words one letter away, the name's
beginning, and names that contain the text (ontology terms and things outside {base}id/ too).
Each is scored by `search_score`: exact names first, then the words of its id, then names
holding every word of the query; ties go to places, then agreements, organisations, people,
programmes and events, then to the shorter name.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from server.labels import local_name
from server.query.engine import select
from server.query.facts import Facts, facts_about
from server.reconcile.context import matcher_for
from server.reconcile.keys import QueryForms, index_entries, normalise
from server.reconcile.matching import Matcher, Query
from server.reconcile.scoring import Keys, search_score
from server.store.name_index import NAME_KEY, VARIANT_KEY
from server.store.name_table import SEARCHED_NAMES
from server.uris import local_url
from server.web.errors import BadRequest
from server.web.i18n import reader_language
from server.web.services import services

MAX_TEXT = 200
SHOWN = 50  # results on the page
CONTAINING = 100  # things whose names merely contain the text, at most
KIND_ORDER = {k: n for n, k in enumerate(("id", "code", "wikidata", "geonames", "name", "variant", "slug"))}
KIND_ORDER |= {"government": len(KIND_ORDER), "words": len(KIND_ORDER) + 1, "fuzzy": len(KIND_ORDER) + 2}
# What people look for first among things equally well named.
TYPE_ORDER = ("Place", "PartnershipAgreement", "Organisation", "Person", "CooperationProgramme", "Event")


@dataclass(frozen=True)
class Hit:
    """One search result as the page shows it."""

    iri: str
    url: str
    name: str
    language: str | None
    kinds: tuple[tuple[str, str | None], ...]  # (type label, its language)
    description: str
    score: float
    how: str


def slug_key(base_iri: str, iri: str) -> str:
    """The words of an entity's id: {base}id/agreement/kuopio-pudong -> "kuopio pudong"."""
    if not iri.startswith(base_iri + "id/"):
        return ""
    return normalise(local_name(iri).replace("-", " "))


def keys_from_names(facts: Facts, iri: str) -> Keys:
    """Keys made here from a thing's names, for what the name index does not hold."""
    keys = Keys()
    for names in facts.labels.names.get(iri, {}).values():
        for _, name in names:
            for predicate, key in index_entries(name, place=False):
                if predicate in (NAME_KEY, VARIANT_KEY):
                    keys.add(predicate, key)
    return keys


async def containing(matcher: Matcher, text: str) -> set[str]:
    """Things with a name that contains the text, ignoring case (what the index cannot find:
    pieces of words, ontology terms, things outside {base}id/): from the search index's trigrams
    when there is one, otherwise by reading every name."""
    if matcher.table is not None:
        return set(await asyncio.to_thread(matcher.table.containing, text, CONTAINING))
    needle = str(ox.Literal(text.lower()))
    names = "|".join(f"<{p}>" for p in SEARCHED_NAMES)  # a path: the store reads only these triples
    query = (
        f"SELECT DISTINCT ?s WHERE {{ ?s {names} ?name "
        f"FILTER(isIRI(?s) && CONTAINS(LCASE(STR(?name)), {needle})) }} LIMIT {CONTAINING}"
    )
    return {row["s"].value for row in await select(matcher.engine, query)}


def type_rank(groups: list[set[str]], types: set[str]) -> int:
    """Where a thing's types come in TYPE_ORDER (`groups`: each class there with its subclasses)."""
    return next((rank for rank, group in enumerate(groups) if types & group), len(groups))


async def find(matcher: Matcher, text: str, limit: int = SHOWN) -> list[Hit]:
    """The things a search names, best first."""
    forms = QueryForms.of(text)
    indexed, contained = await asyncio.gather(
        matcher.retrieve(Query(text, limit=limit), ()), containing(matcher, text.strip())
    )
    found = {**dict.fromkeys(contained, "contains"), **indexed}
    if not found:
        return []
    keys, facts, countries = await asyncio.gather(
        matcher.keys_of(found), facts_about(matcher.engine, set(found), matcher.iris), matcher.countries(set(found))
    )
    groups = [matcher.schema.descendants(matcher.iris.term(name)) for name in TYPE_ORDER]
    ranked = []
    for iri in found:
        own = keys.get(iri) or keys_from_names(facts, iri)
        score, how = search_score(forms, own, slug_key(matcher.base_iri, iri))
        name, language = facts.labels.choose(iri, matcher.language)
        types = facts.types.get(iri, set())
        ranked.append((-score, KIND_ORDER.get(how, 99), type_rank(groups, types), len(name), name, iri, how))
    ranked.sort()
    hits = []
    for negated, _, _, _, name, iri, how in ranked[:limit]:
        own_types = matcher.schema.own_types(facts.types.get(iri, set()))
        kinds = tuple(matcher.schema.labels.choose(t, matcher.language) for t in own_types[:2])
        country = countries.get(iri)
        description = country[1] if country and country[0] != iri else ""
        _, language = facts.labels.choose(iri, matcher.language)
        url = local_url(matcher.base_iri, iri) or iri
        hits.append(Hit(iri, url, name, language, kinds, description, -negated, how))
    return hits


async def search(request: Request) -> Response:
    """GET /search?q=...: things by name, in any of the four languages, best match first."""
    text = request.query_params.get("q", "").strip()
    if len(text) > MAX_TEXT:
        raise BadRequest(f"The search text is longer than {MAX_TEXT} characters.")
    hits = await find(await matcher_for(request, reader_language(request)), text) if text else []
    context = {"q": text, "results": hits}
    return services(request).templates.TemplateResponse(request, "search.html", context)
