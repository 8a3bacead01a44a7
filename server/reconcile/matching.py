"""Matching names and identifiers to entities: the domain knowledge of the reconciliation service.

The HTTP side (the W3C Reconciliation Service API) is server/reconcile/api.py; this module knows how
people write the names of Finnish, Swedish and Chinese cities and of the bodies that govern them,
and how to find the entities they mean without loading the data into Python.

Keys
----
Every name is compared as a *key*: Unicode NFKD, accents stripped, case folded, apostrophes
dropped, other punctuation turned into spaces, spaces collapsed ("Kuópio" and "KUOPIO" are
"kuopio"; "St. Petersburg" is "st petersburg"). Each key is also kept without spaces ("pudong
xinqu" meets "Pudongxinqu"). From the names of places come *variants*: without designators
("City of X", "X city", "X stad", "X市", "X新区", "X New Area", "X shi", ...), with St/Sankt
written Saint, and, for Chinese names, in pinyin without tones (上海市 is also "shang hai shi",
"shanghaishi", and without its designator "shanghai"). A local government's names also name the
place it governs ("Kuopion kaupunki" finds Kuopio), at a lower score. Finnish municipality
numbers ("297", "49"), Chinese division codes ("310115", and the short forms "31" and "3101" of
"310000" and "310100"), Wikidata items ("Q1757" or its IRI), GeoNames features and our own IRIs
or ids are matched exactly.

The name index
--------------
`name_index_quads` (or `add_name_index`, the same written through the bulk loader) derives the
keys once, when the store is built, into the graph <{base}graph/name-index>. Its predicates are
in a private namespace that is not part of the published vocabulary and does not dereference,
`urn:sistercities:index#`:

    idx:nameKey        a name as a key, with and without spaces
    idx:variantKey     variants of a name (designators dropped, Saint, pinyin), with and without spaces
    idx:governmentKey  on a place: the keys of the names of the local government that governs it
    idx:token          the words of names and variants (Chinese: pairs of characters), for partial matches
    idx:prefix         the first 1-6 characters of names and variants (without spaces), for autocomplete

The graph is an auxiliary index, not data: it is not merged into the default graph, so queries of
the data never see it, and reconciliation reads it with GRAPH <.../graph/name-index>. Finding the
candidates for a name is then a lookup of literals in the store's indexes (exact keys, a few
tokens); only the few candidates found are scored in Python, with rapidfuzz, and their names,
types and property values are fetched with one batched query each. That is what lets the same
code serve ten million triples: on the generated data of benchmarks/generate.py at 10M triples,
the index (13.6M quads) took under five minutes to add to an on-disk store, a batch of ten
queries is answered in well under a second and an autocomplete in a few hundredths.

Every query here is written so that the store can look things up from a bound term: a VALUES
clause for the entities and a constant or a path for the predicates, never two VALUES clauses
(which the store joins by scanning) nor a UNION under a VALUES clause (evaluated on its own).
"""

from __future__ import annotations

import asyncio
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache

import pyoxigraph as ox
from rapidfuzz import fuzz

from server.labels import ALTERNATIVE_PROPERTIES, LABEL_PROPERTIES, Labels, local_name
from server.linked.resources import Facts
from server.namespaces import NAME_INDEX_GRAPH
from server.query.engine import QueryEngine, select

# --- Vocabulary ---------------------------------------------------------------------------------

IDX = "urn:sistercities:index#"
NAME_KEY = IDX + "nameKey"
VARIANT_KEY = IDX + "variantKey"
GOVERNMENT_KEY = IDX + "governmentKey"
TOKEN = IDX + "token"
PREFIX = IDX + "prefix"
KEY_PREDICATES = (NAME_KEY, VARIANT_KEY, GOVERNMENT_KEY)
# Bump when the keys change, so that stores built with older keys are rebuilt (see server/store/build.py).
INDEX_REVISION = "1"
PREFIX_MAX = 6

SKOS = "http://www.w3.org/2004/02/skos/core#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
WGS = "http://www.w3.org/2003/01/geo/wgs84_pos#"
WIKIDATA = "http://www.wikidata.org/entity/"
GEONAMES = "https://sws.geonames.org/"
NAME_PROPERTIES = (*LABEL_PROPERTIES, *ALTERNATIVE_PROPERTIES)
LANGUAGES = ("en", "fi", "sv", "zh")


def index_graph(base_iri: str) -> str:
    return base_iri + NAME_INDEX_GRAPH


def sc(base_iri: str, name: str = "") -> str:
    return f"{base_iri}ontology#{name}"


def prologue(base_iri: str) -> str:
    return (
        f"PREFIX sc: <{sc(base_iri)}>\nPREFIX skos: <{SKOS}>\nPREFIX rdfs: <{RDFS}>\nPREFIX owl: <{OWL}>\n"
        f"PREFIX wgs: <{WGS}>\nPREFIX idx: <{IDX}>\n"
    )


LOOKUP_CHUNK = 300


def chunks(items: list, size: int) -> list[list]:
    return [items[n : n + size] for n in range(0, len(items), size)]


def values_clause(variable: str, iris: Iterable[str]) -> str:
    return f"VALUES ?{variable} {{ {' '.join(f'<{i}>' for i in iris)} }}"


def one_of(variable: str, iris: Iterable[str]) -> str:
    """FILTER(?p IN (...)): a second VALUES clause would make the store join two tables by a scan."""
    return f"FILTER(?{variable} IN ({', '.join(f'<{i}>' for i in iris)}))"


# --- Keys -----------------------------------------------------------------------------------------

_APOSTROPHES = re.compile("['`\u2019\u02bc]")  # ' ` and the typographic and modifier apostrophes
# Letters that NFKD does not decompose but that people write without the stroke or ligature.
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i"})
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+")


# The combining marks that NFKD splits off Latin, Greek and Cyrillic letters (accents, umlauts,
# rings, cedillas). The marks of other scripts are letters' vowels, not accents: they stay.
_ACCENTS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _marks() -> str:
    """A regex class body of the combining marks of the Basic Multilingual Plane (vowel signs of
    Indic scripts and the like), which are part of words although \\w does not say so."""
    ranges, start, previous = [], None, None
    for code in range(0x10000):
        if unicodedata.category(chr(code)).startswith("M"):
            if start is None:
                start = code
            previous = code
        elif start is not None:
            ranges.append(f"\\u{start:04x}-\\u{previous:04x}")
            start = None
    return "".join(ranges)


_NOT_WORD = re.compile(f"(?:[^\\w{_marks()}]|_)+")


def normalise(text: str) -> str:
    """The key of a name: NFKD, no accents, case folded, punctuation as spaces, spaces collapsed."""
    decomposed = _ACCENTS.sub("", unicodedata.normalize("NFKD", text))
    folded = _APOSTROPHES.sub("", decomposed.casefold().translate(_FOLD))
    return _NOT_WORD.sub(" ", folded).strip()


def compact(key: str) -> str:
    return key.replace(" ", "")


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


@cache
def _lazy_pinyin():
    from pypinyin import lazy_pinyin  # loads its dictionaries: only when first needed

    return lazy_pinyin


@lru_cache(maxsize=100_000)
def pinyin(key: str) -> str:
    """Chinese characters in pinyin without tones, a syllable per character ("shang hai shi")."""
    return normalise(" ".join(_lazy_pinyin()(key, v_to_u=True)))


# Words that designate the kind of place rather than name it, by position. Order matters: the
# longer designator first.
PREFIX_DESIGNATORS = ("the city of", "city of", "municipality of", "town of", "county of", "province of", "district of")
SUFFIX_DESIGNATORS = (
    "new area",
    "new district",
    "special administrative region",
    "autonomous region",
    "municipality",
    "prefecture",
    "district",
    "province",
    "county",
    "city",
    "town",
    "kaupunki",
    "kunta",
    "stad",
    "kommun",
    "xinqu",
    "sheng",
    "shi",
    "qu",
    "xian",
)
CJK_DESIGNATORS = ("特别行政区", "自治区", "自治州", "自治县", "新区", "地区", "市", "区", "省", "县")
SYNONYMS = {"st": "saint", "sankt": "saint", "ste": "sainte", "sainte": "sainte", "saint": "saint"}
STOPWORDS = frozenset(
    {"of", "the", "and", "de", "la", "le", "du", "des", "och", "ja", "new", "area", "region"}
    | {w for d in (*PREFIX_DESIGNATORS, *SUFFIX_DESIGNATORS) for w in d.split()}
)


_LEADING = re.compile("^(?:" + "|".join(map(re.escape, PREFIX_DESIGNATORS)) + ") ")
_TRAILING = re.compile(" (?:" + "|".join(map(re.escape, SUFFIX_DESIGNATORS)) + ")$")
_TRAILING_CJK = re.compile(f"(?<={_CJK.pattern})(?:" + "|".join(CJK_DESIGNATORS) + ")$")


def strip_designators(key: str) -> set[str]:
    """The key without a leading or trailing designator ("city of kuopio" -> "kuopio"; "上海市"
    -> "上海", but not "沙市" -> "沙": a name keeps at least two characters)."""
    found = set()
    leading = _LEADING.match(key)
    if leading:
        found.add(key[leading.end() :])
    for base in (key, *found):
        trailing = _TRAILING.search(base)
        if trailing:
            found.add(base[: trailing.start()])
        cjk = _TRAILING_CJK.search(base)
        if cjk and cjk.start() >= 2:
            found.add(base[: cjk.start()].strip())
    return {f for f in found if f}


def with_synonyms(key: str) -> str:
    return " ".join(SYNONYMS.get(word, word) for word in key.split())


def variant_forms(key: str, place: bool) -> tuple[set[str], set[str]]:
    """Other ways of writing a name (as keys), in the name's own script (designator-free, for
    places only, and with Saint) and in pinyin (for names in Chinese characters)."""
    plain = {key}
    if place:
        plain |= strip_designators(key)
    plain |= {with_synonyms(f) for f in plain}
    romanised = {pinyin(f) for f in plain if has_cjk(f)}
    if place:  # "shanghai shi" (typed) -> "shanghai"; the characters' own designators went above
        plain |= {s for f in list(plain) for s in strip_designators(f)}
        romanised |= {s for f in romanised for s in strip_designators(f)}
    return {f for f in plain if f} - {key}, {f for f in romanised if f} - {key}


def variants(key: str, place: bool, romanise: bool = True) -> set[str]:
    plain, romanised = variant_forms(key, place)
    return plain | romanised if romanise else plain


def spellings(keys: Iterable[str]) -> set[str]:
    """Each key with and without its spaces."""
    return {form for key in keys for form in (key, compact(key)) if form}


def tokens(keys: Iterable[str]) -> set[str]:
    """Words for partial matches: words of two or more characters that are not designators, and
    pairs of Chinese characters (with the pinyin of each run of characters)."""
    found = set()
    for key in keys:
        for word in key.split():
            if has_cjk(word):
                for run in _CJK_RUN.findall(word):
                    found |= {run[i : i + 2] for i in range(max(1, len(run) - 1))} if len(run) > 1 else set()
                    for stripped in (run, *strip_designators(run)):
                        found.add(compact(pinyin(stripped)))
            elif len(word) >= 2 and word not in STOPWORDS:
                found.add(word)
    return {t for t in found if t}


def prefixes(words: Iterable[str]) -> set[str]:
    return {word[:i] for word in words for i in range(1, min(PREFIX_MAX, len(word)) + 1)}


def index_entries(name: str, place: bool) -> list[tuple[str, str]]:
    """(predicate, key) pairs that one name of an entity contributes to the name index."""
    key = normalise(name)
    if not key:
        return []
    names = spellings([key])
    plain, romanised = variant_forms(key, place)
    others = spellings(plain | romanised) - names
    entries = [(NAME_KEY, k) for k in names] + [(VARIANT_KEY, k) for k in others]
    entries += [(TOKEN, t) for t in tokens([key, *plain])]
    entries += [(PREFIX, p) for p in prefixes({compact(k) for k in names | others})]
    return entries


def government_entries(name: str) -> list[tuple[str, str]]:
    """The keys a local government's name gives the place it governs."""
    key = normalise(name)
    if not key:
        return []
    return [(GOVERNMENT_KEY, k) for k in spellings([key, *variants(key, place=False)])]


def name_index_entries(store: ox.Store, base_iri: str) -> Iterator[tuple[ox.NamedNode, str, str]]:
    """(entity, index predicate, key) for every name of every entity under {base}id/, read from
    the default graph with one streamed query (and one more for the names of local governments)."""
    names = " ".join(f"<{p}>" for p in NAME_PROPERTIES)
    things = base_iri + "id/"
    places = [
        row["c"]
        for row in store.query(prologue(base_iri) + "SELECT DISTINCT ?c WHERE { ?c rdfs:subClassOf* sc:Place }")
    ]
    # FILTER IN rather than a property path or a VALUES clause: the fastest test per name.
    is_place = f"?s a ?c FILTER(?c IN ({', '.join(str(c) for c in places)}))" if places else "FILTER(false)"
    query = prologue(base_iri) + (
        f"SELECT ?s ?name ?place WHERE {{ VALUES ?p {{ {names} }} ?s ?p ?name "
        f'FILTER(isIRI(?s) && isLiteral(?name) && STRSTARTS(STR(?s), "{things}")) '
        f"BIND(EXISTS {{ {is_place} }} AS ?place) }}"
    )
    for row in store.query(query):
        subject = row["s"]
        for predicate, key in index_entries(row["name"].value, row["place"].value == "true"):
            yield subject, predicate, key
    governments = prologue(base_iri) + (
        f"SELECT ?place ?name WHERE {{ ?org sc:governs ?place . VALUES ?p {{ {names} }} ?org ?p ?name "
        f'FILTER(isIRI(?place) && isLiteral(?name) && STRSTARTS(STR(?place), "{things}")) }}'
    )
    for row in store.query(governments):
        for predicate, key in government_entries(row["name"].value):
            yield row["place"], predicate, key


def name_index_quads(store: ox.Store, base_iri: str) -> Iterator[ox.Quad]:
    """The name index of everything in a built store with a name (see the module docstring), as
    quads in the graph <{base}graph/name-index>.

    Streams: the names are read with one query and the quads yielded as they come, so that
    `store.extend(name_index_quads(store, base))` never holds the index in memory. Call it after
    the derived links (sc:governs, sc:country) are in the default graph; the store deduplicates,
    so calling it twice changes nothing. `add_name_index` does the same, faster.
    """
    graph = ox.NamedNode(index_graph(base_iri))
    nodes = {p: ox.NamedNode(p) for p in (*KEY_PREDICATES, TOKEN, PREFIX)}
    for subject, predicate, key in name_index_entries(store, base_iri):
        yield ox.Quad(subject, nodes[predicate], ox.Literal(key), graph)


def add_name_index(store: ox.Store, base_iri: str, chunk: int = 200_000) -> None:
    """Write the name index into a built store: `name_index_quads`, loaded as N-Quads text by the
    store's bulk loader a chunk at a time (several times faster than building Python quads, and
    never more than a chunk in memory). Keys are words and spaces only, so need no escaping."""
    graph = f"<{index_graph(base_iri)}>"
    lines: list[str] = []

    def flush() -> None:
        store.bulk_load(input="".join(lines).encode(), format=ox.RdfFormat.N_QUADS)
        lines.clear()

    for subject, predicate, key in name_index_entries(store, base_iri):
        lines.append(f'{subject} <{predicate}> "{key}" {graph} .\n')
        if len(lines) >= chunk:
            flush()
    flush()


# --- What a query says --------------------------------------------------------------------------

_QID = re.compile(r"(?:^|wikidata\.org/(?:wiki|entity)/|^wd:)(Q[1-9][0-9]*)$", re.IGNORECASE)
_GEONAMES = re.compile(r"(?:geonames\.org/|^geonames:)([1-9][0-9]*)/?(?:[\w.-]*\.html)?$", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]{1,12}")


def code_forms(text: str) -> set[str]:
    """Official codes a string of digits may stand for: a Finnish municipality number (three
    digits, zero-padded: "49" is Espoo's "049") or a Chinese division code (six digits, or nine
    for townships; the two- and four-digit province and prefecture forms are zero-padded: "31"
    is Shanghai's "310000")."""
    digits = text.strip()
    if not _DIGITS.fullmatch(digits):
        return set()
    found = {digits}
    if len(digits) <= 3:
        found.add(digits.zfill(3))
    if len(digits) in (2, 4):
        found.add(digits.ljust(6, "0"))
    return found


def wikidata_item(text: str) -> str | None:
    match = _QID.search(text.strip())
    return match.group(1).upper() if match else None


def geonames_feature(text: str) -> str | None:
    match = _GEONAMES.search(text.strip())
    return match.group(1) if match else None


@dataclass(frozen=True)
class QueryForms:
    """A query string as keys and identifiers."""

    text: str
    key: str
    variant_keys: frozenset[str]  # designator-free, Saint, pinyin (with spaces)
    tokens: frozenset[str]
    codes: frozenset[str]
    external: frozenset[str]  # Wikidata and GeoNames IRIs

    @classmethod
    def of(cls, text: str) -> QueryForms:
        key = normalise(text)
        qid, feature = wikidata_item(text), geonames_feature(text)
        external = {WIKIDATA + qid} if qid else set()
        if feature:
            external.add(f"{GEONAMES}{feature}/")
        others = variants(key, place=True) if key else set()
        return cls(
            text=text,
            key=key,
            variant_keys=frozenset(others),
            tokens=frozenset(tokens([key, *variants(key, place=True, romanise=False)]) if key else ()),
            codes=frozenset(code_forms(text)),
            external=frozenset(external),
        )

    @property
    def exact(self) -> set[str]:
        """The key, with and without spaces."""
        return spellings([self.key]) if self.key else set()

    @property
    def lookup_keys(self) -> set[str]:
        """The key and its variants, with and without spaces."""
        return spellings([self.key, *self.variant_keys]) if self.key else set()


# --- Scores ----------------------------------------------------------------------------------------

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


# --- Types ----------------------------------------------------------------------------------------


@dataclass
class Schema:
    """The classes of the ontology: labels in four languages and the subclass hierarchy."""

    base_iri: str
    labels: Labels
    parents: dict[str, set[str]]  # direct superclasses of every class (ours and others)

    @property
    def namespace(self) -> str:
        return sc(self.base_iri)

    @property
    def classes(self) -> list[str]:
        """Our own classes (those in the ontology's namespace), sorted."""
        found = {c for c in self.parents if c.startswith(self.namespace)} | {
            c for c in self.labels.names if c.startswith(self.namespace)
        }
        return sorted(c for c in found if self.labels.known(c))

    def descendants(self, iri: str) -> set[str]:
        """The class and all its subclasses."""
        children: dict[str, set[str]] = defaultdict(set)
        for child, supers in self.parents.items():
            for parent in supers:
                children[parent].add(child)
        found, frontier = {iri}, [iri]
        while frontier:
            for child in children.get(frontier.pop(), ()):
                if child not in found:
                    found.add(child)
                    frontier.append(child)
        return found

    def type_iri(self, type_id: str) -> str:
        """A type as given by a client: "City", "sc:City", an IRI, or a class label ("kaupunki")."""
        text = type_id.strip()
        if text.startswith(("http://", "https://", "urn:")):
            return text
        if text.startswith("sc:"):
            text = text[3:]
        if self.labels.known(self.namespace + text):
            return self.namespace + text
        key = normalise(text)
        for iri in self.classes:
            if normalise(local_name(iri)) == key or any(
                normalise(name) == key for names in self.labels.names[iri].values() for _, name in names
            ):
                return iri
        return self.namespace + text

    def type_id(self, iri: str) -> str:
        return iri[len(self.namespace) :] if iri.startswith(self.namespace) else iri

    def own_types(self, types: Iterable[str]) -> list[str]:
        """Of a candidate's types, ours, most specific first (a subclass before its superclass)."""
        ours = sorted(t for t in set(types) if t.startswith(self.namespace))
        depth = {t: len(self.ancestors(t)) for t in ours}
        return sorted(ours, key=lambda t: (-depth[t], t))

    def ancestors(self, iri: str) -> set[str]:
        found, frontier = set(), [iri]
        while frontier:
            for parent in self.parents.get(frontier.pop(), ()):
                if parent not in found:
                    found.add(parent)
                    frontier.append(parent)
        return found


async def load_schema(engine: QueryEngine, base_iri: str) -> Schema:
    namespace = sc(base_iri)
    hierarchy, labelled = await asyncio.gather(
        select(engine, f"SELECT ?c ?super WHERE {{ ?c <{RDFS}subClassOf> ?super FILTER(isIRI(?super)) }}", 100_000),
        select(
            engine,
            f"SELECT ?c ?label WHERE {{ ?c a ?kind ; <{RDFS}label> ?label "
            f'VALUES ?kind {{ <{OWL}Class> <{RDFS}Class> }} FILTER(STRSTARTS(STR(?c), "{namespace}")) }}',
            100_000,
        ),
    )
    parents: dict[str, set[str]] = defaultdict(set)
    for row in hierarchy:
        parents[row["c"].value].add(row["super"].value)
    labels = Labels()
    for row in labelled:
        labels.add(row["c"].value, f"{RDFS}label", row["label"].value, row["label"].language)
    return Schema(base_iri, labels, dict(parents))


# --- Properties -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Property:
    """A property offered for constraints (reconciliation) and columns (data extension).

    `pattern` binds ?v for the subject ?x; `match_pattern`, when given, is used for constraints
    instead (partOf matches any larger area, not only the next one).
    """

    id: str
    name: str
    description: str
    kind: str  # "entity", "string" or "coordinates"
    domains: tuple[str, ...]  # the classes (local names) it is proposed for
    pattern: str
    match_pattern: str | None = None
    value_type: str | None = None  # the class of entity values


PLACE_ORG_EVENT = ("Place", "Organisation", "Event")
# One property path rather than a UNION: with ?x bound by VALUES, a path is looked up in the
# store's indexes, while a UNION is evaluated on its own first (a scan of every location).
_COUNTRY = "?x sc:country|sc:location|sc:governs|((sc:location|sc:governs)/sc:country) ?v . ?v a sc:Country"
PROPERTIES: dict[str, Property] = {
    p.id: p
    for p in (
        Property(
            "country",
            "country",
            "The country of a place; of an organisation or event, that of the place it is in or governs.",
            "entity",
            PLACE_ORG_EVENT,
            _COUNTRY,
            value_type="Country",
        ),
        Property(
            "partOf",
            "part of",
            "The larger area a place belongs to (constraints match any of them: Zhucheng is part of Shandong).",
            "entity",
            ("Place",),
            "?x sc:partOf ?v",
            "?x sc:partOf+ ?v",
            value_type="Place",
        ),
        Property(
            "twinnedWith",
            "twinned with",
            "Sister and friendship cities (derived from the agreements).",
            "entity",
            ("Place",),
            "?x sc:twinnedWith ?v",
            value_type="AdministrativeArea",
        ),
        Property(
            "partnerOf",
            "partner of",
            "Partners in any partnership agreement.",
            "entity",
            ("Place",),
            "?x sc:partnerOf ?v",
            value_type="AdministrativeArea",
        ),
        Property(
            "governedBy",
            "governed by",
            "The local government of a place.",
            "entity",
            ("Place",),
            "?v sc:governs ?x",
            value_type="LocalGovernment",
        ),
        Property(
            "governs",
            "governs",
            "The area a local government governs.",
            "entity",
            ("Organisation",),
            "?x sc:governs ?v",
            value_type="AdministrativeArea",
        ),
        Property(
            "location",
            "location",
            "Where an organisation is based or an event takes place.",
            "entity",
            ("Organisation", "Event"),
            "?x sc:location ?v",
            value_type="Place",
        ),
        Property(
            "party",
            "party",
            "The parties to a partnership agreement.",
            "entity",
            ("PartnershipAgreement",),
            "?x sc:party ?v",
            value_type="AdministrativeArea",
        ),
        Property(
            "agreementType",
            "agreement type",
            "Sister city, friendship city, intercity cooperation, memorandum of understanding.",
            "entity",
            ("PartnershipAgreement",),
            "?x sc:agreementType ?v",
            value_type="AgreementType",
        ),
        Property(
            "signingDate",
            "signing date",
            "When the agreement was signed, as precisely as the source says (2012, 2012-05).",
            "string",
            ("PartnershipAgreement",),
            "?x sc:signingDate ?v",
        ),
        Property(
            "startDate",
            "start date",
            "When an agreement, event or programme began, as precisely as the source says.",
            "string",
            ("PartnershipAgreement", "Event", "CooperationProgramme"),
            "?x sc:startDate ?v",
        ),
        Property(
            "coordinates",
            "coordinates",
            "Latitude and longitude (WGS84) as 'lat,long'; constraints match within about 10 km.",
            "coordinates",
            ("Place",),
            '?x wgs:lat ?lat ; wgs:long ?long BIND(CONCAT(STR(?lat), ",", STR(?long)) AS ?v)',
        ),
        Property(
            "wikidata",
            "Wikidata item",
            "The Wikidata item (Q number) of the entity.",
            "string",
            ("Place",),
            f'?x owl:sameAs ?v FILTER(STRSTARTS(STR(?v), "{WIKIDATA}"))',
        ),
        Property(
            "geonames",
            "GeoNames feature",
            "The GeoNames feature of the place (its populated place).",
            "string",
            ("Place",),
            f'?x skos:closeMatch ?v FILTER(STRSTARTS(STR(?v), "{GEONAMES}"))',
        ),
        Property(
            "code",
            "official code",
            "Finnish municipality number (297) or Chinese administrative division code (310115).",
            "string",
            ("AdministrativeArea", "Place"),
            "?x skos:notation ?v",
        ),
        *(
            Property(
                f"label_{lang}",
                f"name ({name})",
                f"The preferred name in {name}.",
                "string",
                ("Place", "Organisation", "Event", "PartnershipAgreement", "Person"),
                f'?x skos:prefLabel ?v FILTER(LANGMATCHES(LANG(?v), "{lang}"))',
            )
            for lang, name in (("en", "English"), ("fi", "Finnish"), ("sv", "Swedish"), ("zh", "Chinese"))
        ),
    )
}


async def property_values(
    engine: QueryEngine, base_iri: str, iris: Iterable[str], pids: Iterable[str], for_matching: bool = False
) -> dict[str, dict[str, list[ox.NamedNode | ox.Literal]]]:
    """Values of some properties for many entities: IRI -> property id -> values (in a stable
    order). One query per property and few hundred entities, each of the form
    `VALUES ?x { ... } <pattern>`, which the store answers by index lookups from each ?x."""
    ordered = sorted({i for i in iris if valid_iri(i)})
    wanted = [PROPERTIES[p] for p in dict.fromkeys(pids)]
    found: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    if not ordered or not wanted:
        return found
    asked = [
        (prop.id, prologue(base_iri) + f"SELECT DISTINCT ?x ?v WHERE {{ {values_clause('x', chunk)} {pattern} }}")
        for prop in wanted
        for pattern in [prop.match_pattern if for_matching and prop.match_pattern else prop.pattern]
        for chunk in chunks(ordered, LOOKUP_CHUNK)
    ]
    answers = await asyncio.gather(*(select(engine, query, 50_000) for _, query in asked))
    for (pid, _), rows in zip(asked, answers, strict=True):
        for row in rows:
            if row["v"] is not None:
                found[row["x"].value][pid].append(row["v"])
    for by_property in found.values():
        for pid, values in by_property.items():
            by_property[pid] = sorted(set(values), key=str)
    return found


def string_value(pid: str, term: ox.NamedNode | ox.Literal) -> str:
    """A literal or external IRI value as a string a spreadsheet wants (Q162279, 650224, 297)."""
    if pid == "wikidata":
        return term.value.rsplit("/", 1)[-1]
    if pid == "geonames":
        return term.value.rstrip("/").rsplit("/", 1)[-1]
    return term.value


# --- Identifiers ------------------------------------------------------------------------------------


def valid_iri(iri: str) -> bool:
    try:
        ox.NamedNode(iri)
    except ValueError:
        return False
    return "://" in iri or iri.startswith("urn:")


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


async def entity_facts(engine: QueryEngine, base_iri: str, iris: Iterable[str]) -> Facts:
    """Names, types and coordinates of many entities (what server.linked.resources.facts_about gives,
    asked as `VALUES ?x {...} ?x ?p ?v FILTER(?p IN (...))`, which the store answers by lookups
    from each ?x; two VALUES clauses would be joined by scanning every name and type)."""
    facts = Facts()
    wanted = (*LABEL_PROPERTIES, RDF_TYPE, WGS + "lat", WGS + "long")
    ordered = sorted({i for i in iris if valid_iri(i)})
    queries = [
        f"SELECT ?x ?p ?v WHERE {{ {values_clause('x', chunk)} ?x ?p ?v {one_of('p', wanted)} }}"
        for chunk in chunks(ordered, LOOKUP_CHUNK)
    ]
    for rows in await asyncio.gather(*(select(engine, q, 100_000) for q in queries)):
        for row in rows:
            x, p, v = row["x"].value, row["p"].value, row["v"]
            if p == RDF_TYPE:
                facts.types[x].add(v.value)
            elif p in (WGS + "lat", WGS + "long"):
                try:
                    value = float(v.value)
                except ValueError:
                    continue
                lat, long = facts.coordinates.get(x, (None, None))
                facts.coordinates[x] = (value, long) if p.endswith("lat") else (lat, value)
            elif isinstance(v, ox.Literal):
                facts.labels.add(x, p, v.value, v.language)
    facts.coordinates = {k: c for k, c in facts.coordinates.items() if None not in c}
    return facts


class Matcher:
    """Finds and scores the entities that reconciliation queries mean, through a QueryEngine.

    For a batch of queries: candidates are retrieved per query from the name index (exact keys
    and identifiers, then shared words and the name's beginning), filtered by type in the same
    query; their keys are fetched in one batched query and scored here; only a short list per
    query then has its names, types, country and property values fetched.
    """

    def __init__(self, engine: QueryEngine, base_iri: str, schema: Schema, language: str = "en") -> None:
        self.engine, self.base_iri, self.schema, self.language = engine, base_iri, schema, language
        self.graph = index_graph(base_iri)

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
        if forms.lookup_keys:
            keys = " ".join(str(ox.Literal(k)) for k in sorted(forms.lookup_keys))
            # A path of the key predicates, not ?p with a filter: the same literal is also a
            # prefix or a word of thousands of other names ("a", "city"), which ?p would scan.
            path = "|".join(f"<{p}>" for p in KEY_PREDICATES)
            parts.append(f'{{ VALUES ?k {{ {keys} }} GRAPH <{self.graph}> {{ ?x {path} ?k }} BIND("key" AS ?how) }}')
        if forms.codes:
            datatypes = (None, sc(self.base_iri, "FinnishMunicipalityCode"), sc(self.base_iri, "ChineseDivisionCode"))
            codes = " ".join(
                str(ox.Literal(c, datatype=ox.NamedNode(d)) if d else ox.Literal(c))
                for c in sorted(forms.codes)
                for d in datatypes
            )
            parts.append(f'{{ VALUES ?code {{ {codes} }} ?x skos:notation ?code BIND("code" AS ?how) }}')
        for external in sorted(forms.external):
            how = "wikidata" if external.startswith(WIKIDATA) else "geonames"
            parts.append(f'{{ ?x owl:sameAs|skos:closeMatch|skos:exactMatch <{external}> BIND("{how}" AS ?how) }}')
        own = entity_iri(self.base_iri, forms.text, origins)
        if own.startswith(self.base_iri + "id/") and valid_iri(own) and "/" in forms.text.strip().strip("/"):
            parts.append(f'{{ BIND(<{own}> AS ?x) FILTER EXISTS {{ ?x ?anyp ?anyo }} BIND("id" AS ?how) }}')
        if not parts:
            return None
        return (
            prologue(self.base_iri)
            + f"SELECT DISTINCT ?x ?how WHERE {{ {' UNION '.join(parts)} FILTER(isIRI(?x)) "
            + f"{self._type_filter(types)} }} LIMIT {RETRIEVE_EXACT}"
        )

    def _partial_query(self, forms: QueryForms, types: Iterable[str], limit: int) -> str | None:
        """Entities sharing words with the query, or whose name begins as the query does (which
        lets a typo after the first characters, "Helsinky", still find its entity for fuzzy
        scoring); most shared words first."""
        start = compact(forms.key)
        parts = []
        if forms.tokens:
            words = " ".join(str(ox.Literal(t)) for t in sorted(forms.tokens))
            parts.append(f"{{ VALUES ?t {{ {words} }} GRAPH <{self.graph}> {{ ?x <{TOKEN}> ?t }} }}")
        if len(start) >= 4:  # shorter beginnings are shared by too many names to help
            head = start[: min(PREFIX_MAX, len(start) if len(start) == 4 else len(start) - 1)]
            parts.append(f'{{ GRAPH <{self.graph}> {{ ?x <{PREFIX}> {ox.Literal(head)!s} }} BIND("" AS ?t) }}')
        if not parts:
            return None
        return (
            f"SELECT ?x (COUNT(DISTINCT ?t) AS ?n) WHERE {{ {' UNION '.join(parts)} {self._type_filter(types)} }} "
            f"GROUP BY ?x ORDER BY DESC(?n) LIMIT {limit}"
        )

    async def _retrieve(self, query: Query, origins: Iterable[str]) -> dict[str, str]:
        """Candidates of one query: IRI -> how it was found (id, code, wikidata, geonames, key, token)."""
        forms = QueryForms.of(query.text or "")
        exact = self._exact_query(forms, query.types, origins)
        partial = self._partial_query(forms, query.types, max(RETRIEVE_PARTIAL, query.limit * 3))
        exact_rows, partial_rows = await asyncio.gather(
            select(self.engine, exact, RETRIEVE_EXACT * 2) if exact else _nothing(),
            select(self.engine, partial, RETRIEVE_PARTIAL * 10) if partial else _nothing(),
        )
        found: dict[str, str] = {}
        for row in exact_rows:
            iri, how = row["x"].value, row["how"].value
            if RETRIEVAL_ORDER[how] < RETRIEVAL_ORDER[found.get(iri, "token")]:
                found[iri] = how
        for row in partial_rows:
            found.setdefault(row["x"].value, "token")
        return found

    async def _keys(self, iris: Iterable[str]) -> dict[str, Keys]:
        keys: dict[str, Keys] = defaultdict(Keys)
        queries = [
            f"SELECT ?x ?p ?k WHERE {{ {values_clause('x', chunk)} GRAPH <{self.graph}> {{ ?x ?p ?k }} "
            f"{one_of('p', KEY_PREDICATES)} }}"
            for chunk in chunks(sorted(i for i in iris if valid_iri(i)), LOOKUP_CHUNK)
        ]
        for rows in await asyncio.gather(*(select(self.engine, q, 100_000) for q in queries)):
            for row in rows:
                keys[row["x"].value].add(row["p"].value, row["k"].value)
        return keys

    async def resolve(self, texts: Iterable[str], origins: Iterable[str] = ()) -> dict[str, set[str]]:
        """The entities that strings name exactly (an id, a code, an identifier, a name or one of
        its variants), for constraints such as country: "Finland", "Suomi", "place/finland"."""
        texts = sorted(set(texts))
        queries = {t: self._exact_query(QueryForms.of(t), (), origins) for t in texts}
        asked = [t for t in texts if queries[t]]
        results = await asyncio.gather(*(select(self.engine, queries[t], RETRIEVE_EXACT) for t in asked))
        resolved: dict[str, set[str]] = {t: set() for t in texts}
        for text, rows in zip(asked, results, strict=True):
            resolved[text] = {row["x"].value for row in rows}
        return resolved

    # Matching ------------------------------------------------------------------------------------

    async def match(self, queries: list[Query], origins: Iterable[str] = ()) -> list[list[Candidate]]:
        """Candidates for each query, best first, with scores 0-100 and match decisions."""
        origins = tuple(origins)
        retrieved = list(await asyncio.gather(*(self._retrieve(q, origins) for q in queries)))
        property_only = {n for n, q in enumerate(queries) if not (q.text or "").strip() and q.conditions}
        for n in property_only:
            retrieved[n] = await self._retrieve_by_conditions(queries[n], origins)
        keys = await self._keys({iri for found in retrieved for iri in found})
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
            entity_facts(self.engine, self.base_iri, everything),
            self._countries(everything),
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
            candidate.description = self._description(candidate, context)
        candidates.sort(key=lambda c: (-c.score, ORDER.get(c.kind, 99), len(c.name), c.name, c.iri))
        if candidates:
            top, rest = candidates[0], candidates[1:]
            certain = top.kind in EXACT_KINDS and top.score >= KIND_SCORES["government"]
            alone = not rest or rest[0].score < top.score
            contradicted = any(value is False for value in top.conditions.values())
            top.match = certain and alone and not contradicted
        return candidates[: max(1, query.limit)]

    def _description(self, candidate: Candidate, context: dict) -> str:
        names = [self.schema.labels.best(t, self.language) for t in candidate.types[:2]]
        country = context.get(candidate.iri)
        parts = [", ".join(names)] if names else []
        if country and country[0] != candidate.iri:
            parts.append(country[1])
        return " · ".join(parts)

    async def _countries(self, iris: set[str]) -> dict[str, tuple[str, str]]:
        """The country of each entity and its name in the reader's language."""
        values = await property_values(self.engine, self.base_iri, iris, ["country"])
        countries = {v.value for by in values.values() for v in by.get("country", [])}
        labels = (await entity_facts(self.engine, self.base_iri, countries)).labels
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
                asked = [self._exact_query(QueryForms.of(str(v)), (), origins) for v in condition.values]
                results = await asyncio.gather(*(select(self.engine, q, RETRIEVE_EXACT) for q in asked if q))
                direct = sorted({row["x"].value for rows in results for row in rows})
                if direct:
                    parts.append(f"{{ {values_clause('x', direct)} }}")
        if not parts:
            return {}
        sparql = (
            prologue(self.base_iri)
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

    async def suggest(
        self, prefix: str, types: Iterable[str], limit: int, offset: int, origins: Iterable[str] = ()
    ) -> list[Candidate]:
        """Autocomplete: entities with a name (or variant) that begins with the prefix, with a word
        equal to it, or that it identifies (id, code, Wikidata item); exact names first, then
        names that begin with it, shortest first."""
        forms = QueryForms.of(prefix)
        start = compact(forms.key)
        types = tuple(types)
        queries = [q for q in (self._exact_query(forms, types, origins),) if q]
        if start:
            longer = (
                f". ?x <{NAME_KEY}>|<{VARIANT_KEY}> ?k FILTER(STRSTARTS(?k, {ox.Literal(start)!s}))"
                if len(start) > PREFIX_MAX
                else ""
            )
            words = " ".join(str(ox.Literal(w)) for w in sorted(forms.tokens | set(forms.key.split())))
            by_word = f"UNION {{ VALUES ?w {{ {words} }} ?x <{TOKEN}> ?w }}" if words else ""
            queries.append(
                f"SELECT DISTINCT ?x WHERE {{ GRAPH <{self.graph}> {{ {{ ?x <{PREFIX}> "
                f"{ox.Literal(start[:PREFIX_MAX])!s} {longer} }} {by_word} }} {self._type_filter(types)} }} "
                f"LIMIT {max(200, (offset + limit) * 4)}"
            )
        found: dict[str, str] = {}
        for rows in await asyncio.gather(*(select(self.engine, q, 1_000) for q in queries)):
            for row in rows:
                how = row["how"].value if row["how"] is not None else "prefix"
                if how != "key" or row["x"].value not in found:
                    found[row["x"].value] = how
        if not found:
            return []
        keys = await self._keys(found)
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
        facts, context = await asyncio.gather(entity_facts(self.engine, self.base_iri, iris), self._countries(iris))
        ranked = self._decide(shortlist, Query(prefix, types, limit=len(shortlist)), facts, context)
        return ranked[offset : offset + limit]


async def _nothing() -> list:
    return []


def near(text: str, value: str, degrees: float = 0.1) -> bool:
    """Whether 'lat,long' texts are within about 10 km of each other."""
    try:
        lat, long = (float(x) for x in text.replace(";", ",").split(",")[:2])
        their_lat, their_long = (float(x) for x in value.split(",")[:2])
    except ValueError:
        return False
    return math.hypot(lat - their_lat, (long - their_long) * math.cos(math.radians(lat))) <= degrees
