"""Our identity links out (Wikidata, GeoNames, official codes) and their check.

What each kind of link is, and whether the links are well-formed and unique. Used by
`sistercities check-links` and described in VoID."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import pyoxigraph as ox

from server.namespaces import OWL, SKOS
from server.uris import Iris


@dataclass(frozen=True)
class LinkKind:
    """One kind of identity link: which property, which targets, and their well-formed shape."""

    name: str
    predicate: str
    recognise: str  # a target belongs to this kind when it contains this text (or has this datatype)
    pattern: re.Pattern[str]
    literal: bool = False


def link_kinds(base_iri: str) -> tuple[LinkKind, ...]:
    iris = Iris(base_iri)
    return (
        LinkKind(
            "Wikidata", OWL + "sameAs", "wikidata.org", re.compile(r"http://www\.wikidata\.org/entity/Q[1-9][0-9]*\Z")
        ),
        LinkKind(
            "GeoNames", SKOS + "closeMatch", "geonames.org", re.compile(r"https://sws\.geonames\.org/[1-9][0-9]*/\Z")
        ),
        LinkKind(
            "Finnish municipality code",
            SKOS + "notation",
            iris.term("FinnishMunicipalityCode"),
            re.compile(r"[0-9]{3}\Z"),
            literal=True,
        ),
        LinkKind(
            "Chinese division code",
            SKOS + "notation",
            iris.term("ChineseDivisionCode"),
            re.compile(r"[0-9]{6}\Z"),
            literal=True,
        ),
        LinkKind(
            "Chinese township code",
            SKOS + "notation",
            iris.term("ChineseTownshipCode"),
            re.compile(r"[0-9]{9}\Z"),
            literal=True,
        ),
    )


@dataclass(frozen=True)
class LinkProblem:
    kind: str
    problem: str  # "malformed", "shared" (one target, several resources), "several" (one resource, several targets)
    resource: str
    target: str


@dataclass(frozen=True)
class LinkReport:
    counts: dict[str, int]
    problems: tuple[LinkProblem, ...]

    @property
    def clean(self) -> bool:
        return not self.problems

    def as_text(self) -> str:
        lines = [f"{kind}: {count} link(s)" for kind, count in self.counts.items()]
        lines += [f"{p.problem}: {p.kind} {p.resource} -> {p.target}" for p in self.problems]
        lines.append("All links are well-formed and unique." if self.clean else f"{len(self.problems)} problem(s).")
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict:
        return {"counts": self.counts, "problems": [asdict(p) for p in self.problems]}


def links_of(store: ox.Store, kind: LinkKind) -> list[tuple[str, str]]:
    """(resource, target) pairs of one kind, from the default graph (each link once)."""
    pairs = []
    for quad in store.quads_for_pattern(None, ox.NamedNode(kind.predicate), None, ox.DefaultGraph()):
        target = quad.object
        if kind.literal:
            if isinstance(target, ox.Literal) and target.datatype.value == kind.recognise:
                pairs.append((quad.subject.value, target.value))
        elif kind.recognise in str(target.value).lower():
            pairs.append((quad.subject.value, target.value))
    return pairs


def check_links(store: ox.Store, base_iri: str) -> LinkReport:
    counts, problems = {}, []
    for kind in link_kinds(base_iri):
        pairs = links_of(store, kind)
        counts[kind.name] = len(pairs)
        problems += [LinkProblem(kind.name, "malformed", r, t) for r, t in pairs if not kind.pattern.match(t)]
        by_target: dict[str, set[str]] = {}
        by_resource: dict[str, set[str]] = {}
        for resource, target in pairs:
            by_target.setdefault(target, set()).add(resource)
            by_resource.setdefault(resource, set()).add(target)
        problems += [
            LinkProblem(kind.name, "shared", r, t) for t, rs in by_target.items() if len(rs) > 1 for r in sorted(rs)
        ]
        problems += [
            LinkProblem(kind.name, "several", r, t) for r, ts in by_resource.items() if len(ts) > 1 for t in sorted(ts)
        ]
    return LinkReport(counts, tuple(sorted(problems, key=lambda p: (p.kind, p.problem, p.resource, p.target))))
