"""Name keys: how people write the names of places and of the bodies that govern them.

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

The same keys are written into the store's name index when it is built (`NAME_KEYS`, handed to
server.store.name_index) and made of every query, so both sides always agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from server.namespaces import GEONAMES, WD
from server.store.name_index import GOVERNMENT_KEY, NAME_KEY, PREFIX, TOKEN, VARIANT_KEY

# Bump when the keys change, so that stores built with older keys are rebuilt.
KEYS_REVISION = "1"
PREFIX_MAX = 6


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


@cache
def _not_word() -> re.Pattern[str]:
    """Runs of what is not part of a word; built on first use, as listing the marks takes 50 ms."""
    return re.compile(f"(?:[^\\w{_marks()}]|_)+")


def normalise(text: str) -> str:
    """The key of a name: NFKD, no accents, case folded, punctuation as spaces, spaces collapsed."""
    decomposed = _ACCENTS.sub("", unicodedata.normalize("NFKD", text))
    folded = _APOSTROPHES.sub("", decomposed.casefold().translate(_FOLD))
    return _not_word().sub(" ", folded).strip()


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


TYPO_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
TYPO_MIN_LENGTH = 4  # shorter words have too many neighbours to tell a typo from another word
TYPO_WORDS = 4  # the words of a query looked at for typos, at most


def one_edit(word: str) -> set[str]:
    """Every word one letter away from `word` (a letter left out, added, changed, or two swapped),
    as Norvig's spelling corrector makes them: "bejing" -> "beijing", "shangai" -> "shanghai"."""
    letters = set(TYPO_ALPHABET) | set(word)
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deleted = {a + b[1:] for a, b in splits if b}
    swapped = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    changed = {a + c + b[1:] for a, b in splits if b for c in letters}
    added = {a + c + b for a, b in splits for c in letters}
    return (deleted | swapped | changed | added) - {word}


def typo_tokens(key: str) -> set[str]:
    """Index words a mistyped query may mean: the one-edit neighbours of each of its words (Latin
    letters, four or more), looked up among the words of names (idx:token) like the words themselves."""
    words = [w for w in key.split() if len(w) >= TYPO_MIN_LENGTH and w not in STOPWORDS and w.isalpha()]
    found: set[str] = set()
    for word in words[:TYPO_WORDS]:
        if not has_cjk(word):
            found |= one_edit(word)
    return {w for w in found if len(w) >= 2 and w not in STOPWORDS}


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
    typos: frozenset[str]  # words one edit away from the query's words (server.reconcile.keys.typo_tokens)
    codes: frozenset[str]
    external: frozenset[str]  # Wikidata and GeoNames IRIs

    @classmethod
    def of(cls, text: str) -> QueryForms:
        key = normalise(text)
        qid, feature = wikidata_item(text), geonames_feature(text)
        external = {WD + qid} if qid else set()
        if feature:
            external.add(f"{GEONAMES.iri}{feature}/")
        others = variants(key, place=True) if key else set()
        return cls(
            text=text,
            key=key,
            variant_keys=frozenset(others),
            tokens=frozenset(tokens([key, *variants(key, place=True, romanise=False)]) if key else ()),
            typos=frozenset(typo_tokens(key)),
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


class NameKeys:
    """The keys of names, as the store's name index asks for them (server.store.name_index.KeyMaker)."""

    revision = KEYS_REVISION

    def index_entries(self, name: str, place: bool) -> list[tuple[str, str]]:
        return index_entries(name, place)

    def government_entries(self, name: str) -> list[tuple[str, str]]:
        return government_entries(name)


NAME_KEYS = NameKeys()
