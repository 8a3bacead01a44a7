"""Disputed claims, stated figures and places on a map, for a resource's page.

Wherever a disputed fact appears, the page says so: a city's page lists the disputed agreements
it is party to, each beside the claims that contradict it, with the sources of both sides, and
marks the values they are about (the partner a derived sc:twinnedWith names, the agreement among
the incoming links). A place's page shows the figures sources state about it (an sc:Observation:
"86 sister cities", "nearly 100"), each with its date, source and the figures it conflicts with.
The map draws only what has coordinates, says how each place is linked, and names the places it
cannot draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyoxigraph as ox

from server.linked.resources import Figure

if TYPE_CHECKING:
    from server.linked.pages import Presenter, SourceView


def claim_view(presenter: Presenter, iri: str) -> dict:
    """A claim as the disputes list shows it: its name, page, dates and sources."""
    url, _ = presenter.link(iri)
    label, language = presenter.name(iri)
    dates = presenter.d.facts.dates.get(iri, {})
    when = dates.get("startDate") or dates.get("signingDate")
    return {
        "iri": iri,
        "label": label,
        "language": language,
        "url": url,
        "when": presenter.literal(when).text if when is not None else None,
        "sources": cited(presenter, presenter.d.claim_sources.get(iri, ())),
        "figure": figure_text(presenter, iri),
    }


def cited(presenter: Presenter, sources) -> list[SourceView]:
    return [presenter.cite(source) for source in sorted(sources)]


def disputes(presenter: Presenter) -> list[dict]:
    """The disputed claims about the resource (not the resource itself: its own conflicts are the
    side-by-side table), each with the claims that contradict it."""
    shown, seen = [], set()
    figures_here = {figure.iri for figure in presenter.d.figures}  # their conflicts are in the figures table
    for dispute in presenter.d.disputes:
        if dispute.claim in seen or dispute.claim == presenter.d.iri or dispute.claim in figures_here:
            continue
        seen.add(dispute.claim)
        if dispute.others and all(other in seen for other in dispute.others):
            continue  # the other side of a pair already shown
        shown.append(
            {
                **claim_view(presenter, dispute.claim),
                "role": presenter.name(dispute.predicate)[0],
                "status_disputed": dispute.status_disputed,
                "others": [claim_view(presenter, other) for other in dispute.others],
            }
        )
    return shown


def figure_by_iri(presenter: Presenter) -> dict[str, Figure]:
    return {figure.iri: figure for figure in presenter.d.figures}


def figure_text(presenter: Presenter, iri: str) -> str | None:
    """ "nearly 100", "86" or "about 3 000 people": a stated figure in words, if `iri` is one."""
    figure = figure_by_iri(presenter).get(iri)
    if figure is None:
        return None
    parts = []
    for name in ("valueQualifier", "value", "unit"):
        for term in figure.values.get(name, ()):
            parts.append(
                presenter.name(term.value)[0] if isinstance(term, ox.NamedNode) else presenter.literal(term).text
            )
    return " ".join(parts) or None


def figures(presenter: Presenter) -> list[dict]:
    """The figures stated about the resource, each with what it measures, its date, wording and
    sources, and the figures it conflicts with (their values beside it)."""
    rows = []
    for figure in presenter.d.figures:
        measure = figure.values.get("measure", [])
        date = figure.values.get("observationDate", [])
        quotation = figure.values.get("quotation", [])
        others = [t.value for name in ("conflictsWith", "disputedBy") for t in figure.values.get(name, ())]
        url, _ = presenter.link(figure.iri)
        rows.append(
            {
                "iri": figure.iri,
                "url": url,
                "measure": presenter.value(measure[0], expand=False) if measure else None,
                "figure": figure_text(presenter, figure.iri),
                "when": presenter.literal(date[0]).text if date else None,
                "quotation": presenter.literal(quotation[0]) if quotation else None,
                "sources": cited(presenter, presenter.d.claim_sources.get(figure.iri, ())),
                "others": [claim_view(presenter, other) for other in others],
            }
        )
    return rows


def places(presenter: Presenter, place_classes: frozenset[str]) -> tuple[list[dict], list[dict]]:
    """The points to draw (the resource and the places linked to it that have coordinates, each
    with how it is linked) and the places that cannot be drawn for want of coordinates."""
    coordinates, types = presenter.d.facts.coordinates, presenter.d.facts.types
    points, unmapped = [], []
    for iri, predicates in presenter.related().items():
        label, language = presenter.name(iri)
        url, _ = presenter.link(iri)
        if iri in coordinates:
            lat, long = coordinates[iri]
            own = iri == presenter.d.iri
            role = presenter.role(predicates)
            points.append(
                {
                    "lat": lat,
                    "long": long,
                    "label": label,
                    "language": language,
                    "role": role,
                    "url": url,
                    "self": own,
                }
            )
        elif types.get(iri, set()) & place_classes:
            view = presenter.value(ox.NamedNode(iri), expand=False)
            unmapped.append({"value": view, "role": presenter.role(predicates)})
    return points, unmapped
