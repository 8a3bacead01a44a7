"""Organisers, hosts and participants only where the sentence of the source says so.

Every sc:organiser, sc:host and sc:participant of an event in the published data must be listed in
SUPPORTED with the words of its seed article that state it; the words are checked against the
article itself where the seed articles are at hand (../shared/seeds/, as in the developers' and
CI's checkouts). The overreaches that an audit found (issue #10) are in REJECTED, and the fixtures
in tests/fixtures/roles/ put each back: the check must catch them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from server.store.build import load_files
from server.store.dataset import Dataset

BASE = "https://w3id.org/sistercities/"
SC = f"{BASE}ontology#"
ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "roles"
ROLES = ("organiser", "host", "participant")

S000, S001, S002, S003, S004 = (
    "000_1721977d1889cdfc.txt",
    "001_8f360040cf4bd6a2.txt",
    "002_ee4e19180fd3e57f.txt",
    "003_962e119df656191d.txt",
    "004_98faa52cf7a1b8cc.txt",
)
FORUM_CITIES = (
    "I forumet deltog förutom Esbo stad också London, Osaka, Antwerpen, Dubai, Phnom Penh, Bangkok, "
    "Port of Spain, Budapest, Chicago, Buenos Aires och Moskva."
)
FORUM_SHANGHAI = (
    "Från Shanghai deltog utöver borgmästaren även vice borgmästaren Zong Ming och vice ordförande "
    "i Shanghais folkkongress Sha Hailin."
)
DIPLOMAS = (
    "Som representanter för företagen från de två länder som deltog i delegationen mottog Posintra Oy "
    "och Västerås Science Park diplom"
)

# (event, role, agent) -> (seed file, the words that state it)
SUPPORTED: dict[tuple[str, str, str], tuple[str, str]] = {
    ("event/chen-jining-visit-to-helsinki", "participant", "person/chen-jining"): (
        S003,
        "This week, Mr Chen Jining, the mayor of Beijing, will visit Helsinki.",
    ),
    ("event/chen-jining-visit-dinner", "host", "person/jan-vapaavuori"): (
        S003,
        "The visit will culminate in a dinner hosted by Mayor Vapaavuori",
    ),
    ("event/chen-jining-visit-helen-heat-pump-plant", "host", "organisation/helen"): (
        S003,
        "The programme also includes visits to Helen Ltd.'s underground heat pump plant",
    ),
    ("event/chen-jining-visit-university-of-helsinki", "host", "organisation/university-of-helsinki"): (
        S003,
        "during a visit at the University of Helsinki",
    ),
    ("event/chen-jining-visit-university-of-helsinki", "participant", "person/chen-jining"): (
        S003,
        "Mayor Chen will hear about cutting-edge research",
    ),
    ("event/helsinki-beijing-agreement-signing", "participant", "person/jan-vapaavuori"): (
        S003,
        "As they meet, mayors Jan Vapaavuori and Chen Jining will sign",
    ),
    ("event/helsinki-beijing-agreement-signing", "participant", "person/chen-jining"): (
        S003,
        "As they meet, mayors Jan Vapaavuori and Chen Jining will sign",
    ),
    ("event/ciie-2019", "participant", "organisation/air0"): (
        S002,
        "Air0 berättar om sina erfarenheter från företagets deltagande i CIIE-mässan för främjande av import 2019",
    ),
    ("event/kuopio-mayor-delegation-to-pudong-2019", "participant", "post/mayor-of-kuopio"): (
        S000,
        "4/2019 Delegation to the sister city Shanghai Pudong by the Major of City of Kuopio",
    ),
    ("event/pan-xiaogang-visit-to-fcba-2019", "host", "organisation/finnish-chinese-business-association"): (
        S001,
        "The Finnish Chinese Business Association received on Tuesday afternoon the deputy director",
    ),
    ("event/pan-xiaogang-visit-to-fcba-2019", "participant", "person/pan-xiaogang"): (
        S001,
        "Cooperation and Exchange Office Mr. Pan Xiaogang.",
    ),
    ("event/shanghai-sister-city-programme-at-ciie", "organiser", "organisation/shanghai-municipal-government"): (
        S002,
        "för vilka Shanghais stad ordnar program och nätverksevenemang som en del av CIIE-mässan",
    ),
    ("event/shanghai-sister-city-forum-2020", "organiser", "organisation/shanghai-municipal-government"): (
        S002,
        "Shanghais stad bjöd in sina vänorter till det virtuella vänortsforumet som hölls i Shanghai.",
    ),
    ("event/shanghai-sister-city-forum-2020", "participant", "organisation/city-of-espoo"): (S002, FORUM_CITIES),
    ("event/shanghai-sister-city-forum-2020", "participant", "person/gong-zheng"): (
        S002,
        "Det virtuella forumet 2020 öppnades av Shanghais borgmästare Gong Zheng",
    ),
    ("event/shanghai-sister-city-forum-2020", "participant", "person/zong-ming"): (S002, FORUM_SHANGHAI),
    ("event/shanghai-sister-city-forum-2020", "participant", "person/sha-hailin"): (S002, FORUM_SHANGHAI),
    **{
        ("event/shanghai-sister-city-forum-2020", "participant", f"place/{city}"): (S002, FORUM_CITIES)
        for city in (
            *("london", "osaka", "antwerp", "dubai", "phnom-penh", "bangkok", "port-of-spain"),
            *("budapest", "chicago", "buenos-aires", "moscow"),
        )
    },
    ("event/shanghai-sister-city-forum-2020-panel-2", "participant", "organisation/city-of-espoo"): (
        S002,
        "Esbo deltog i den andra panelen.",
    ),
    ("event/sme2go-shandong-trip", "participant", "organisation/posintra"): (
        S004,
        DIPLOMAS,
    ),
    ("event/sme2go-shandong-trip", "participant", "organisation/vasteras-science-park"): (
        S004,
        DIPLOMAS,
    ),
}

# Roles the sources do not state, with the sentence they overreach.
REJECTED: dict[tuple[str, str, str], str] = {
    ("event/ciie", "organiser", "organisation/shanghai-municipal-government"): (
        "Seed 002 says only that the City of Shanghai arranges programmes and networking events for its "
        "sister cities as part of the CIIE, not that it organises the CIIE series."
    ),
    ("event/sme2go-shandong-trip", "organiser", "organisation/vasteras-science-park"): (
        "Seed 004: the SME2GO project together with Västerås Science Park made the trip possible; "
        "no organiser is named."
    ),
    ("event/chen-jining-visit-to-helsinki", "host", "person/jan-vapaavuori"): (
        "Seed 003: Mayor Vapaavuori hosts the dinner that ends the visit, not the visit."
    ),
    ("event/chen-jining-visit-to-helsinki", "host", "organisation/city-of-helsinki"): (
        "Seed 003 names no host of the visit as a whole."
    ),
}


def local(term: ox.NamedNode) -> str:
    return term.value.removeprefix(f"{BASE}id/")


def roles_in(store: ox.Store) -> set[tuple[str, str, str]]:
    query = f"""SELECT ?e ?p ?a WHERE {{ ?e ?p ?a FILTER(?p IN (<{SC}organiser>, <{SC}host>, <{SC}participant>))
        FILTER(STRSTARTS(STR(?e), "{BASE}id/event/")) }}"""
    return {
        (
            r["e"].value.removeprefix(f"{BASE}id/"),
            r["p"].value.removeprefix(SC),
            r["a"].value.removeprefix(f"{BASE}id/"),
        )
        for r in store.query(query)
    }


def unsupported_roles(store: ox.Store) -> list[tuple[str, str, str]]:
    return sorted(roles_in(store) - set(SUPPORTED))


def test_every_role_is_stated_by_its_source(store: ox.Store) -> None:
    assert unsupported_roles(store) == []


def test_every_supported_role_is_published(store: ox.Store) -> None:
    assert sorted(set(SUPPORTED) - roles_in(store)) == []


def test_no_rejected_role_is_published(store: ox.Store) -> None:
    assert sorted(set(REJECTED) & roles_in(store)) == []


def normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'"))


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"the seed articles are not at hand ({SEEDS})")
def test_the_words_are_the_articles_words(store: ox.Store) -> None:
    """Each supporting passage is in the seed article the event's graph comes from."""
    for (event, _, _), (seed, words) in SUPPORTED.items():
        assert normalised(words) in normalised((SEEDS / seed).read_text(encoding="utf-8")), (event, words)
        locator = store.query(
            f"""SELECT ?l WHERE {{ <{BASE}id/{event}> <http://purl.org/dc/terms/source> ?s .
                ?s <{SC}sourceLocator> ?l }}"""
        )
        assert seed in [r["l"].value for r in locator], event


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.ttl")), ids=lambda p: p.name)
def test_fixtures_with_overreaching_roles_are_caught(fixture: Path, dataset: Dataset) -> None:
    """Each fixture puts back one role that its sentence does not support; its first line names it."""
    expected = tuple(fixture.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ").split())
    assert expected in REJECTED, f"{fixture.name}: first line must be '# expect: event role agent' of REJECTED"
    store = ox.Store()
    load_files(store, dataset)
    store.bulk_load(path=fixture, format=ox.RdfFormat.TURTLE, to_graph=ox.DefaultGraph())
    assert unsupported_roles(store) == [expected]
