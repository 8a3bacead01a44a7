"""The OpenAPI description of every route, served at /openapi.json and checked against the server.

The routes are registered in server.app (register_routes) as plain Starlette routes, which
FastAPI leaves out of its generated description; this module describes each of them by the
name it is registered under: its parameters, bodies and answers, the refusals (4xx) included.
A test (tests/test_openapi.py) checks that the routes and this description list the same paths
and methods, and schemathesis sends what it generates from it to the real server.
"""

from __future__ import annotations

from typing import Any

from server import __version__, formats
from server.settings import Settings

Operation = dict[str, Any]

TEXT = {"schema": {"type": "string"}}
HTML = {"text/html": TEXT}
JSON_OBJECT = {"schema": {"type": "object"}}
RDF = {f.media_type: TEXT for f in formats.of_kinds(formats.Kind.GRAPH, formats.Kind.DATASET)}
RESULTS = {f.media_type: TEXT for f in formats.of_kind(formats.Kind.RESULTS)}
RDF_INPUT = {f.media_type: TEXT for f in formats.rdf_input_formats()}
PROBLEM_CONTENT = {
    "text/plain": TEXT,
    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}},
    "application/json": {"schema": {"$ref": "#/components/schemas/Problem"}},
    "text/html": TEXT,
}
PROBLEMS = {
    "400": "Bad request: a parameter or body that cannot be read, a syntax error with its position, "
    "bytes that are not UTF-8.",
    "403": "Refused: SPARQL Update on this read-only endpoint.",
    "404": "Nothing here.",
    "406": "None of the media types the client accepts can be served; the message names those available.",
    "413": "The request body is larger than the limit (max_query_bytes, or max_upload_bytes for /validate).",
    "414": "The request target is longer than max_url_bytes.",
    "415": "The body's media type is not one this route reads.",
    "429": "Over the per-client rate limit of this operation; Retry-After says how many seconds to wait.",
    "431": "The header fields are larger than max_header_bytes.",
    "503": "A query or validation was stopped at its time limit, or every worker is busy (Retry-After).",
}
ALWAYS = ("400", "413", "414", "431")


def problem(status: str) -> dict:
    response: dict[str, Any] = {"description": PROBLEMS[status], "content": PROBLEM_CONTENT}
    if status in ("429", "503"):
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
    return response


def param(name: str, description: str, schema: dict | None = None, *, where: str = "query", **extra: Any) -> dict:
    return {"name": name, "in": where, "description": description, "schema": schema or {"type": "string"}, **extra}


def path_param(name: str, description: str, schema: dict | None = None) -> dict:
    return param(name, description, schema, where="path", required=True)


def operation(
    summary: str,
    ok: dict,
    *,
    status: str = "200",
    parameters: list[dict] = (),
    body: dict | None = None,
    refusals: tuple[str, ...] = (),
    more: dict | None = None,
) -> Operation:
    """One operation: its answer, the problems it may answer (and those every route may), its inputs."""
    responses = {status: {"description": summary, "content": ok} if ok else {"description": summary}}
    responses |= more or {}
    responses |= {code: problem(code) for code in sorted({*ALWAYS, *refusals})}
    found: Operation = {"summary": summary, "responses": responses}
    if parameters:
        found["parameters"] = list(parameters)
    if body is not None:
        found["requestBody"] = body
    return found


def readable(op: Operation) -> dict[str, Operation]:
    """GET and HEAD (the same answer without its body)."""
    head = {**op, "summary": f"{op['summary']} (headers only)"}
    head["responses"] = {code: {k: v for k, v in r.items() if k != "content"} for code, r in op["responses"].items()}
    return {"get": op, "head": head}


LANG = param("lang", "The language of the page: en, fi, sv or zh (otherwise Accept-Language decides).")
PAGE = param("page", "A page number, from 1.", {"type": "string", "pattern": "^[0-9]+$"})
NOT_MODIFIED = {"304": {"description": "Not modified: the client's copy (If-None-Match) is current."}}
NEGOTIATED = ("400", "404", "406")
SEE_OTHER = {"description": "See Other: the document about the thing.", "headers": {"Location": {"schema": TEXT}}}


def sparql_operations() -> dict[str, Operation]:
    graphs = [
        param("default-graph-uri", "An IRI of the default graph (repeatable).", {"type": "array", "items": TEXT}),
        param("named-graph-uri", "An IRI of a named graph (repeatable).", {"type": "array", "items": TEXT}),
        param(
            "format",
            "The answer format (json, xml, csv, tsv, turtle, jsonld, rdfxml, ntriples, trig, nquads or a media type); "
            "also as output= and results=.",
        ),
    ]
    answers = {**RESULTS, **RDF, **HTML}
    refusals = ("403", "406", "415", "429", "503")
    get = operation(
        "A SPARQL query (SPARQL 1.1 Protocol); without one, the service description (or the query UI for browsers).",
        answers,
        parameters=[param("query", "The SPARQL query."), *graphs, param("update", "Refused: 403.")],
        refusals=refusals,
        more=NOT_MODIFIED,
    )
    form = {
        "type": "object",
        "properties": {
            "query": TEXT["schema"],
            "update": TEXT["schema"],
            "default-graph-uri": TEXT["schema"],
            "named-graph-uri": TEXT["schema"],
            "format": TEXT["schema"],
        },
    }
    body = {
        "content": {
            "application/x-www-form-urlencoded": {"schema": form},
            "application/sparql-query": TEXT,
            "application/sparql-update": TEXT,
        },
        "required": True,
    }
    post = operation(
        "A SPARQL query sent in a form (query=) or as the body (application/sparql-query); updates are refused (403).",
        {**RESULTS, **RDF},
        parameters=graphs,
        body=body,
        refusals=refusals,
    )
    return {**readable(get), "post": post}


def document_operations(summary: str, parameters: list[dict] = ()) -> dict[str, Operation]:
    return readable(operation(summary, {**RDF, **HTML}, parameters=parameters, refusals=NEGOTIATED, more=NOT_MODIFIED))


def reconcile_operations() -> dict[str, dict[str, Operation]]:
    callback = param("callback", "JSONP: the name of the function to call with the answer (GET only).")
    limited = ("415", "429", "503")
    json_or_jsonp = {"application/json": JSON_OBJECT, "application/javascript": TEXT}
    endpoint_params = [
        param("queries", "A batch of reconciliation queries, as a JSON object keyed by query id."),
        param("extend", "A data extension request, as JSON (ids and properties)."),
        param("query", "One query: a name, or a JSON object."),
        param("version", "1.0-draft for the manifest of the 1.0 draft."),
        callback,
    ]
    form = {"type": "object", "properties": {"queries": TEXT["schema"], "extend": TEXT["schema"]}}
    endpoint_body = {"content": {"application/x-www-form-urlencoded": {"schema": form}}}
    json_body = {"content": {"application/json": JSON_OBJECT}, "required": True}
    prefix = [param("prefix", "What the user has typed so far."), param("cursor", "How many to skip."), callback]
    preview = [param("id", "An entity id (place/kuopio) or IRI.", required=True)]
    return {
        "/reconcile": {
            **readable(
                operation(
                    "The W3C Reconciliation Service API 0.2: the manifest, or the answers to queries= or extend=.",
                    json_or_jsonp,
                    parameters=endpoint_params,
                    refusals=limited,
                )
            ),
            "post": operation(
                "Reconciliation queries or data extension (0.2), in a form.",
                {"application/json": JSON_OBJECT},
                body=endpoint_body,
                refusals=limited,
            ),
        },
        "/reconcile/match": {
            "post": operation(
                "Reconciliation queries (1.0 draft).",
                {"application/json": JSON_OBJECT},
                body=json_body,
                refusals=limited,
            )
        },
        "/reconcile/extend": {
            "post": operation(
                "Data extension (1.0 draft).", {"application/json": JSON_OBJECT}, body=json_body, refusals=limited
            )
        },
        "/reconcile/extend/propose": readable(
            operation(
                "Properties to propose for columns of a type.",
                json_or_jsonp,
                parameters=[param("type", "A type id (City) or IRI."), callback],
                refusals=limited,
            )
        ),
        **{
            f"/reconcile/suggest/{kind}": readable(
                operation(f"Autocomplete of {kind} names.", json_or_jsonp, parameters=prefix, refusals=limited)
            )
            for kind in ("entity", "type", "property")
        },
        "/reconcile/preview": readable(
            operation(
                "The preview card of an entity, for OpenRefine's iframe (it may be framed).",
                HTML,
                parameters=preview,
                refusals=("404", *limited),
            )
        ),
        "/reconcile/flyout": readable(
            operation(
                "The preview card as JSON (HTML inside), for the suggest widget.",
                json_or_jsonp,
                parameters=[*preview, callback],
                refusals=("404", *limited),
            )
        ),
    }


def validation_operations() -> dict[str, Operation]:
    form = {
        "type": "object",
        "properties": {
            "file": {"type": "string", "format": "binary"},
            "data": {"type": "string"},
            "format": {"type": "string"},
        },
    }
    body = {"content": {**RDF_INPUT, "multipart/form-data": {"schema": form}}, "required": True}
    answers = {"application/json": JSON_OBJECT, "text/turtle": TEXT, **HTML}
    post = operation(
        "Check RDF against the shapes: the SHACL report (JSON, Turtle, or a page for the form). An empty "
        "submission, or one without statements, is 400.",
        answers,
        body=body,
        refusals=("406", "415", "429", "503"),
    )
    return {**readable(operation("The validation form.", HTML)), "post": post}


def file_variant(summary: str) -> dict[str, Operation]:
    ext = path_param("ext", "The format's file extension: ttl, rdf, jsonld, nt, html (and json for the report).")
    return readable(operation(summary, {**RDF, **HTML}, parameters=[ext], refusals=("404",), more=NOT_MODIFIED))


def paths() -> dict[str, dict[str, Operation]]:
    rest = path_param("rest", "The rest of the path (place/kuopio).")
    ext = path_param("ext", "The format's file extension: ttl, rdf, jsonld, nt.")
    dump = path_param("name", "The file name of a dump (sistercities.ttl, sistercities.nq.gz, ...).")
    return {
        "/": readable(operation("The home page.", HTML, parameters=[LANG])),
        "/health": readable(operation("Liveness, with the result cache's figures.", {"application/json": JSON_OBJECT})),
        "/sparql": sparql_operations(),
        "/id/{rest}": readable(operation("A thing: 303 to its document.", {}, status="303", parameters=[rest])),
        "/graph/{name}": readable(
            operation("A named graph: 303 to its document.", {}, status="303", parameters=[path_param("name", "")])
        ),
        "/doc/{rest}": document_operations(
            "The document about a thing, negotiated (or a fixed variant by its extension).", [rest, PAGE, LANG]
        ),
        "/ontology": document_operations("The ontology: documentation or source.", [LANG]),
        "/ontology.{ext}": readable(
            operation("The ontology in one format.", {**RDF, **HTML}, parameters=[ext], refusals=("404",))
        ),
        "/ontology/{version}": document_operations(
            "The ontology by its version IRI.", [path_param("version", "0.1.0"), LANG]
        ),
        "/shapes": document_operations("The SHACL shapes: documentation or source.", [LANG]),
        "/shapes.{ext}": readable(
            operation("The shapes in one format.", {**RDF, **HTML}, parameters=[ext], refusals=("404",))
        ),
        "/search": readable(
            operation("Search by name.", HTML, parameters=[param("q", "The name or part of it."), PAGE, LANG])
        ),
        "/browse": readable(
            operation(
                "Things by kind.", HTML, parameters=[param("class", "A class IRI."), PAGE, LANG], refusals=("404",)
            )
        ),
        "/.well-known/void": document_operations("The VoID description of the dataset."),
        "/.well-known/void.{ext}": file_variant("VoID in one format."),
        "/catalog": document_operations("The DCAT-AP catalogue."),
        "/catalog.{ext}": file_variant("The catalogue in one format."),
        "/validation-report": document_operations("The SHACL validation report of the published data."),
        "/validation-report.{ext}": file_variant("The validation report in one format."),
        "/dumps/": readable(operation("The dumps of the data.", HTML)),
        "/dumps/{name}": readable(
            operation("One dump.", {"application/octet-stream": TEXT}, parameters=[dump], refusals=("404",))
        ),
        "/dumps/{version}/{name}": readable(
            operation(
                "One dump of one data version.",
                {"application/octet-stream": TEXT},
                parameters=[path_param("version", "A data version."), dump],
                refusals=("404",),
            )
        ),
        "/sitemap.xml": readable(operation("The sitemap index.", {"application/xml": TEXT})),
        "/sitemap-{page}.xml": readable(
            operation(
                "One page of the sitemap.",
                {"application/xml": TEXT},
                parameters=[path_param("page", "The page number.", {"type": "integer", "minimum": 0})],
                refusals=("404",),
            )
        ),
        "/robots.txt": readable(operation("For crawlers.", {"text/plain": TEXT})),
        "/validate": validation_operations(),
        "/validate/starter.ttl": readable(
            operation("A small correct file in the shape the validation expects, to start from.", {"text/turtle": TEXT})
        ),
        **reconcile_operations(),
        "/openapi.json": readable(operation("This description.", {"application/json": JSON_OBJECT})),
        "/static/{path}": readable(
            operation(
                "The pages' scripts, styles and vendored components.",
                {"application/octet-stream": TEXT},
                parameters=[path_param("path", "A file under server/static.")],
                refusals=("404",),
            )
        ),
    }


def describe(settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 document of this server."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sister Cities Linked Data",
            "version": __version__,
            "description": "Town-twinning agreements as linked open data: a SPARQL 1.1 endpoint, dereferenceable "
            "IRIs, DCAT-AP and VoID metadata, dumps, SHACL validation of anyone's data and a W3C reconciliation "
            f"service. Limits: queries {settings.query_rate_limit}, validations {settings.validate_rate_limit} and "
            f"reconciliation requests {settings.reconcile_rate_limit} per client per {settings.rate_limit_window} "
            "seconds (0: no limit).",
        },
        "paths": paths(),
        "components": {
            "schemas": {
                "Problem": {
                    "type": "object",
                    "description": "RFC 9457 problem details.",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                    },
                    "required": ["title", "status", "detail"],
                }
            }
        },
    }
