"""The Reconciliation Service API at /reconcile, against the real server over HTTP.

Every response is validated with the JSON schemas of the specification (tests/fixtures/reconcile,
versions 0.2 and 1.0-draft). The session test talks to the service exactly as OpenRefine does:
form-encoded `queries` batches, then data extension of the matched column.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from server.engines import store_extensions
from server.settings import Settings
from server.store.build import ensure_disk_store
from server.store.dataset import Dataset
from tests.live import live_server

pytestmark = pytest.mark.slow

SCHEMAS = Path(__file__).parent / "fixtures" / "reconcile"
BASE = "https://w3id.org/sistercities/"


def load_schemas() -> tuple[Registry, dict[str, dict]]:
    """The specification's schemas, registered by their $id so that their references resolve."""
    registry, schemas = Registry(), {}
    for path in sorted(SCHEMAS.glob("*/*.json")):
        schema = json.loads(path.read_text())
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7))
        schemas[f"{path.parent.name}/{path.stem}"] = schema
    return registry, schemas


REGISTRY, SCHEMA = load_schemas()


def valid(instance, name: str) -> None:
    """Validate against one of the specification's schemas ("0.2/manifest", "1.0-draft/...")."""
    validator = jsonschema.Draft7Validator(SCHEMA[name], registry=REGISTRY)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, f"{name}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real server on an on-disk store that has the name index.

    The store is built here, with the server's own extensions, and the server reopens it as it is,
    since its build matches.
    """
    directory = tmp_path_factory.mktemp("reconcile-store")
    ensure_disk_store(Dataset.from_settings(Settings()), directory, store_extensions())
    gc.collect()
    cache = tmp_path_factory.mktemp("reconcile-cache")
    with live_server("--store", str(directory), "--no-validate", cache_dir=cache) as running:
        yield running.url


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60) as http:
        yield http


def reconcile(client: httpx.Client, queries: dict) -> dict:
    """A batch as OpenRefine sends it: POST, form-encoded, the batch as JSON in `queries`."""
    valid(queries, "0.2/reconciliation-query-batch")
    response = client.post("/reconcile", data={"queries": json.dumps(queries)})
    assert response.status_code == 200, response.text
    body = response.json()
    valid(body, "0.2/reconciliation-result-batch")
    assert set(body) == set(queries)
    return body


# --- Manifests ----------------------------------------------------------------------------------------


def test_manifest_0_2(client: httpx.Client, server: str) -> None:
    response = client.get("/reconcile")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    manifest = response.json()
    valid(manifest, "0.2/manifest")
    assert manifest["versions"] == ["0.2"]
    assert manifest["identifierSpace"] == BASE + "id/" and manifest["schemaSpace"] == BASE + "ontology#"
    assert manifest["view"]["url"] == server + "/id/{{id}}"
    assert manifest["batchSize"] == 50
    assert {t["id"] for t in manifest["defaultTypes"]} >= {"City", "Place", "Organisation", "Event"}
    assert "PartnershipAgreement" in {t["id"] for t in manifest["defaultTypes"]}
    assert manifest["suggest"]["entity"]["service_url"] == server
    assert manifest["extend"]["propose_properties"]["service_path"] == "/reconcile/extend/propose"


def test_manifest_1_0_draft(client: httpx.Client, server: str) -> None:
    manifest = client.get("/reconcile", params={"version": "1.0-draft"}).json()
    valid(manifest, "1.0-draft/manifest")
    assert manifest["view"]["url"] == server + "/id/{+id}"
    assert manifest["suggest"] == {"entity": True, "type": True, "property": True}
    assert manifest["standardizedScore"] is True


@pytest.mark.parametrize("entity", ["place/kuopio", quote("place/kuopio", safe="")])
def test_the_view_template_resolves_on_this_server(client: httpx.Client, entity: str) -> None:
    """OpenRefine links each matched cell to view.url with the id put in (as is or escaped)."""
    template = client.get("/reconcile").json()["view"]["url"]
    response = client.get(template.replace("{{id}}", entity), headers={"Accept": "text/html"})
    assert response.status_code == 303 and response.headers["location"].endswith("/doc/place/kuopio")
    assert client.get(response.headers["location"], headers={"Accept": "text/html"}).status_code == 200


# --- Reconciliation --------------------------------------------------------------------------------------


def test_a_batch_form_encoded(client: httpx.Client) -> None:
    body = reconcile(
        client,
        {
            "q0": {"query": "Kuopion kaupunki", "type": "City", "type_strict": "should", "limit": 3},
            "q1": {"query": "Kuopion kaupunki"},
            "q2": {"query": "上海", "limit": 2},
            "q3": {"query": "Helsingfors", "properties": [{"pid": "country", "v": "Finland"}]},
            "q4": {"properties": [{"pid": "code", "v": "297"}]},
        },
    )
    assert body["q0"]["result"][0]["id"] == "place/kuopio" and body["q0"]["result"][0]["match"] is True
    assert [c["id"] for c in body["q1"]["result"][:2]] == ["organisation/city-of-kuopio", "place/kuopio"]
    assert len(body["q2"]["result"]) == 2 and body["q2"]["result"][0]["id"] == "place/shanghai"
    helsinki = body["q3"]["result"][0]
    assert helsinki["id"] == "place/helsinki" and helsinki["match"] is True
    assert {"id": "property_country", "name": "country matches", "value": True} in helsinki["features"]
    assert body["q4"]["result"][0]["id"] == "place/kuopio"


def test_a_batch_in_the_query_string(client: httpx.Client) -> None:
    response = client.get("/reconcile", params={"queries": json.dumps({"a": {"query": "Esbo"}})})
    body = response.json()
    valid(body, "0.2/reconciliation-result-batch")
    assert body["a"]["result"][0]["id"] == "place/espoo"


def test_a_single_query_0_1_style(client: httpx.Client) -> None:
    for query in ("Esbo", json.dumps({"query": "Esbo", "type": "City"})):
        body = client.get("/reconcile", params={"query": query}).json()
        valid({"q": body}, "0.2/reconciliation-result-batch")
        assert body["result"][0]["id"] == "place/espoo"


def test_head(client: httpx.Client) -> None:
    response = client.head("/reconcile")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")


def test_candidates_say_why(client: httpx.Client) -> None:
    candidate = reconcile(client, {"q": {"query": "Pudong xinqu", "limit": 1}})["q"]["result"][0]
    assert candidate["id"] == "place/pudong" and candidate["name"] == "Pudong New Area"
    assert candidate["type"] == [{"id": "District", "name": "district"}]
    assert candidate["description"] == "district · China"
    assert 0 <= candidate["score"] <= 100
    features = {f["id"]: f["value"] for f in candidate["features"]}
    assert features == {"name": 95.0, "exact": True}


def test_match_1_0_draft(client: httpx.Client) -> None:
    batch = {
        "queries": [
            {"type": "City", "limit": 2, "conditions": [{"matchType": "name", "propertyValue": "Weifang"}]},
            {
                "conditions": [
                    {"matchType": "name", "propertyValue": "Zhucheng"},
                    {"matchType": "property", "propertyId": "partOf", "propertyValue": "Shandong", "required": True},
                ]
            },
            {"conditions": [{"matchType": "property", "propertyId": "wikidata", "propertyValue": "Q1757"}]},
        ]
    }
    valid(batch, "1.0-draft/reconciliation-query-batch")
    response = client.post("/reconcile/match", json=batch)
    assert response.status_code == 200, response.text
    body = response.json()
    valid(body, "1.0-draft/reconciliation-result-batch")
    tops = [r["candidates"][0] for r in body["results"]]
    assert [c["id"] for c in tops] == ["place/weifang", "place/zhucheng", "place/helsinki"]
    assert all(c["match"] for c in tops)


# --- The OpenRefine session ------------------------------------------------------------------------------

COLUMN = [  # (cell, expected top candidate, certain enough for match: true)
    ("Kuopion kaupunki", "place/kuopio", True),
    ("Esbo", "place/espoo", True),
    ("Helsingfors", "place/helsinki", True),
    ("上海", "place/shanghai", True),
    ("浦东新区", "place/pudong", True),
    ("Pudong New Area", "place/pudong", True),
    ("Shanghai Pudong", "place/pudong", True),
    ("Weifang", "place/weifang", True),
    ("日照", "place/rizhao", True),
    ("Zhucheng", "place/zhucheng", True),
    ("Västerås", "place/vasteras", True),
    ("Moskva", "place/moscow", True),
    ("Barcelona", "place/barcelona", True),
    ("Casablanca", "place/casablanca", True),
    ("Mumbai", "place/mumbai", True),
    ("Houston", "place/houston", True),
    ("297", "place/kuopio", True),
    ("Q1757", "place/helsinki", True),
    ("南京", "place/nanjing", True),
    ("Antwerpen", "place/antwerp", True),
]


def test_an_openrefine_session(client: httpx.Client) -> None:
    """Reconcile a column of 20 names against type Place in batches of ten, as OpenRefine does,
    then add columns from the matched entities (data extension)."""
    manifest = client.get("/reconcile").json()
    assert "Place" in {t["id"] for t in manifest["defaultTypes"]}
    matched = {}
    for start in range(0, len(COLUMN), 10):
        rows = COLUMN[start : start + 10]
        batch = {
            f"q{n}": {"query": cell, "type": "Place", "type_strict": "should", "limit": 3}
            for n, (cell, _, _) in enumerate(rows)
        }
        body = reconcile(client, batch)
        for n, (cell, expected, certain) in enumerate(rows):
            candidates = body[f"q{n}"]["result"]
            assert candidates and candidates[0]["id"] == expected, (cell, candidates[:2])
            assert candidates[0]["match"] is certain, (cell, candidates[0])
            assert len(candidates) <= 3 and not any(c["match"] for c in candidates[1:])
            if certain:
                matched[cell] = candidates[0]["id"]
    assert len(matched) == 20

    # Add columns: OpenRefine asks which properties the type has, then fetches them.
    proposed = client.get("/reconcile/extend/propose", params={"type": "Place"}).json()
    valid(proposed, "1.0-draft/data-extension-property-proposal")
    assert {"country", "coordinates", "twinnedWith"} <= {p["id"] for p in proposed["properties"]}
    ids = sorted(set(matched.values()))
    query = {"ids": ids, "properties": [{"id": "country"}, {"id": "coordinates"}, {"id": "twinnedWith"}]}
    valid(query, "0.2/data-extension-query")
    response = client.post("/reconcile", data={"extend": json.dumps(query)})
    assert response.status_code == 200, response.text
    body = response.json()
    valid(body, "0.2/data-extension-response")
    assert [m["id"] for m in body["meta"]] == ["country", "coordinates", "twinnedWith"]
    assert body["meta"][0]["type"] == {"id": "Country", "name": "country"}
    rows = body["rows"]
    assert set(rows) == set(ids)
    assert rows["place/kuopio"]["country"] == [{"id": "place/finland", "name": "Finland"}]
    assert rows["place/pudong"]["country"] == [{"id": "place/china", "name": "China"}]  # through Shanghai
    assert rows["place/vasteras"]["country"] == [{"id": "place/sweden", "name": "Sweden"}]
    # CLDR's English name; the article's "USA" is an alternative name.
    assert rows["place/houston"]["country"] == [{"id": "place/united-states", "name": "United States"}]
    assert rows["place/moscow"]["country"] == []  # the data do not say
    assert rows["place/kuopio"]["coordinates"] == [{"str": "62.89238,27.67703"}]
    assert rows["place/pudong"]["coordinates"] == []
    lat, long = (float(x) for x in rows["place/shanghai"]["coordinates"][0]["str"].split(","))
    assert (round(lat, 2), round(long, 2)) == (31.22, 121.46)
    # Kuopio: Pudong (Business Kuopio's agreement, and the 2016 Wikidata crawl) and the crawl's nine
    # other partners (Besançon, Castrop-Rauxel, Gera, Győr, Jönköping, Craiova, Minneapolis, Opole,
    # Winnipeg); not Shanghai, whose 2002 claim is disputed.
    crawl = {"Q37776", "Q3898", "Q3750", "Q134494", "Q504689", "Q168057", "Q36091", "Q92212", "Q2135"}
    assert {v["id"] for v in rows["place/kuopio"]["twinnedWith"]} == {"place/pudong"} | {
        f"place/wikidata-{q.lower()}" for q in crawl
    }
    assert {"place/espoo", "place/casablanca", "place/barcelona"} <= {
        v["id"] for v in rows["place/shanghai"]["twinnedWith"]
    }
    assert "place/kuopio" not in {v["id"] for v in rows["place/shanghai"]["twinnedWith"]}
    # Espoo: Shanghai (seeds 001, 002 and the crawl), and the crawl's Mumbai, Kongsberg, Esztergom,
    # Køge, Kristianstad (two items), Sochi, Irving and Gatchina.
    crawl = {"Q108988", "Q171353", "Q21184", "Q26937", "Q39420", "Q498857", "Q51690", "Q7436"}
    assert {v["id"] for v in rows["place/espoo"]["twinnedWith"]} == {"place/shanghai", "place/mumbai"} | {
        f"place/wikidata-{q.lower()}" for q in crawl
    }


def test_names_in_every_language_find_beijing_and_china(client: httpx.Client) -> None:
    """Issue #10: Beijing by "Peking" (its Finnish and Swedish name, single-source: an alternative name)
    and 北京, China by "Kiina" and 中国 (CLDR); each the top candidate of its type, and certain."""
    cells = {"peking": ("Peking", "City"), "beijing_zh": ("北京", "City"), "kiina": ("Kiina", "Country")}
    cells["china_zh"] = ("中国", "Country")
    body = reconcile(client, {key: {"query": q, "type": t, "limit": 3} for key, (q, t) in cells.items()})
    expected = {"peking": "place/beijing", "beijing_zh": "place/beijing"}
    expected |= {"kiina": "place/china", "china_zh": "place/china"}
    for key, place in expected.items():
        top = body[key]["result"][0]
        assert top["id"] == place and top["match"] is True, (key, body[key]["result"])


def test_uncertain_cells_are_not_matched(client: httpx.Client) -> None:
    body = reconcile(
        client,
        {
            "typo": {"query": "Helsinky", "type": "Place", "limit": 3},
            "two": {"query": "Kuopio Pudong", "limit": 3},
            "none": {"query": "Atlantis", "type": "City", "limit": 3},
        },
    )
    assert body["typo"]["result"][0]["id"] == "place/helsinki" and body["typo"]["result"][0]["match"] is False
    assert not any(c["match"] for c in body["two"]["result"])
    assert body["none"]["result"] == []


# --- Data extension -----------------------------------------------------------------------------------------


def test_extend_with_settings(client: httpx.Client) -> None:
    query = {
        "ids": ["place/kuopio", "place/espoo", "place/helsinki", "place/nowhere", "organisation/city-of-kuopio"],
        "properties": [
            {"id": "twinnedWith", "settings": {"limit": 1, "lang": "zh"}},
            {"id": "label_zh"},
            {"id": "wikidata"},
            {"id": "code"},
            {"id": "country"},
        ],
    }
    body = client.get("/reconcile", params={"extend": json.dumps(query)}).json()
    valid(body, "0.2/data-extension-response")
    kuopio = body["rows"]["place/kuopio"]
    # One twin of ten; Pudong's one Chinese name (浦东新区, from the NBS list alone) is an alternative
    # name, so its name falls back to English. Kuopio's (库奥皮奥, from GNOME alone) is one too.
    assert kuopio["twinnedWith"] == [{"id": "place/pudong", "name": "Pudong New Area"}]
    assert kuopio["label_zh"] == []
    # Espoo's first twin in IRI order is Mumbai (2016 Wikidata crawl), named in Chinese; Espoo itself
    # has no Chinese name with evidence. Helsinki's is CLDR's.
    espoo = body["rows"]["place/espoo"]
    assert espoo["twinnedWith"] == [{"id": "place/mumbai", "name": "孟买"}] and espoo["label_zh"] == []
    assert body["rows"]["place/helsinki"]["label_zh"] == [{"str": "赫尔辛基"}]
    assert kuopio["wikidata"] == [{"str": "Q162279"}] and kuopio["code"] == [{"str": "297"}]
    assert body["rows"]["place/nowhere"] == {p: [] for p in ("twinnedWith", "label_zh", "wikidata", "code", "country")}
    assert body["rows"]["organisation/city-of-kuopio"]["country"] == [{"id": "place/finland", "name": "Finland"}]


def test_extend_1_0_draft(client: httpx.Client) -> None:
    query = {
        "ids": ["place/zhucheng", "place/beijing"],
        "properties": [{"id": "partOf"}, {"id": "label_zh"}, {"id": "coordinates"}],
    }
    response = client.post("/reconcile/extend", json=query)
    assert response.status_code == 200, response.text
    body = response.json()
    valid(body, "1.0-draft/data-extension-response")
    zhucheng, beijing = body["rows"]
    assert zhucheng["id"] == "place/zhucheng" and beijing["id"] == "place/beijing"
    values = {p["id"]: p["values"] for p in zhucheng["properties"]}
    assert values["partOf"] == [{"id": "place/weifang", "name": "Weifang"}]
    # 诸城市 has one source (the NBS list): an alternative name, not a preferred one.
    assert values["label_zh"] == []
    assert values["coordinates"] == [{"str": "35.99472,119.3975"}]
    values = {p["id"]: p["values"] for p in beijing["properties"]}
    assert values["label_zh"] == [{"str": "北京", "lang": "zh"}]


@pytest.mark.parametrize(
    ("type_id", "wanted", "unwanted"),
    [("Organisation", "governs", "twinnedWith"), ("PartnershipAgreement", "party", "coordinates")],
)
def test_propose_properties(client: httpx.Client, type_id: str, wanted: str, unwanted: str) -> None:
    body = client.get("/reconcile/extend/propose", params={"type": type_id, "limit": 30}).json()
    valid(body, "1.0-draft/data-extension-property-proposal")
    ids = {p["id"] for p in body["properties"]}
    assert body["type"] == type_id and body["limit"] == 30 and wanted in ids and unwanted not in ids


# --- Suggest, preview, flyout ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "expected"), [("kuo", "place/kuopio"), ("上", "place/shanghai"), ("Q1757", "place/helsinki")]
)
def test_suggest_entities(client: httpx.Client, prefix: str, expected: str) -> None:
    body = client.get("/reconcile/suggest/entity", params={"prefix": prefix}).json()
    valid(body, "0.2/suggest-entities-response")
    valid(body, "1.0-draft/suggest-entities-response")
    assert body["result"][0]["id"] == expected


def test_suggest_entities_of_a_type_with_paging(client: httpx.Client) -> None:
    first = client.get("/reconcile/suggest/entity", params={"prefix": "s", "type": "Place", "limit": 2}).json()
    more = client.get(
        "/reconcile/suggest/entity", params={"prefix": "s", "type": "Place", "limit": 2, "cursor": 2}
    ).json()
    assert len(first["result"]) == 2 and len(more["result"]) == 2
    assert not {r["id"] for r in first["result"]} & {r["id"] for r in more["result"]}
    assert all(r["id"].startswith("place/") for r in first["result"] + more["result"])


def test_suggest_types(client: httpx.Client) -> None:
    body = client.get("/reconcile/suggest/type", params={"prefix": "ci"}).json()
    valid(body, "0.2/suggest-types-response")
    for item in body["result"]:
        valid(item, "1.0-draft/type")
    assert body["result"][0] == {
        "id": "City",
        "name": "city",
        "broader": [{"id": "AdministrativeArea", "name": "administrative area"}],
    }
    finnish = client.get("/reconcile/suggest/type", params={"prefix": "kaupunki"}).json()
    assert "City" in {t["id"] for t in finnish["result"]}


def test_suggest_properties(client: httpx.Client) -> None:
    body = client.get("/reconcile/suggest/property", params={"prefix": "co"}).json()
    valid(body, "0.2/suggest-properties-response")
    valid(body, "1.0-draft/suggest-properties-response")
    assert {"country", "coordinates", "code"} == {p["id"] for p in body["result"]}


def test_preview(client: httpx.Client, server: str) -> None:
    template = client.get("/reconcile").json()["preview"]["url"]
    response = client.get(template.replace("{{id}}", quote("place/pudong", safe="")))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    # The card shows preferred names: Pudong's one Chinese name (浦东新区, NBS alone) is an alternative.
    assert "Pudong New Area" in html and "310115" in html and "Shanghai" in html
    assert f'href="{server}/doc/place/pudong"' in html and "Q125378" in html
    beijing = client.get(template.replace("{{id}}", quote("place/beijing", safe=""))).text
    assert '<dd lang="en">Beijing</dd>' in beijing and '<dd lang="zh">北京</dd>' in beijing and "110000" in beijing
    escaped = client.get("/reconcile/preview", params={"id": "organisation/shanghai-municipal-peoples-congress"})
    assert "People&#39;s Congress" in escaped.text and "People's Congress" not in escaped.text


def test_flyout(client: httpx.Client) -> None:
    body = client.get("/reconcile/flyout", params={"id": "place/kuopio"}).json()
    assert body["id"] == "place/kuopio" and "Kuopio" in body["html"] and "<html" not in body["html"]


# --- JSONP and CORS -----------------------------------------------------------------------------------------


def jsonp(response: httpx.Response, callback: str):
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/javascript")
    text = response.text
    assert text.startswith(f"/**/{callback}(") and text.endswith(");")
    return json.loads(text[len(f"/**/{callback}(") : -2])


def test_jsonp(client: httpx.Client) -> None:
    manifest = jsonp(client.get("/reconcile", params={"callback": "jQuery123_456"}), "jQuery123_456")
    valid(manifest, "0.2/manifest")
    queries = json.dumps({"q0": {"query": "Esbo"}})
    body = jsonp(client.get("/reconcile", params={"queries": queries, "callback": "cb"}), "cb")
    assert body["q0"]["result"][0]["id"] == "place/espoo"
    suggested = jsonp(client.get("/reconcile/suggest/entity", params={"prefix": "esp", "callback": "a.b"}), "a.b")
    assert suggested["result"][0]["id"] == "place/espoo"


@pytest.mark.parametrize("path", ["/reconcile", "/reconcile/match", "/reconcile/extend"])
def test_cors_preflight_for_json_posts(client: httpx.Client, path: str) -> None:
    response = client.options(
        path,
        headers={
            "Origin": "https://openrefine.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()


def test_cors_on_answers(client: httpx.Client) -> None:
    headers = {"Origin": "https://openrefine.example"}
    assert client.get("/reconcile", headers=headers).headers["access-control-allow-origin"] == "*"
    response = client.post("/reconcile/match", json={"queries": []}, headers=headers)
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == "*"


# --- Bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("queries", "says"),
    [
        ('{"q0": {"query": "Kuopio"', "not valid JSON"),
        ("[1, 2]", "JSON object mapping query ids"),
        ('{"q0": 5}', "must be a JSON object"),
        ('{"q0": {"query": 5}}', "`query` must be a string"),
        ('{"q0": {"query": "x", "limit": 0}}', "`limit` must be a positive number"),
        ('{"q0": {"query": "x", "limit": "3"}}', "`limit` must be a positive number"),
        ('{"q0": {"query": "x", "type": {"id": "City"}}}', "`type` must be a type id"),
        ('{"q0": {"query": "x", "type_strict": "sometimes"}}', "type_strict"),
        ('{"q0": {"query": "x", "properties": {"pid": "country"}}}', "`properties` must be a list"),
        ('{"q0": {"query": "x", "properties": [{"pid": "population", "v": 1}]}}', "unknown property 'population'"),
        ('{"q0": {"query": "x", "properties": [{"pid": "country"}]}}', "`pid` (a string) and `v`"),
        ('{"q0": {"query": "x", "properties": [{"pid": "country", "v": [[1]]}]}}', "must be strings, numbers"),
        ('{"q0": {"limit": 3}}', "needs a `query`"),
        ('{"q0": {"query": "' + "x" * 1001 + '"}}', "longer than 1000"),
    ],
)
def test_malformed_queries_are_400(client: httpx.Client, queries: str, says: str) -> None:
    response = client.post("/reconcile", data={"queries": queries})
    assert response.status_code == 400 and says in response.text, response.text


def test_too_many_queries_is_413(client: httpx.Client) -> None:
    queries = {f"q{n}": {"query": "Kuopio"} for n in range(51)}
    response = client.post("/reconcile", data={"queries": json.dumps(queries)})
    assert response.status_code == 413 and "at most 50" in response.text
    response = client.post(
        "/reconcile/match", json={"queries": [{"conditions": [{"matchType": "name", "propertyValue": "x"}]}] * 51}
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ([], "object with a list of queries"),
        ({"queries": [{}]}, "`conditions` must be a non-empty list"),
        ({"queries": [{"conditions": [{"matchType": "label", "propertyValue": "x"}]}]}, "matchType"),
        ({"queries": [{"conditions": [{"matchType": "property", "propertyValue": "x"}]}]}, "needs `propertyId`"),
        ({"queries": [{"type": ["City"], "conditions": [{"matchType": "name", "propertyValue": "x"}]}]}, "one type id"),
        (
            {"queries": [{"conditions": [{"matchType": "name", "propertyValue": "x", "required": "yes"}]}]},
            "true or false",
        ),
    ],
)
def test_malformed_match_bodies_are_400(client: httpx.Client, body, says: str) -> None:
    response = client.post("/reconcile/match", json=body)
    assert response.status_code == 400 and says in response.text, response.text


def test_match_wants_json(client: httpx.Client) -> None:
    assert client.post("/reconcile/match", data={"queries": "{}"}).status_code == 415
    response = client.post("/reconcile/match", content=b"{oops", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "not valid JSON" in response.text


@pytest.mark.parametrize(
    ("extend", "says"),
    [
        ("{", "not valid JSON"),
        ('{"ids": "place/kuopio", "properties": [{"id": "country"}]}', "`ids` must be a list"),
        ('{"ids": ["place/kuopio"], "properties": []}', "non-empty list"),
        ('{"ids": ["place/kuopio"], "properties": [{"id": "population"}]}', "unknown property"),
        ('{"ids": ["place/kuopio"], "properties": [{"id": "country", "settings": {"limit": "many"}}]}', "whole number"),
        ('{"ids": ["place/kuopio"], "properties": [{"id": "country", "settings": {"lang": "de"}}]}', "one of en, fi"),
    ],
)
def test_malformed_extension_is_400(client: httpx.Client, extend: str, says: str) -> None:
    response = client.post("/reconcile", data={"extend": extend})
    assert response.status_code == 400 and says in response.text, response.text


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/reconcile", {"callback": "alert(1)"}, 400),
        ("/reconcile", {"callback": "a;b"}, 400),
        ("/reconcile/suggest/entity", {}, 400),
        ("/reconcile/suggest/entity", {"prefix": "kuo", "limit": "ten"}, 400),
        ("/reconcile/suggest/type", {"prefix": "x", "cursor": "-1"}, 400),
        ("/reconcile/preview", {}, 400),
        ("/reconcile/preview", {"id": "place/atlantis"}, 404),
        ("/reconcile/preview", {"id": "place/with space"}, 404),
        ("/reconcile/flyout", {"id": "<script>"}, 404),
        ("/reconcile/extend/propose", {"type": "City", "limit": "x"}, 400),
    ],
)
def test_bad_gets(client: httpx.Client, path: str, params: dict, status: int) -> None:
    assert client.get(path, params=params).status_code == status


@pytest.mark.parametrize(
    "query",
    [
        {"query": "   "},
        {"query": "'; DROP TABLE places; --"},
        {"query": '"} } SELECT * WHERE { ?s ?p ?o'},
        {"query": "<http://example.org/x> ."},
        {"query": "\\u0000\\n\\t"},
        {"query": "%%%%"},
        {"query": "Kuopio", "type": "http://example.org/Unknown"},
        {"query": "Kuopio", "type": "no such type"},
        {"query": "Kuopio", "type": []},
        {"query": "🙂"},
        {"query": "place/../../etc"},
        {"query": "Q0"},
        {"query": "0000000000000"},
        {"query": "https://sws.geonames.org/"},
        {"query": "Kuopio", "properties": [{"pid": "country", "v": {"id": "<>"}}]},
        {"query": "Kuopio", "properties": [{"pid": "coordinates", "v": "north"}]},
        {"query": "Kuopio", "limit": 1e9},
    ],
)
def test_odd_queries_never_fail(client: httpx.Client, query: dict) -> None:
    response = client.post("/reconcile", data={"queries": json.dumps({"q": query})})
    assert response.status_code == 200, response.text
    valid(response.json(), "0.2/reconciliation-result-batch")


def test_wrong_content_type_is_415(client: httpx.Client) -> None:
    response = client.post("/reconcile", content=b"queries", headers={"Content-Type": "text/csv"})
    assert response.status_code == 415
