"""Matching names and identifiers to entities: retrieval, scoring, decisions.

Matching names and identifiers to entities: the domain side of the reconciliation service.

The HTTP side (the W3C Reconciliation Service API) is server/reconcile/api.py; keys are
server/reconcile/keys.py and scores server/reconcile/scoring.py. Nothing is loaded into Python:
candidates are found by looking keys up in the store's name index (server.store.name_index), and
only the few found are scored here; their names, types and property values are fetched with one
batched query each. On the generated data of benchmarks/generate.py at 10M triples a batch of ten
queries is answered in well under a second and an autocomplete in a few hundredths.

Every query here is written so that the store can look things up from a bound term: a VALUES
clause for the entities and a constant or a path for the predicates, never two VALUES clauses
(which the store joins by scanning) nor a UNION under a VALUES clause (evaluated on its own).
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from server.namespaces import WD
from server.query.engine import QueryEngine, select
from server.query.facts import Facts, facts_about
from server.reconcile.keys import (
    PREFIX_MAX,
    QueryForms,
    code_forms,
    compact,
    geonames_feature,
    normalise,
    wikidata_item,
)
from server.reconcile.properties import PROPERTIES, Property, property_values, string_value
from server.reconcile.schema import Schema
from server.reconcile.scoring import EXACT_KINDS, KIND_SCORES, Keys, name_score
from server.store.name_index import KEY_PREDICATES, NAME_KEY, PREFIX, TOKEN, VARIANT_KEY
from server.store.name_table import NameTable
from server.store.sparql_text import chunks, one_of, prologue, valid_iri, values_clause
from server.uris import Iris

# --- Identifiers ------------------------------------------------------------------------------------


def entity_id(base_iri: str, iri: str) -> str:
    """Our compact id of an entity: its IRI after {base}id/ ("place/kuopio"); other IRIs as they are."""
    things = base_iri + "id/"
    return iri[len(things) :] if iri.startswith(things) and len(iri) > len(things) else iri


def entity_iri(base_iri: str, value: str, origins: Iterable[str] = ()) -> str:
    """The IRI an id names: "place/kuopio", "/id/place/kuopio", its full IRI or a URL of its
    page on this server ({origin}/id/place/kuopio or {origin}/doc/place/kuopio)."""
    text = value.strip()
    for start in (*(o.rstrip("/") for o in origins), base_iri.rstrip("/")):
        for section in ("/id/", "/doc/"):
            if start and text.startswith(start + section):
                return base_iri + "id/" + text[len(start + section) :]
    if text.startswith(("http://", "https://", "urn:")):
        return text
    return base_iri + "id/" + text.removeprefix("/").removeprefix("id/")


# --- Reconciliation ---------------------------------------------------------------------------------


@dataclass
class Condition:
    """A property a candidate should have: values are strings, numbers, booleans or {"id": ...}."""

    pid: str
    values: list
    required: bool = False
    quantifier: str = "any"  # any, all or none


@dataclass
class Query:
    text: str | None
    types: tuple[str, ...] = ()  # type IRIs: a candidate must have one of them (or a subclass)
    limit: int = 10
    conditions: list[Condition] = field(default_factory=list)


@dataclass
class Candidate:
    iri: str
    score: float
    kind: str
    name_score: float = 0.0
    name: str = ""
    language: str | None = None
    types: list[str] = field(default_factory=list)
    description: str = ""
    match: bool = False
    conditions: dict[str, bool | None] = field(default_factory=dict)  # pid -> matched (None: unknown)


RETRIEVE_EXACT = 200
RETRIEVE_PARTIAL = 30
ORDER = {kind: n for n, kind in enumerate((*EXACT_KINDS, "property", "prefix", "word", "fuzzy"))}
RETRIEVAL_ORDER = {how: n for n, how in enumerate(("id", "code", "wikidata", "geonames", "key", "token"))}


class Matcher:
    """Finds and scores the entities that reconciliation queries mean, through a QueryEngine.

    For a batch of queries: candidates are retrieved per query from the name index (exact keys
    and identifiers, then shared words and the name's beginning), filtered by type in the same
    query; their keys are fetched in one batched query and scored here; only a short list per
    query then has its names, types, country and property values fetched.
    """

    def __init__(
        self, engine: QueryEngine, base_iri: str, schema: Schema, language: str = "en", table: NameTable | None = None
    ) -> None:
        self.engine, self.base_iri, self.schema, self.language = engine, base_iri, schema, language
        self.iris = Iris(base_iri)
        self.graph = self.iris.name_index_graph
        self.table = table  # the search index beside the build; the name index graph when None

    # Retrieval ---------------------------------------------------------------------------------

    def allowed_types(self, types: Iterable[str]) -> set[str]:
        return {d for t in types for d in self.schema.descendants(t) if valid_iri(d)}

    def _type_filter(self, types: Iterable[str]) -> str:
        types = tuple(types)
        if not types:
            return ""
        allowed = self.allowed_types(types)
        if not allowed:  # only types that cannot be IRIs: nothing has them
            return "FILTER(false)"
        return f"FILTER EXISTS {{ ?x a ?type {values_clause('type', sorted(allowed))} }}"

    def _exact_query(self, forms: QueryForms, types: Iterable[str], origins: Iterable[str]) -> str | None:
        """Entities a query names exactly: by a key (of a name, variant or government), an official
        code, a Wikidata or GeoNames IRI, or our own id."""
        parts = []
        if forms.lookup_keys and self.table is None:
            keys = " ".join(str(ox.Literal(k)) for k in sorted(forms.lookup_keys))
            # A path of the key predicates, not ?p with a filter: the same literal is also a
            # prefix or a word of thousands of other names ("a", "city"), which ?p would scan.
            path = "|".join(f"<{p}>" for p in KEY_PREDICATES)
            parts.append(f'{{ VALUES ?k {{ {keys} }} GRAPH <{self.graph}> {{ ?x {path} ?k }} BIND("key" AS ?how) }}')
        if forms.codes:
            datatypes = (None, self.iris.term("FinnishMunicipalityCode"), self.iris.term("ChineseDivisionCode"))
            codes = " ".join(
                str(ox.Literal(c, datatype=ox.NamedNode(d)) if d else ox.Literal(c))
                for c in sorted(forms.codes)
                for d in datatypes
            )
            parts.append(f'{{ VALUES ?code {{ {codes} }} ?x skos:notation ?code BIND("code" AS ?how) }}')
        for external in sorted(forms.external):
            how = "wikidata" if external.startswith(WD.iri) else "geonames"
            parts.append(f'{{ ?x owl:sameAs|skos:closeMatch|skos:exactMatch <{external}> BIND("{how}" AS ?how) }}')
        own = entity_iri(self.base_iri, forms.text, origins)
        if own.startswith(self.base_iri + "id/") and valid_iri(own) and "/" in forms.text.strip().strip("/"):
            parts.append(f'{{ BIND(<{own}> AS ?x) FILTER EXISTS {{ ?x ?anyp ?anyo }} BIND("id" AS ?how) }}')
        if not parts:
            return None
        return (
            prologue(self.iris.ontology_namespace)
            + f"SELECT DISTINCT ?x ?how WHERE {{ {' UNION '.join(parts)} FILTER(isIRI(?x)) "
            + f"{self._type_filter(types)} }} LIMIT {RETRIEVE_EXACT}"
        )

    def _partial_query(self, forms: QueryForms, types: Iterable[str], limit: int) -> str | None:
        """Entities sharing words with the query (or words one letter away from them: "Bejing",
        "Shangai"), or whose name begins as the query does (which lets a typo after the first
        characters, "Helsinky", still find its entity for fuzzy scoring); most shared words first."""
        head = partial_head(forms)
        parts = []
        if forms.tokens or forms.typos:
            # A word one letter away counts as a shared word: scoring then tells typo from name.
            words = " ".join(str(ox.Literal(t)) for t in sorted(forms.tokens | forms.typos))
            parts.append(f"{{ VALUES ?t {{ {words} }} GRAPH <{self.graph}> {{ ?x <{TOKEN}> ?t }} }}")
        if head:
            parts.append(f'{{ GRAPH <{self.graph}> {{ ?x <{PREFIX}> {ox.Literal(head)!s} }} BIND("" AS ?t) }}')
        if not parts:
            return None
        return (
            f"SELECT ?x (COUNT(DISTINCT ?t) AS ?n) WHERE {{ {' UNION '.join(parts)} {self._type_filter(types)} }} "
            f"GROUP BY ?x ORDER BY DESC(?n) LIMIT {limit}"
        )

    async def exact(self, forms: QueryForms, types: Iterable[str], origins: Iterable[str]) -> list[tuple[str, str]]:
        """(IRI, how) of the entities a query names exactly: from the store, and from the search
        index when there is one (then filtered by type with one query)."""
        types = tuple(types)
        query = self._exact_query(forms, types, origins)
        rows = await select(self.engine, query, RETRIEVE_EXACT * 2) if query else []
        found = [(row["x"].value, row["how"].value) for row in rows]
        if self.table is not None and forms.lookup_keys:
            named = await asyncio.to_thread(self.table.exact, forms.lookup_keys, RETRIEVE_EXACT)
            keyed = await self.of_types(named, types)
            found += [(iri, "key") for iri in keyed]
        return found

    async def of_types(self, iris: list[str], types: Iterable[str]) -> list[str]:
        """Those of the entities that have one of the types (or a subclass), in their order."""
        types = tuple(types)
        if not types or not iris:
            return iris
        queries = [
            f"SELECT ?x WHERE {{ {values_clause('x', chunk)} {self._type_filter(types)} }}"
            for chunk in chunks([i for i in iris if valid_iri(i)])
        ]
        kept = {
            row["x"].value for rows in await asyncio.gather(*(select(self.engine, q) for q in queries)) for row in rows
        }
        return [iri for iri in iris if iri in kept]

    async def _partial(self, forms: QueryForms, types: Iterable[str], limit: int) -> list[str]:
        """Entities sharing words with the query or beginning as it does, most shared words first."""
        if self.table is None:
            partial = self._partial_query(forms, types, limit)
            return [row["x"].value for row in await select(self.engine, partial, limit * 10)] if partial else []
        return await self._sharing(forms.tokens | forms.typos, partial_head(forms), types, limit)

    async def _sharing(self, words: set[str], head: str, types: Iterable[str], limit: int) -> list[str]:
        """From the search index: things sharing words or a beginning with the query, of the types;
        read five times over when a type will leave some out."""
        types = tuple(types)
        found = await asyncio.to_thread(self.table.sharing, words, head, limit * 5 if types else limit)
        return (await self.of_types(found, types))[:limit]

    async def retrieve(self, query: Query, origins: Iterable[str]) -> dict[str, str]:
        """Candidates of one query: IRI -> how it was found (id, code, wikidata, geonames, key, token)."""
        forms = QueryForms.of(query.text or "")
        exact_rows, partial_rows = await asyncio.gather(
            self.exact(forms, query.types, origins),
            self._partial(forms, query.types, max(RETRIEVE_PARTIAL, query.limit * 3)),
        )
        found: dict[str, str] = {}
        for iri, how in exact_rows:
            if RETRIEVAL_ORDER[how] < RETRIEVAL_ORDER[found.get(iri, "token")]:
                found[iri] = how
        for iri in partial_rows:
            found.setdefault(iri, "token")
        return found

    async def keys_of(self, iris: Iterable[str]) -> dict[str, Keys]:
        keys: dict[str, Keys] = defaultdict(Keys)
        if self.table is not None:
            for iri, pairs in (await asyncio.to_thread(self.table.keys_of, list(iris))).items():
                for predicate, key in pairs:
                    keys[iri].add(predicate, key)
            return keys
        queries = [
            f"SELECT ?x ?p ?k WHERE {{ {values_clause('x', chunk)} GRAPH <{self.graph}> {{ ?x ?p ?k }} "
            f"{one_of('p', KEY_PREDICATES)} }}"
            for chunk in chunks(sorted(i for i in iris if valid_iri(i)))
        ]
        for rows in await asyncio.gather(*(select(self.engine, q, 100_000) for q in queries)):
            for row in rows:
                keys[row["x"].value].add(row["p"].value, row["k"].value)
        return keys

    async def resolve(self, texts: Iterable[str], origins: Iterable[str] = ()) -> dict[str, set[str]]:
        """The entities that strings name exactly (an id, a code, an identifier, a name or one of
        its variants), for constraints such as country: "Finland", "Suomi", "place/finland"."""
        texts = sorted(set(texts))
        results = await asyncio.gather(*(self.exact(QueryForms.of(t), (), origins) for t in texts))
        return {text: {iri for iri, _ in rows} for text, rows in zip(texts, results, strict=True)}

    # Matching ------------------------------------------------------------------------------------

    async def match(self, queries: list[Query], origins: Iterable[str] = ()) -> list[list[Candidate]]:
        """Candidates for each query, best first, with scores 0-100 and match decisions."""
        origins = tuple(origins)
        retrieved = list(await asyncio.gather(*(self.retrieve(q, origins) for q in queries)))
        property_only = {n for n, q in enumerate(queries) if not (q.text or "").strip() and q.conditions}
        for n in property_only:
            retrieved[n] = await self._retrieve_by_conditions(queries[n], origins)
        keys = await self.keys_of({iri for found in retrieved for iri in found})
        shortlists = []
        for n, (query, found) in enumerate(zip(queries, retrieved, strict=True)):
            forms = QueryForms.of(query.text or "")
            scored = []
            for iri, how in found.items():
                if how in ("id", "code", "wikidata", "geonames"):
                    score, kind = KIND_SCORES[how], how
                elif n in property_only:
                    score, kind = 0.0, "property"
                else:
                    score, kind = name_score(forms, keys.get(iri, Keys()))
                scored.append(Candidate(iri, score, kind, name_score=score))
            scored.sort(key=lambda c: (-c.score, ORDER.get(c.kind, 99), c.iri))
            # Keep enough to rank by name after the names are known, and for conditions to reorder.
            keep = query.limit * 3 + 10 if query.conditions else query.limit + 5
            shortlists.append(scored[:keep])
        everything = {c.iri for shortlist in shortlists for c in shortlist}
        facts, context, checks = await asyncio.gather(
            facts_about(self.engine, everything, self.iris),
            self.countries(everything),
            self._check_conditions(queries, [{c.iri: c.kind for c in s} for s in shortlists], origins),
        )
        answers = []
        for n, (query, shortlist) in enumerate(zip(queries, shortlists, strict=True)):
            allowed = self.allowed_types(query.types)
            candidates = [
                c
                for c in shortlist
                if not (query.types and not facts.types.get(c.iri, set()) & allowed)
                and self._apply_conditions(c, query, checks.get((n, c.iri), {}))
            ]
            answers.append(self._decide(candidates, query, facts, context))
        return answers

    def _apply_conditions(self, candidate: Candidate, query: Query, checks: dict[str, bool | None]) -> bool:
        """Fold the property conditions into the score; False drops the candidate (a required
        condition not met)."""
        if not query.conditions:
            return True
        met = 0
        for condition in query.conditions:
            result = checks.get(condition.pid)
            candidate.conditions[condition.pid] = result
            if result is True:
                met += 1
            elif condition.required:
                return False
            elif result is False:
                candidate.score *= 0.6
            else:
                candidate.score *= 0.95
        if candidate.kind == "property":
            candidate.score = 100.0 * met / len(query.conditions)
            identifying = any(c.pid in ("code", "wikidata", "geonames") for c in query.conditions)
            if met == len(query.conditions) and identifying:
                candidate.kind = "code"
        candidate.score = round(candidate.score, 1)
        return True

    def _decide(self, candidates: list[Candidate], query: Query, facts: Facts, context: dict) -> list[Candidate]:
        for candidate in candidates:
            candidate.name, candidate.language = facts.labels.choose(candidate.iri, self.language)
            candidate.types = self.schema.own_types(facts.types.get(candidate.iri, ()))
            candidate.description = self.describe(candidate, context)
        candidates.sort(key=lambda c: (-c.score, ORDER.get(c.kind, 99), len(c.name), c.name, c.iri))
        if candidates:
            top, rest = candidates[0], candidates[1:]
            certain = top.kind in EXACT_KINDS and top.score >= KIND_SCORES["government"]
            alone = not rest or rest[0].score < top.score
            contradicted = any(value is False for value in top.conditions.values())
            top.match = certain and alone and not contradicted
        return candidates[: max(1, query.limit)]

    def describe(self, candidate: Candidate, context: dict) -> str:
        names = [self.schema.labels.best(t, self.language) for t in candidate.types[:2]]
        country = context.get(candidate.iri)
        parts = [", ".join(names)] if names else []
        if country and country[0] != candidate.iri:
            parts.append(country[1])
        return " · ".join(parts)

    async def countries(self, iris: set[str]) -> dict[str, tuple[str, str]]:
        """The country of each entity and its name in the reader's language."""
        values = await property_values(self.engine, self.base_iri, iris, ["country"])
        countries = {v.value for by in values.values() for v in by.get("country", [])}
        labels = (await facts_about(self.engine, countries, self.iris)).labels
        return {
            iri: (by["country"][0].value, labels.best(by["country"][0].value, self.language))
            for iri, by in values.items()
            if by.get("country")
        }

    # Conditions ----------------------------------------------------------------------------------

    async def _retrieve_by_conditions(self, query: Query, origins: Iterable[str]) -> dict[str, str]:
        """Candidates of a query without a name: entities with any of the property values."""
        parts = []
        for condition in query.conditions:
            prop = PROPERTIES.get(condition.pid)
            if prop is None:
                continue
            if prop.kind == "entity":
                texts = [v for v in condition.values if isinstance(v, str | int | float) and not isinstance(v, bool)]
                resolved = await self.resolve([str(t) for t in texts], origins)
                targets = {i for found in resolved.values() for i in found}
                targets |= {
                    entity_iri(self.base_iri, v["id"], origins) for v in condition.values if isinstance(v, dict)
                }
                targets = {t for t in targets if valid_iri(t)}
                if targets:
                    pattern = prop.match_pattern or prop.pattern
                    parts.append(f"{{ {values_clause('v', sorted(targets))} {pattern} }}")
            elif condition.pid in ("code", "wikidata", "geonames"):
                asked = [self.exact(QueryForms.of(str(v)), (), origins) for v in condition.values]
                direct = sorted({iri for rows in await asyncio.gather(*asked) for iri, _ in rows})
                if direct:
                    parts.append(f"{{ {values_clause('x', direct)} }}")
        if not parts:
            return {}
        sparql = (
            prologue(self.iris.ontology_namespace)
            + f"SELECT DISTINCT ?x WHERE {{ {' UNION '.join(parts)} FILTER(isIRI(?x)) "
            + f"{self._type_filter(query.types)} }} LIMIT {RETRIEVE_EXACT}"
        )
        return {row["x"].value: "property" for row in await select(self.engine, sparql, RETRIEVE_EXACT)}

    async def _check_conditions(
        self, queries: list[Query], candidates: list[dict[str, str]], origins: Iterable[str]
    ) -> dict[tuple[int, str], dict[str, bool | None]]:
        """For each (query, candidate): property id -> met, not met, or None (no value to tell)."""
        wanted = [(n, q) for n, q in enumerate(queries) if q.conditions]
        if not wanted:
            return {}
        pids = {c.pid for _, q in wanted for c in q.conditions if c.pid in PROPERTIES}
        iris = {iri for n, _ in wanted for iri in candidates[n]}
        texts = {
            str(v)
            for _, q in wanted
            for c in q.conditions
            if c.pid in PROPERTIES and PROPERTIES[c.pid].kind == "entity"
            for v in c.values
            if not isinstance(v, dict | bool)
        }
        values, resolved = await asyncio.gather(
            property_values(self.engine, self.base_iri, iris, pids, for_matching=True), self.resolve(texts, origins)
        )
        checks: dict[tuple[int, str], dict[str, bool | None]] = {}
        for n, query in wanted:
            for iri in candidates[n]:
                checks[(n, iri)] = {
                    c.pid: self._check(c, values.get(iri, {}).get(c.pid, []), resolved, origins)
                    for c in query.conditions
                }
        return checks

    def _check(self, condition: Condition, values: list, resolved: dict[str, set[str]], origins) -> bool | None:
        prop = PROPERTIES.get(condition.pid)
        if prop is None or not values:
            return None if prop is None or condition.quantifier != "none" else True
        results = [self._value_matches(prop, v, values, resolved, origins) for v in condition.values]
        if condition.quantifier == "all":
            return all(results)
        if condition.quantifier == "none":
            return not any(results)
        return any(results)

    def _value_matches(self, prop: Property, wanted, values: list, resolved: dict[str, set[str]], origins) -> bool:
        if prop.kind == "entity":
            have = {v.value for v in values}
            if isinstance(wanted, dict):
                return entity_iri(self.base_iri, str(wanted.get("id", "")), origins) in have
            return bool(have & resolved.get(str(wanted), set()))
        text = str(wanted.get("id") if isinstance(wanted, dict) else wanted)
        if prop.kind == "coordinates":
            return any(near(text, v.value) for v in values)
        have = {string_value(prop.id, v) for v in values}
        if prop.id == "code":
            return bool(have & code_forms(text)) or text.strip() in have
        if prop.id == "wikidata":
            return wikidata_item(text) in have
        if prop.id == "geonames":
            return (geonames_feature(text) or text.strip()) in have
        return normalise(text) in {normalise(h) for h in have}

    # Autocomplete ----------------------------------------------------------------------------------

    async def _beginning(self, forms: QueryForms, types: tuple[str, ...], limit: int) -> list[str]:
        """Entities with a name or variant that begins as the text does, or a word equal to one of it."""
        start = compact(forms.key)
        if not start:
            return []
        words = forms.tokens | set(forms.key.split())
        if self.table is not None:
            return await self._sharing(words, start, types, limit)
        longer = (
            f". ?x <{NAME_KEY}>|<{VARIANT_KEY}> ?k FILTER(STRSTARTS(?k, {ox.Literal(start)!s}))"
            if len(start) > PREFIX_MAX
            else ""
        )
        listed = " ".join(str(ox.Literal(w)) for w in sorted(words))
        by_word = f"UNION {{ VALUES ?w {{ {listed} }} ?x <{TOKEN}> ?w }}" if listed else ""
        query = (
            f"SELECT DISTINCT ?x WHERE {{ GRAPH <{self.graph}> {{ {{ ?x <{PREFIX}> "
            f"{ox.Literal(start[:PREFIX_MAX])!s} {longer} }} {by_word} }} {self._type_filter(types)} }} "
            f"LIMIT {limit}"
        )
        return [row["x"].value for row in await select(self.engine, query, 1_000)]

    async def suggest(
        self, prefix: str, types: Iterable[str], limit: int, offset: int, origins: Iterable[str] = ()
    ) -> list[Candidate]:
        """Autocomplete: entities with a name (or variant) that begins with the prefix, with a word
        equal to it, or that it identifies (id, code, Wikidata item); exact names first, then
        names that begin with it, shortest first."""
        forms = QueryForms.of(prefix)
        start = compact(forms.key)
        types = tuple(types)
        wanted = max(200, (offset + limit) * 4)
        found: dict[str, str] = {}
        for iri, how in await self.exact(forms, types, origins):
            if how != "key" or iri not in found:
                found[iri] = how
        for iri in await self._beginning(forms, types, wanted):
            found.setdefault(iri, "prefix")
        if not found:
            return []
        keys = await self.keys_of(found)
        scored = []
        for iri, how in found.items():
            own = keys.get(iri, Keys())
            spelled = own.names | own.variants
            if how in ("id", "code", "wikidata", "geonames") or forms.exact & own.names:
                score, kind = 100.0, how if how in EXACT_KINDS else "name"
            elif forms.lookup_keys & spelled:
                score, kind = 95.0, "variant"
            elif beginning := [k for k in spelled if start and k.startswith(start)]:
                score, kind = 90.0 - min(len(k) - len(start) for k in beginning) / 10, "prefix"
            else:
                score, kind = 70.0, "word"
            scored.append(Candidate(iri, round(max(score, 1.0), 1), kind))
        scored.sort(key=lambda c: (-c.score, ORDER.get(c.kind, 99), c.iri))
        shortlist = scored[: offset + limit + 10]
        iris = {c.iri for c in shortlist}
        facts, context = await asyncio.gather(facts_about(self.engine, iris, self.iris), self.countries(iris))
        ranked = self._decide(shortlist, Query(prefix, types, limit=len(shortlist)), facts, context)
        return ranked[offset : offset + limit]


def partial_head(forms: QueryForms) -> str:
    """The beginning of names a query is looked up by: shorter beginnings than four characters
    are shared by too many names to help; a longer one drops its last character (a typo there)."""
    start = compact(forms.key)
    if len(start) < 4:
        return ""
    return start[: min(PREFIX_MAX, len(start) if len(start) == 4 else len(start) - 1)]


def near(text: str, value: str, degrees: float = 0.1) -> bool:
    """Whether 'lat,long' texts are within about 10 km of each other."""
    try:
        lat, long = (float(x) for x in text.replace(";", ",").split(",")[:2])
        their_lat, their_long = (float(x) for x in value.split(",")[:2])
    except ValueError:
        return False
    return math.hypot(lat - their_lat, (long - their_long) * math.cos(math.radians(lat))) <= degrees
