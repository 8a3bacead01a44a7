"""The lookup lane: bounded lookups answered in this process, at the engine's own speed.

A point lookup costs pyoxigraph tens of microseconds, while a round trip to a worker process
costs several times that; and a lookup that waits behind hostile queries for a worker is a
lookup refused. So a query whose work is bounded before it starts is answered here (small work in
the event loop itself, larger work in a thread: pyoxigraph releases the GIL while it evaluates)
and never takes a worker: it cannot run away, so it needs no process that can be killed.

Bounded means (server.query.bounded) that every pattern is reached from a constant, and that the
bindings the patterns can produce, step by step, stay under `budget`. Each step is bounded by its
predicate's fan-out in this data version, the most values one subject has for it (forward) or
the most subjects one value has (backward), counted once per predicate in the background (for
a variable predicate: the most triples one subject, or one value, has); a step from a constant
whose fan-out is unknown or too large (rdf:type's objects) is counted instead, up to the budget
(and the count kept for the store's data version);
a step forward from a variable with no known fan-out sends the query to the workers. Every
step from a constant is bounded, not only the one the plan starts from, since the engine may
start from any of them.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyoxigraph as ox

from server.query.bounded import Lookup, Step, Term, expand, filled_in, read_lookup, shape_of, steps
from server.query.engine import QueryAnswer, QueryRequest
from server.query.jobs import Job, StoreView, answer_of, run_job
from server.store.fan_outs import ANY_PREDICATE, FanOutTable, fan_out_of

log = logging.getLogger(__name__)

QUICK_COUNT = 64  # triples counted by iterating over them before the engine is asked to count
# Counts kept per store (one data version): the constants with many triples (a class, a hub) are
# asked about again and again (each search of cities by label counted their 20,000 typings: 5.7 ms
# of the event loop at one million triples, before the query went to a worker).
COUNTS_KEPT = 4096
INLINE_WORK = 2_000  # bindings evaluated in the event loop itself (about a millisecond at most)
PLANS_KEPT = 4096  # plans of recent query shapes (each shape is read once)
# A lookup is a few lines: a longer text is not read here (reading costs the event loop time
# in proportion to the text; a query of 40,000 VALUES would hold it for a tenth of a second).
LONGEST_LOOKUP = 4096


@dataclass(frozen=True)
class Plan:
    lookup: Lookup
    steps: list[Step]


def plan_of(query: str) -> Plan | None:
    """The plan of a query text: its shape's plan (server.query.bounded.shape_of) with the
    query's own constants, so that lookups differing only in their IRIs and strings are read once."""
    shape, constants = shape_of(query)
    template = plan_of_shape(shape)
    if template is None or not constants:
        return template
    return Plan(*filled_in(template.lookup, template.steps, constants))


@functools.lru_cache(maxsize=PLANS_KEPT)
def plan_of_shape(shape: str) -> Plan | None:
    """The plan of a query text, or of a shape (a pure function of it)."""
    lookup = read_lookup(shape)
    if lookup is None:
        return None
    if lookup.describes:
        return Plan(lookup, [])
    ordered = steps(lookup)
    return Plan(lookup, ordered) if ordered is not None else None


class FanOuts:
    """The most values one subject has for a predicate ("out"), and the most subjects one value
    has for it ("in"), in one store: as the build counted them (server.store.fan_outs), or, for a
    store without them (in memory, or built before they were kept), counted once each in the
    background the first time a lookup needs it, which scans that predicate's triples (seconds
    for millions)."""

    def __init__(self, store: ox.Store, counter: ThreadPoolExecutor, counted: FanOutTable | None = None) -> None:
        self.store = store
        self.counter = counter
        self.complete = counted is not None  # the build's own table: a predicate it lacks has none
        self.known: FanOutTable = dict(counted or {})
        self.asked: set[tuple[str, str]] = set()
        self.lock = threading.Lock()

    def get(self, direction: str, predicate: str) -> int | None:
        """The fan-out of a predicate in a direction, or None while it is counted."""
        key = (direction, predicate)
        found = self.known.get(key)
        if found is None and self.complete:
            return 0
        if found is None:
            with self.lock:
                if key not in self.asked:
                    self.asked.add(key)
                    self.counter.submit(self._count, key)
        return found

    def _count(self, key: tuple[str, str]) -> None:
        direction, predicate = key
        try:
            self.known[key] = fan_out_of(self.store, direction, predicate)
        except (OSError, RuntimeError, ValueError) as error:  # a store gone with its version
            log.warning("could not count the fan-out of %s: %s", predicate, error)


class Bound:
    """Whether one plan stays under the budget over one store."""

    def __init__(self, store: ox.Store, fan_outs: FanOuts, budget: int) -> None:
        self.store = store
        self.fan_outs = fan_outs
        self.budget = budget
        self.native_count = functools.lru_cache(maxsize=COUNTS_KEPT)(self._native_count)
        self.engine_count = functools.lru_cache(maxsize=COUNTS_KEPT)(self._engine_count)

    def work(self, plan: Plan, base_iri: str | None, enough: int = 0) -> int | None:
        """The most bindings the plan can produce over this store, or None beyond the budget (or
        while a fan-out it needs is being counted).

        Every step from a constant is bounded on its own, whatever the plan's order, since the
        engine may start from any of them: by its predicate's fan-out where that is known, which
        costs nothing. When that bound is above `enough`, the matches of each such step are
        counted instead, for a tighter bound (a place party to 3 agreements, where the most any
        place has is 145)."""
        if plan.lookup.describes:
            return self.described(plan, base_iri, enough)
        matches: dict[int, int] = {}  # a step's matches, counted once for both passes
        bound = self.through(plan, base_iri, matches, counted=False)
        if bound is not None and bound <= enough:
            return bound
        return self.through(plan, base_iri, matches, counted=True)

    def through(self, plan: Plan, base_iri: str | None, matches: dict[int, int], counted: bool) -> int | None:
        """The bound step by step, the steps from constants bounded by fan-outs or counted."""
        anchored = {id(s): self.anchored(s, plan, base_iri, matches, counted) for s in plan.steps if is_anchored(s)}
        if any(n > self.budget for n in anchored.values()):
            return None
        rows, work = 1, 0
        for step in plan.steps:
            fan = anchored.get(id(step))
            if fan is None:
                fan = self.fan_out("out", step.pattern.predicate, plan)
                if fan is None:
                    return None
            rows = rows * max(fan, 1) if step.pattern.optional else rows * fan
            work += rows
            if work > self.budget:
                return None
        return work

    def described(self, plan: Plan, base_iri: str | None, enough: int) -> int | None:
        """DESCRIBE <iri>...: the triples of each resource (the engine adds those of blank nodes
        it points to, which are few and bounded alike), bounded by the most any subject has, or
        counted where that is above `enough`."""
        most = self.fan_outs.get("out", ANY_PREDICATE)
        if most is not None and most * len(plan.lookup.describes) <= enough:
            return most * len(plan.lookup.describes)
        counts = [self.from_constant(("const", iri), None, None, plan, base_iri) for iri in plan.lookup.describes]
        return sum(counts) if sum(counts) <= self.budget else None

    def anchored(self, step: Step, plan: Plan, base_iri: str | None, matches: dict[int, int], counted: bool) -> int:
        """A bound on a step from a constant: the predicate's fan-out in that direction when it is
        known and within the budget (unless `counted`), otherwise its matches, counted (once:
        kept in `matches`)."""
        p = step.pattern
        known = None if counted else self.fan_out("out" if step.forward else "in", p.predicate, plan)
        if known is not None and known <= self.budget:
            return known
        if id(step) not in matches:
            predicate = p.predicate if p.predicate[0] == "const" else None
            obj = p.object if p.object[0] == "const" else None
            matches[id(step)] = self.from_constant(p.subject, predicate, obj, plan, base_iri)
        return matches[id(step)]

    def fan_out(self, direction: str, predicate: Term, plan: Plan) -> int | None:
        """The predicate's fan-out; for a variable predicate, the most triples any one subject has
        (out) or any one value (in), which bounds a point lookup `<X> ?p ?o` without counting X's
        triples (that costs as much as the lookup itself); None while it is counted."""
        if predicate[0] != "const":
            return self.fan_outs.get(direction, ANY_PREDICATE)
        iri = expand(predicate[1], plan.lookup.prefixes)
        return self.fan_outs.get(direction, iri) if iri is not None else None

    def from_constant(
        self, subject: Term, predicate: Term | None, obj: Term | None, plan: Plan, base_iri: str | None
    ) -> int:
        """How many triples match, up to one more than the budget: counted by `native_count` when
        the terms are IRIs read here, otherwise (literals, relative IRIs) by the engine."""
        given = (subject, predicate, obj)
        pattern = native_pattern(given, plan.lookup.prefixes)
        if pattern is not None:
            return self.native_count(pattern)
        terms = " ".join(t[1] if t is not None and t[0] == "const" else f"?v{i}" for i, t in enumerate(given))
        prologue = "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in plan.lookup.prefixes.items())
        if plan.lookup.base is not None:
            prologue = f"BASE <{plan.lookup.base}>\n" + prologue
        return self.engine_count(prologue + self.count_query(terms), base_iri)

    def _native_count(self, pattern: tuple[ox.NamedNode | None, ...]) -> int:
        """A few triples are counted by iterating over them, which costs less than a query to
        parse; beyond QUICK_COUNT, the engine counts them (kept per store by `native_count`)."""
        matching = self.store.quads_for_pattern(*pattern, ox.DefaultGraph())
        counted = sum(1 for _ in itertools.islice(matching, QUICK_COUNT + 1))
        if counted <= QUICK_COUNT:
            return counted
        terms = " ".join(f"<{t.value}>" if t is not None else f"?v{i}" for i, t in enumerate(pattern))
        return self.engine_count(self.count_query(terms), None)

    def count_query(self, terms: str) -> str:
        return f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT * WHERE {{ {terms} }} LIMIT {self.budget + 1} }}"

    def _engine_count(self, query: str, base_iri: str | None) -> int:
        """A count query's answer (kept per store by `engine_count`)."""
        row = next(iter(self.store.query(query, base_iri=base_iri)))
        return int(row["n"].value)


def native_pattern(given: tuple[Term | None, ...], prefixes: dict[str, str]) -> tuple[ox.NamedNode | None, ...] | None:
    """A pattern's constants as pyoxigraph terms (None for a variable), when they are all IRIs
    read here; otherwise None."""
    pattern = []
    for term in given:
        if term is None or term[0] != "const":
            pattern.append(None)
            continue
        written = term[1]
        iri = expand(written, prefixes) if written.startswith("<") or is_prefixed_name(written) else None
        if iri is None:
            return None
        try:
            pattern.append(ox.NamedNode(iri))
        except ValueError:
            return None
    return tuple(pattern)


def is_prefixed_name(written: str) -> bool:
    """`prefix:local` (no literal: a literal is quoted, a number or a boolean has no colon)."""
    return ":" in written and written[0] not in "\"'"


def is_anchored(step: Step) -> bool:
    """A step from a constant: forward from a constant subject, or backward from a constant object."""
    return step.pattern.subject[0] == "const" or not step.forward


class StoreLane:
    """The lane over one store (one data version)."""

    def __init__(
        self,
        view: StoreView,
        budget: int,
        prefixes: dict[str, str],
        counter: ThreadPoolExecutor,
        counted: FanOutTable | None = None,
    ) -> None:
        self.view = view
        self.prefixes = prefixes
        self.bound = Bound(view.store, FanOuts(view.store, counter, counted), budget)

    def work(self, plan: Plan, request: QueryRequest) -> int | None:
        """The bound on the plan's work over this store, or None when it goes to a worker."""
        try:
            return self.bound.work(plan, request.base_iri, enough=INLINE_WORK)
        except (SyntaxError, OSError, RuntimeError, ValueError):  # the workers will report it
            return None

    def answer(self, request: QueryRequest, max_rows: int, work: int) -> QueryAnswer:
        reply = run_job(self.view, Job.of(request, max_rows), self.prefixes, within_cap=work <= max_rows)
        return answer_of(reply, request, max_rows, in_lane=True)


class LookupLane:
    """Plans queries, and answers the bounded ones in this process: in its event loop, or in a few
    threads for the larger ones."""

    def __init__(self, budget: int, threads: int, prefixes: dict[str, str]) -> None:
        self.budget = budget
        self.prefixes = prefixes
        self.threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lookup")
        self.counter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fan-out")
        self._lanes: dict[str, StoreLane] = {}

    def plan(self, request: QueryRequest) -> Plan | None:
        """The plan of a request the lane may answer: a query of the subset over the store's own
        dataset (no protocol graphs)."""
        if request.has_dataset or len(request.query) > LONGEST_LOOKUP:
            return None
        return plan_of(request.query)

    def current(self, key: str) -> StoreLane | None:
        """The lane over the store of the data version `key`, if it is open."""
        return self._lanes.get(key)

    def serve(self, key: str, view: StoreView, counted: FanOutTable | None = None) -> None:
        """Answer over the store of another data version (`key`), with the fan-outs its build
        counted if it has them; the previous one is dropped."""
        self._lanes = {key: StoreLane(view, self.budget, self.prefixes, self.counter, counted)}

    def at_once(
        self, lane: StoreLane, plan: Plan, request: QueryRequest, max_rows: int
    ) -> Callable[[], QueryAnswer] | None:
        """The answer to evaluate in the caller's thread, when the work is small enough for the
        event loop itself; None otherwise."""
        work = lane.work(plan, request)
        if work is None or work > INLINE_WORK:
            return None
        return functools.partial(lane.answer, request, max_rows, work)

    async def answer(self, lane: StoreLane, plan: Plan, request: QueryRequest, max_rows: int) -> QueryAnswer | None:
        """The answer, or None when the query is not bounded over this store. Small work is done
        at once in the event loop (handing it to a thread costs more than the lookup itself);
        larger work, still bounded, in a thread, so the loop goes on serving others."""
        work = lane.work(plan, request)
        if work is None:
            return None
        if work <= INLINE_WORK:
            return lane.answer(request, max_rows, work)
        return await asyncio.get_running_loop().run_in_executor(self.threads, lane.answer, request, max_rows, work)

    def close(self) -> None:
        self.threads.shutdown(wait=False, cancel_futures=True)
        self.counter.shutdown(wait=False, cancel_futures=True)
        self._lanes.clear()
