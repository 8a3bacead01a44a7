// The query UI at /sparql: YASGUI bound to this endpoint, with the example queries, shareable
// URLs, downloads in every format, labels for IRIs, and map and timeline views.
// Everything it loads comes from this server (server/static/vendor/, see frontend/README.md).
// Its words come from the page (CONFIG.words, in the reader's language, from server/web/words.toml),
// links to resource pages keep that language, and cells are never shortened: a link in the table
// opens with one click (or Enter), and a wide table scrolls within its own box.
(() => {
  "use strict";

  const CONFIG = JSON.parse(document.getElementById("qui-config").textContent);
  const ENDPOINT = new URL(CONFIG.endpoint, location.href).href; // YASQE needs an absolute URL
  const BASE_IRI = CONFIG.baseIri;
  const PREFIXES = CONFIG.prefixes || {};
  const EXAMPLES = CONFIG.examples || [];
  const LANG = CONFIG.lang || "en";
  const WORDS = CONFIG.words || {};
  /** A word of the page's language, with {name} placeholders filled in. */
  const say = (key, values = {}) =>
    (WORDS[key] || key).replace(/\{(\w+)\}/g, (_, name) => (name in values ? formatNumber(values[name]) : `{${name}}`));
  const numberFormat = new Intl.NumberFormat(LANG === "zh" ? "zh-Hans" : LANG);
  const formatNumber = (value) => (typeof value === "number" ? numberFormat.format(value) : String(value));

  const XSD = "http://www.w3.org/2001/XMLSchema#";
  const WKT_LITERAL = "http://www.opengis.net/ont/geosparql#wktLiteral";
  const DATE_TYPES = new Set(["date", "dateTime", "dateTimeStamp", "gYearMonth", "gYear"].map((t) => XSD + t));
  const NUMERIC_TYPES = new Set(
    ["decimal", "double", "float", "integer", "int", "long", "short", "nonNegativeInteger", "nonPositiveInteger"].map(
      (t) => XSD + t,
    ),
  );
  const LABEL_LANGUAGES = CONFIG.languages;
  const LABEL_BATCH = 500; // IRIs per label query
  const LABEL_MAX = 5000; // IRIs looked up per answer at most (the first ones, as shown)

  // From the server's format registry: { key, label, ext, mediaType }.
  const RESULT_FORMATS = CONFIG.resultFormats;
  const GRAPH_FORMATS = CONFIG.graphFormats;

  // ---------------------------------------------------------------------------------------
  // Small helpers

  const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const esc = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function svgIcon(paths) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "qui-icon");
    for (const d of paths) {
      const path = document.createElementNS(ns, "path");
      path.setAttribute("d", d);
      svg.append(path);
    }
    return svg;
  }

  /** The page of a resource of this dataset on this server, in the page's language; other http(s)
      IRIs stay as they are; null for any other scheme (javascript:, data: ...), never made a link. */
  function localHref(iri) {
    if (BASE_IRI && iri.startsWith(BASE_IRI)) {
      const url = new URL("/" + iri.slice(BASE_IRI.length), location.origin);
      if (LANG !== "en") url.searchParams.set("lang", LANG);
      return url.href;
    }
    return /^https?:\/\//i.test(iri) ? iri : null;
  }

  /** Text for DataTables' search and sort, which it may decode through innerHTML: no markup. */
  const plainText = (text) => String(text).replace(/[<>&]/g, " ");
  const isLocal = (iri) => !!BASE_IRI && iri.startsWith(BASE_IRI);

  /** prefix:local for an IRI under a known namespace (the longest one), else <iri>. */
  function shorten(iri, prefixes = PREFIXES) {
    let best = null;
    for (const [prefix, ns] of Object.entries(prefixes || {})) {
      if (ns && iri.startsWith(ns) && (!best || ns.length > best[1].length)) best = [prefix, ns];
    }
    if (best) {
      const local = iri.slice(best[1].length);
      if (/^[^\s/#?]*$/.test(local)) return `${best[0]}:${local}`;
    }
    return `<${iri}>`;
  }

  /** The form of a query from the first keyword after its prologue, as the server reads it. */
  const PROLOGUE = /^(?:\s+|#[^\n]*\n?|BASE\s*<[^>]*>|PREFIX\s*[A-Za-z0-9_.\-\u00B7-\uFFFF]*:\s*<[^>]*>)*/iu;
  function queryForm(text) {
    const rest = text.slice(PROLOGUE.exec(text)[0].length);
    const match = /^(SELECT|ASK|CONSTRUCT|DESCRIBE)\b/i.exec(rest);
    return match ? match[1].toUpperCase() : null;
  }

  // ---------------------------------------------------------------------------------------
  // Labels: one batched SELECT per LABEL_BATCH IRIs, best label per page language.

  const labels = new Map(); // IRI -> label ("" when the IRI has none)
  const labelJobs = new WeakMap(); // YASR results object -> Promise of its labels
  const pageLanguage = LABEL_LANGUAGES.includes(LANG) ? LANG : "en";

  function languageRank(lang) {
    const tag = (lang || "").toLowerCase();
    if (tag === pageLanguage || tag.startsWith(pageLanguage + "-")) return 0;
    if (tag === "en" || tag.startsWith("en-")) return 1;
    if (!tag) return 2;
    return 3;
  }

  async function postQuery(query, accept = "application/sparql-results+json") {
    const response = await fetch(ENDPOINT, {
      method: "POST",
      headers: { Accept: accept, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ query }).toString(),
    });
    if (!response.ok) throw new Error(await response.text());
    return response.json();
  }

  async function lookUpLabels(iris) {
    const values = iris.map((iri) => `<${iri}>`).join(" ");
    const query =
      "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n" +
      "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n" +
      "SELECT ?iri ?label ?rank WHERE {\n" +
      `  VALUES ?iri { ${values} }\n` +
      "  { ?iri skos:prefLabel ?label BIND(0 AS ?rank) } UNION { ?iri rdfs:label ?label BIND(1 AS ?rank) }\n" +
      "}";
    const data = await postQuery(query);
    const best = new Map();
    for (const row of data.results.bindings) {
      if (!row.iri || !row.label) continue;
      const score = [languageRank(row.label["xml:lang"]), Number(row.rank ? row.rank.value : 1), row.label.value];
      const seen = best.get(row.iri.value);
      if (!seen || compareScores(score, seen) < 0) best.set(row.iri.value, score);
    }
    for (const iri of iris) labels.set(iri, best.has(iri) ? best.get(iri)[2] : "");
  }

  function compareScores(a, b) {
    for (let i = 0; i < a.length; i++) {
      if (a[i] < b[i]) return -1;
      if (a[i] > b[i]) return 1;
    }
    return 0;
  }

  const LOOKABLE_IRI = /^[a-z][a-z0-9+.-]*:[^\s<>"{}|^`\\]*$/i;

  function irisOf(results) {
    const found = new Set();
    for (const binding of safeBindings(results)) {
      for (const value of Object.values(binding)) {
        if (value && value.type === "uri" && !labels.has(value.value) && LOOKABLE_IRI.test(value.value)) {
          found.add(value.value);
          if (found.size >= LABEL_MAX) return [...found];
        }
      }
    }
    return [...found];
  }

  /** Labels for the IRIs of an answer; resolves after each batch's onBatch, never rejects. */
  function labelsFor(results, onBatch) {
    if (!results) return Promise.resolve();
    let job = labelJobs.get(results);
    if (!job) {
      job = (async () => {
        const iris = irisOf(results);
        for (let i = 0; i < iris.length; i += LABEL_BATCH) {
          try {
            await lookUpLabels(iris.slice(i, i + LABEL_BATCH));
          } catch (error) {
            console.warn("Labels could not be looked up:", error);
            return;
          }
          for (const listener of job.listeners) listener();
        }
      })();
      job.listeners = [];
      labelJobs.set(results, job);
    }
    if (onBatch) job.listeners.push(onBatch);
    return job;
  }

  function safeBindings(results) {
    if (!results || results.hasError()) return [];
    try {
      return results.getBindings() || [];
    } catch {
      return [];
    }
  }
  function safeVariables(results) {
    if (!results || results.hasError()) return [];
    try {
      return results.getVariables() || [];
    } catch {
      return [];
    }
  }

  // An IRI as HTML: its label (if known) linking to its page, its short form beside it.
  function iriHtml(iri, prefixes, compact) {
    const href = localHref(iri);
    const label = labels.get(iri);
    const external = isLocal(iri) ? "" : " target='_blank' rel='noopener noreferrer'";
    const short = shorten(iri, prefixes);
    const open = href ? `<a class='iri' href='${esc(href)}' title='${esc(iri)}'${external}>` : `<span class='iri' title='${esc(iri)}'>`;
    const close = href ? "</a>" : "</span>";
    if (label) {
      const shortHtml = compact ? "" : ` <span class='qui-iri-short'>${esc(short)}</span>`;
      return `${open}${esc(label)}${close}${shortHtml}`;
    }
    return `${open}${esc(short)}${close}`;
  }

  /** The label of a row for a map marker or a timeline item: a label column, else the IRI's label. */
  function rowLabel(row, variables, subjectVar) {
    const wanted = subjectVar ? [subjectVar + "label", subjectVar + "name"] : [];
    const lower = (v) => v.toLowerCase();
    let labelVar = variables.find((v) => wanted.includes(lower(v)) && row[v] && row[v].type !== "uri");
    if (!labelVar) labelVar = variables.find((v) => /(label|name|title)$/i.test(v) && row[v] && row[v].type !== "uri");
    if (labelVar) return row[labelVar].value;
    const iri = subjectVar && row[subjectVar] && row[subjectVar].type === "uri" ? row[subjectVar].value : null;
    if (iri) return labels.get(iri) || shorten(iri);
    return "";
  }

  function firstIriVar(row, variables, preferred) {
    if (preferred && row[preferred] && row[preferred].type === "uri") return preferred;
    return variables.find((v) => row[v] && row[v].type === "uri") || null;
  }

  // ---------------------------------------------------------------------------------------
  // YASR plugins

  const Yasr = Yasgui.Yasr;
  const BaseTable = Yasr.plugins.table;

  // The table's own words (DataTables), in the page's language.
  BaseTable.defaults.tableConfig.language = {
    ...BaseTable.defaults.tableConfig.language,
    info: say("table_info"),
    infoEmpty: say("table_info_empty"),
    infoFiltered: say("table_info_filtered"),
    emptyTable: say("table_empty"),
    zeroRecords: say("table_no_match"),
    lengthMenu: "_MENU_",
    aria: { paginate: { first: say("first_page"), previous: say("previous_page"), next: say("next_page"), last: say("last_page") } },
  };

  /** The table, with IRIs of the dataset linking to this server's pages and labels shown. Cells
      are never shortened ("ellipsis"): YASR's shortened cells swallow the first click on a link. */
  class LabelledTable extends BaseTable {
    constructor(yasr) {
      super(yasr);
      this.label = say("view_table");
    }
    draw(persistentConfig) {
      super.draw({ ...(persistentConfig || {}), isEllipsed: false });
      // The column heads are the query's variable names: identifiers, in no language.
      const head = this.tableEl && this.tableEl.querySelector("thead");
      if (head) head.setAttribute("lang", "zxx");
      const results = this.yasr.results;
      labelsFor(results, () => {
        if (this.yasr.results === results && this.dataTable) this.dataTable.rows().invalidate("data").draw(false);
      });
    }
    getColumns() {
      const columns = super.getColumns();
      for (const column of columns.slice(1)) {
        const render = column.render;
        column.render = (data, type, row, meta) => {
          if (type === "filter" && data && data.type === "uri") {
            return plainText(`${data.value} ${labels.get(data.value) || ""}`);
          }
          if ((type === "filter" || type === "sort") && data && typeof data.value === "string") return plainText(data.value);
          return render(data, type, row, meta);
        };
      }
      return columns;
    }
    drawControls() {
      super.drawControls();
      const controls = this.tableControls;
      if (!controls) return;
      // No ellipsis switch (cells are never shortened); the other controls in the page's words.
      const switches = controls.querySelectorAll("label.switch");
      if (switches[1]) switches[1].closest("div").remove();
      const simple = switches[0] && switches[0].querySelector(".label");
      if (simple) simple.textContent = say("simple_view");
      const filter = controls.querySelector(".tableFilter");
      if (filter) {
        filter.placeholder = say("filter_results");
        filter.setAttribute("aria-label", say("filter_results"));
      }
      const size = controls.querySelector(".pageSizerLabel");
      if (size) size.textContent = say("page_size") + " ";
      for (const option of controls.querySelectorAll(".tableSizer option")) {
        if (option.value === "-1") option.textContent = say("all_rows");
      }
    }
    getCellContent(binding, prefixes) {
      if (binding.type === "uri") {
        return `<div><span>${iriHtml(binding.value, prefixes, this.persistentConfig.compact)}</span></div>`;
      }
      return super.getCellContent(binding, prefixes);
    }
  }

  // --- Map ---

  const LAT_RE = /^(.*?)(latitude|lat)$/i;
  const LONG_RE = /^(.*?)(longitude|long|lon|lng)$/i;
  const WKT_POINT_RE = /^\s*(?:<([^>]*)>\s*)?POINT\s*(?:Z\s*|M\s*|ZM\s*)?\(\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s+([-+]?[\d.]+(?:[eE][-+]?\d+)?)/i;

  function parseWktPoint(text) {
    const match = WKT_POINT_RE.exec(text);
    if (!match) return null;
    let [x, y] = [Number(match[2]), Number(match[3])];
    // CRS84 (the default) is longitude latitude; EPSG:4326 is latitude longitude.
    if (match[1] && /EPSG\/0\/4326$/.test(match[1])) [x, y] = [y, x];
    return validLatLong(y, x) ? { lat: y, lon: x } : null;
  }

  function validLatLong(lat, lon) {
    return Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
  }

  function numberOf(value) {
    if (!value || value.type === "uri" || value.type === "bnode") return NaN;
    if (value.datatype && !NUMERIC_TYPES.has(value.datatype)) return NaN;
    const text = value.value.trim();
    return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : NaN;
  }

  const geoCache = new WeakMap();
  /** Where an answer has coordinates: WKT POINT columns and lat/long column pairs (or null). */
  function geoColumns(results) {
    if (!results) return null;
    if (geoCache.has(results)) return geoCache.get(results);
    const variables = safeVariables(results);
    const bindings = safeBindings(results);
    const wkt = variables.filter((v) =>
      bindings.some((b) => b[v] && b[v].datatype === WKT_LITERAL && parseWktPoint(b[v].value)),
    );
    const pairs = [];
    for (const latVar of variables) {
      const lat = LAT_RE.exec(latVar);
      if (!lat) continue;
      const lonVar = variables.find((v) => {
        const lon = LONG_RE.exec(v);
        return lon && lon[1].toLowerCase() === lat[1].toLowerCase();
      });
      if (!lonVar) continue;
      if (bindings.some((b) => validLatLong(numberOf(b[latVar]), numberOf(b[lonVar])))) {
        pairs.push({ latVar, lonVar, subject: lat[1].replace(/[_-]$/, "") });
      }
    }
    const found = wkt.length || pairs.length ? { wkt, pairs } : null;
    geoCache.set(results, found);
    return found;
  }

  function pointsOf(results, geo) {
    const variables = safeVariables(results);
    const points = [];
    const seen = new Set();
    let withoutPoint = 0;
    for (const row of safeBindings(results)) {
      const rowPoints = [];
      for (const v of geo.wkt) {
        const p = row[v] && row[v].datatype === WKT_LITERAL ? parseWktPoint(row[v].value) : null;
        if (p) rowPoints.push({ ...p, subjectVar: firstIriVar(row, variables) });
      }
      for (const pair of geo.pairs) {
        const lat = numberOf(row[pair.latVar]);
        const lon = numberOf(row[pair.lonVar]);
        if (validLatLong(lat, lon)) {
          const subject = variables.find((v) => v.toLowerCase() === pair.subject.toLowerCase());
          rowPoints.push({ lat, lon, subjectVar: firstIriVar(row, variables, subject) });
        }
      }
      if (!rowPoints.length) withoutPoint++;
      for (const p of rowPoints) {
        const iri = p.subjectVar ? row[p.subjectVar].value : "";
        const key = `${iri} ${p.lat} ${p.lon}`;
        if (seen.has(key)) continue;
        seen.add(key);
        points.push({ ...p, iri, row, variables });
      }
    }
    return { points, withoutPoint };
  }

  const countries = () => SisterCitiesBasemap.countries(CONFIG.countriesUrl);

  function popupContent(point) {
    const label = rowLabel(point.row, point.variables, point.subjectVar);
    const box = el("div", { class: "qui-popup" });
    if (point.iri) {
      const href = localHref(point.iri);
      const link = el(href ? "a" : "span", { href, title: point.iri, text: label || shorten(point.iri) });
      if (href && !isLocal(point.iri)) Object.assign(link, { target: "_blank", rel: "noopener noreferrer" });
      box.append(el("strong", {}, link), el("br"), el("span", { class: "qui-iri-short", text: shorten(point.iri) }));
    } else {
      box.append(el("strong", { text: label || say("no_label") }));
    }
    box.append(el("br"), el("span", { class: "qui-coords", text: `${point.lat.toFixed(4)}, ${point.lon.toFixed(4)}` }));
    return box;
  }

  class MapPlugin {
    constructor(yasr) {
      this.yasr = yasr;
      this.label = say("view_map");
      this.priority = 3;
      this.map = undefined;
    }
    canHandleResults() {
      return !!geoColumns(this.yasr.results);
    }
    getIcon() {
      return svgIcon(["M12 2a7 7 0 0 0-7 7c0 5.2 7 13 7 13s7-7.8 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 12 6.5a2.5 2.5 0 0 1 0 5z"]);
    }
    async draw() {
      const results = this.yasr.results;
      const geo = geoColumns(results);
      if (!geo) return;
      const { points, withoutPoint } = pointsOf(results, geo);
      const container = el("div", { class: "qui-map", role: "region", "aria-label": say("map_of_results") });
      const note = el("p", { class: "qui-view-note" });
      this.yasr.resultsEl.append(container, note);
      const map = L.map(container, { worldCopyJump: true, minZoom: 1, maxZoom: 14 });
      this.map = map;
      map.attributionControl.setPrefix("");
      map.attributionControl.addAttribution("Country outlines: Natural Earth (public domain)");
      map.createPane("basemap").style.zIndex = 250;
      const markers = L.featureGroup(
        points.map((p) =>
          L.circleMarker([p.lat, p.lon], {
            radius: 6,
            weight: 2,
            color: "#7a1f12",
            fillColor: "#d9482b",
            fillOpacity: 0.85,
            className: "qui-marker",
          }).bindPopup(() => popupContent(p)),
        ),
      ).addTo(map);
      if (points.length) map.fitBounds(markers.getBounds().pad(0.15), { maxZoom: 6 });
      else map.setView([20, 0], 1);
      note.textContent = withoutPoint
        ? say("points_shown_some_missing", { n: points.length, missing: withoutPoint })
        : say("points_shown", { n: points.length });
      countries().then(
        (world) => {
          if (this.map !== map) return;
          L.geoJSON(world, {
            pane: "basemap",
            interactive: false,
            style: { color: "#9aa5b1", weight: 0.6, fillColor: "#eef1f4", fillOpacity: 1 },
          }).addTo(map);
        },
        (error) => console.warn("The country outlines could not be loaded:", error),
      );
      // Popups show labels looked up meanwhile; nothing to redraw.
      labelsFor(results);
    }
    destroy() {
      if (this.map) this.map.remove();
      this.map = undefined;
    }
  }

  // --- Timeline ---

  function makeDate(year, monthIndex, day) {
    const date = new Date(2000, monthIndex, day);
    date.setFullYear(year);
    return date;
  }

  /** A date-like literal as {start, end, text}: the period it names (a day, a month, a year). */
  function parseDate(value) {
    if (!value || !value.datatype || !DATE_TYPES.has(value.datatype)) return null;
    const type = value.datatype.slice(XSD.length);
    const text = value.value.trim();
    const tz = "(?:Z|[+-]\\d\\d:\\d\\d)?";
    let m;
    if (type === "gYear" && (m = new RegExp(`^(-?\\d{4,})${tz}$`).exec(text))) {
      const y = Number(m[1]);
      return { start: makeDate(y, 0, 1), end: makeDate(y + 1, 0, 1), text };
    }
    if (type === "gYearMonth" && (m = new RegExp(`^(-?\\d{4,})-(\\d\\d)${tz}$`).exec(text))) {
      const [y, mo] = [Number(m[1]), Number(m[2]) - 1];
      return { start: makeDate(y, mo, 1), end: makeDate(y, mo + 1, 1), text };
    }
    if (type === "date" && (m = new RegExp(`^(-?\\d{4,})-(\\d\\d)-(\\d\\d)${tz}$`).exec(text))) {
      const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])];
      return { start: makeDate(y, mo, d), end: makeDate(y, mo, d + 1), text };
    }
    if (type === "dateTime" || type === "dateTimeStamp") {
      const date = new Date(text);
      if (!Number.isNaN(date.getTime())) return { start: date, end: date, text };
    }
    return null;
  }

  const dateCache = new WeakMap();
  /** The date columns of an answer: {start, end?} variable names, or null. */
  function dateColumns(results) {
    if (!results) return null;
    if (dateCache.has(results)) return dateCache.get(results);
    const variables = safeVariables(results);
    const bindings = safeBindings(results);
    const dated = variables.filter((v) => bindings.some((b) => parseDate(b[v])));
    let found = null;
    if (dated.length) {
      const startVar = dated.find((v) => /start|begin|from/i.test(v));
      const endVar = dated.find((v) => v !== startVar && /end|until|to$/i.test(v));
      found = startVar && endVar ? { start: startVar, end: endVar } : { start: startVar || dated[0], end: null };
    }
    dateCache.set(results, found);
    return found;
  }

  class TimelinePlugin {
    constructor(yasr) {
      this.yasr = yasr;
      this.label = say("view_timeline");
      this.priority = 2;
      this.timeline = undefined;
    }
    canHandleResults() {
      return !!dateColumns(this.yasr.results);
    }
    getIcon() {
      return svgIcon(["M3 11h18v2H3z", "M5 6h7v3H5zM10 15h9v3h-9z"]);
    }
    async draw() {
      const results = this.yasr.results;
      const columns = dateColumns(results);
      if (!columns) return;
      // Wait (briefly) for labels, since item texts are drawn once.
      await Promise.race([labelsFor(results), new Promise((resolve) => setTimeout(resolve, 4000))]);
      if (this.yasr.results !== results) return;
      const variables = safeVariables(results);
      const items = [];
      let undated = 0;
      safeBindings(results).forEach((row, index) => {
        const start = parseDate(row[columns.start]);
        const end = columns.end ? parseDate(row[columns.end]) : null;
        if (!start) {
          undated++;
          return;
        }
        const subjectVar = firstIriVar(row, variables);
        const iri = subjectVar ? row[subjectVar].value : "";
        const label = rowLabel(row, variables, subjectVar) || start.text;
        const when = end ? `${start.text} – ${end.text}` : start.text;
        const item = {
          id: index,
          content: esc(label),
          title: esc(`${label} (${when})${iri ? "\n" + iri : ""}`),
          start: start.start,
          iri,
        };
        if (end && end.end > start.start) Object.assign(item, { end: end.end, type: "range" });
        else item.type = "point";
        items.push(item);
      });
      const container = el("div", { class: "qui-timeline", role: "region", "aria-label": say("timeline_of_results") });
      const note = el("p", { class: "qui-view-note" });
      this.yasr.resultsEl.append(container, note);
      note.textContent = undated
        ? say("dated_shown_some_missing", { n: items.length, missing: undated })
        : say("dated_shown", { n: items.length });
      // Leave room on the right for the texts of the latest items.
      const times = items.flatMap((i) => [i.start.getTime(), (i.end || i.start).getTime()]);
      const [first, last] = [Math.min(...times), Math.max(...times)];
      const span = Math.max(last - first, 30 * 86400000);
      this.timeline = new vis.Timeline(container, new vis.DataSet(items), {
        start: items.length ? new Date(first - span * 0.05) : undefined,
        end: items.length ? new Date(last + span * 0.6) : undefined,
        stack: true,
        showCurrentTime: false,
        zoomKey: "ctrlKey",
        maxHeight: "70vh",
        margin: { item: { horizontal: 4, vertical: 6 } },
      });
      this.timeline.on("doubleClick", (props) => {
        const item = items.find((i) => i.id === props.item);
        const href = item && item.iri ? localHref(item.iri) : null;
        if (href) location.assign(href);
      });
    }
    destroy() {
      if (this.timeline) this.timeline.destroy();
      this.timeline = undefined;
    }
  }

  Yasr.registerPlugin("table", LabelledTable);
  Yasr.registerPlugin("map", MapPlugin);
  Yasr.registerPlugin("timeline", TimelinePlugin);

  // ---------------------------------------------------------------------------------------
  // Errors: the server's own message, with what it means.

  const ERROR_STATUS = /^(\d{3}) ([^:\n]+): ([\s\S]*)$/;
  const SYNTAX_POSITION = /line (\d+), column (\d+)/i;
  let lastSyntaxError = null;

  async function renderError(error) {
    const text = (error.text || "").trim();
    const match = ERROR_STATUS.exec(text);
    const status = match ? Number(match[1]) : error.status;
    const detail = match ? match[3].trim() : text;
    let title;
    if (status === 503 && /longer than the limit/i.test(detail)) {
      title = say("error_timeout", { seconds: CONFIG.queryTimeout });
    } else if (status === 503) title = say("error_busy");
    else if (status === 400 && SYNTAX_POSITION.test(detail)) title = say("error_syntax");
    else if (status && status >= 400 && status < 500) title = say("error_refused");
    else if (status) title = say("error_failed");
    else title = say("error_unreachable");
    const box = el("div", { class: "qui-error", role: "alert" });
    box.append(el("p", { class: "qui-error-title", text: title }));
    box.append(el("pre", { class: "qui-error-message", lang: "en", text: match ? text : detail || "(no message)" }));
    const position = SYNTAX_POSITION.exec(detail);
    if (position && status === 400) {
      const [line, column] = [Number(position[1]), Number(position[2])];
      const button = el("button", { type: "button", class: "qui-button", text: say("go_to_position", { line, column }) });
      button.addEventListener("click", () => showErrorPosition(line, column, true));
      box.append(button);
      showErrorPosition(line, column, false);
    }
    return box;
  }

  function showErrorPosition(line, column, focus) {
    const yasqe = currentTab().getYasqe();
    if (!yasqe) return;
    clearErrorPosition();
    const lineIndex = Math.max(0, Math.min(line - 1, yasqe.lineCount() - 1));
    lastSyntaxError = yasqe.addLineClass(lineIndex, "background", "qui-error-line");
    if (focus) {
      yasqe.focus();
      yasqe.setCursor({ line: lineIndex, ch: Math.max(0, column - 1) });
    }
  }
  function clearErrorPosition() {
    const yasqe = currentTab() && currentTab().getYasqe();
    if (yasqe && lastSyntaxError) yasqe.removeLineClass(lastSyntaxError, "background", "qui-error-line");
    lastSyntaxError = null;
  }
  Yasr.defaults.errorRenderers = [renderError];

  // ---------------------------------------------------------------------------------------
  // The editor: our prefixes, no calls to other services.

  const OUR_PREFIXES = Object.entries(PREFIXES).map(([prefix, ns]) => `${prefix}: <${ns}>`);
  const bundledPrefixes = Yasgui.Yasqe.Autocompleters.prefixes;
  Yasgui.Yasqe.forkAutocompleter(
    "prefixes",
    {
      name: "projectPrefixes",
      persistenceId: null,
      get: async (yasqe) => {
        // Ours first and only ours for a taken name; the bundled list (no network) for the rest.
        let others = [];
        try {
          others = await bundledPrefixes.get(yasqe);
        } catch {
          others = [];
        }
        const ours = new Set(Object.keys(PREFIXES));
        return [...OUR_PREFIXES, ...others.filter((p) => !ours.has(p.split(":")[0]))].sort();
      },
    },
    false,
  );
  // Replace the array (lodash merge would merge it index by index): no LOV completers.
  Yasgui.Yasqe.defaults.autocompleters = ["variables", "projectPrefixes"];

  // ---------------------------------------------------------------------------------------
  // The page

  const root = document.getElementById("yasgui");
  const exampleButtons = [...document.querySelectorAll(".qui-example")];
  const toolbar = document.getElementById("qui-toolbar");
  const toolbarStatus = toolbar.querySelector(".qui-toolbar-status");
  const truncatedBanner = document.querySelector(".qui-banner-truncated");
  const downloadMenu = toolbar.querySelector(".qui-download");

  const initialQuery = CONFIG.query !== null && CONFIG.query !== undefined ? CONFIG.query : null;
  const firstExample = EXAMPLES[0];
  const startText = initialQuery !== null ? initialQuery : firstExample ? firstExample.text : "SELECT * WHERE { ?s ?p ?o } LIMIT 10";

  const yasgui = new Yasgui(root, {
    requestConfig: { endpoint: ENDPOINT, method: "POST" },
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: { getData: () => [{ endpoint: ENDPOINT }] },
    populateFromUrl: false,
    persistenceId: null,
    autofocus: false,
    yasqe: { value: startText, prefixCcApi: null, editorHeight: "20rem" },
    yasr: {
      pluginOrder: ["table", "map", "timeline", "response"],
      defaultPlugin: "table",
      prefixes: PREFIXES,
      persistenceId: null,
    },
  });

  function currentTab() {
    return yasgui.getTab();
  }

  const tab = currentTab();
  const yasqe = tab.getYasqe();
  const yasr = tab.getYasr();

  // YASR's own words, in the page's language: the view buttons and the answer's size and time.
  if (yasr.plugins.response) yasr.plugins.response.label = say("view_response");
  function relabelHeader() {
    for (const [name, plugin] of Object.entries(yasr.plugins)) {
      const button = yasr.headerEl.querySelector(".select_" + name);
      if (!button || !plugin.label) continue;
      button.title = plugin.label;
      button.setAttribute("aria-label", say("shows_view", { view: plugin.label }));
      const text = button.querySelector("span");
      if (text) text.textContent = plugin.label;
    }
  }
  yasr.updateResponseInfo = function updateResponseInfo() {
    let text = "";
    if (this.results) {
      this.dataElement.classList.remove("empty");
      const bindings = this.results.getBindings();
      const time = this.results.getResponseTime();
      const seconds = time ? time / 1000 : null;
      if (bindings) {
        const key = bindings.length === 1 ? "one_result" : "n_results";
        text = seconds !== null ? say(key + "_in", { n: bindings.length, seconds }) : say(key, { n: bindings.length });
      } else if (seconds !== null) text = say("response_in", { seconds });
    } else this.dataElement.classList.add("empty");
    this.dataElement.innerText = text;
  };
  relabelHeader();

  // Our toolbar and the truncation banner sit between the editor and the results.
  yasr.rootEl.before(toolbar, truncatedBanner);
  toolbar.hidden = false;

  function currentSlug() {
    const text = yasqe.getValue();
    const example = EXAMPLES.find((e) => e.text === text);
    return example ? example.slug : null;
  }

  function markCurrentExample() {
    const slug = currentSlug();
    for (const button of exampleButtons) {
      if (button.dataset.slug === slug) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  }

  function shareUrl(text) {
    return `${location.origin}${location.pathname}?query=${encodeURIComponent(text)}`;
  }

  function runQuery() {
    tab.query().catch(() => {}); // errors are drawn by YASR
  }

  // --- Downloads ---

  function updateDownloads() {
    const text = yasqe.getValue();
    const form = queryForm(text);
    const graph = form === "CONSTRUCT" || form === "DESCRIBE";
    const formats = graph ? GRAPH_FORMATS : RESULT_FORMATS;
    const base = currentSlug() || "query";
    const list = downloadMenu.querySelector(".qui-download-list");
    const note = downloadMenu.querySelector(".qui-download-note");
    note.textContent = form
      ? say(graph ? "download_graph_note" : "download_results_note", { form, rows: CONFIG.maxResultRows })
      : say("download_no_form");
    list.replaceChildren(
      ...(form ? formats : []).map((f) => {
        const url = new URL(ENDPOINT);
        url.search = new URLSearchParams({ query: text, format: f.key }).toString();
        const name = graph ? `${base}.${f.ext}` : `${base}-results.${f.ext}`;
        return el("li", {}, el("a", { href: url.href, download: name, "data-format": f.key, text: f.label }));
      }),
    );
  }
  downloadMenu.addEventListener("toggle", () => {
    if (downloadMenu.open) updateDownloads();
  });
  document.addEventListener("click", (event) => {
    if (downloadMenu.open && !downloadMenu.contains(event.target)) downloadMenu.open = false;
  });
  downloadMenu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && downloadMenu.open) {
      downloadMenu.open = false;
      downloadMenu.querySelector("summary").focus();
    }
  });

  // --- Copy link ---

  toolbar.querySelector(".qui-copy-link").addEventListener("click", async () => {
    const url = shareUrl(yasqe.getValue());
    try {
      await navigator.clipboard.writeText(url);
      toolbarStatus.textContent = say("link_copied");
    } catch {
      // No clipboard (e.g. plain http on another host): show the link to copy by hand.
      const input = el("input", { type: "text", readonly: true, value: url, "aria-label": say("link_to_query") });
      toolbarStatus.replaceChildren(say("copy_this_link") + " ", input);
      input.focus();
      input.select();
    }
  });

  // --- Running ---

  yasgui.on("query", () => {
    const text = yasqe.getValue();
    history.replaceState(null, "", shareUrl(text));
    truncatedBanner.hidden = true;
    truncatedBanner.textContent = "";
    toolbarStatus.textContent = say("running");
    clearErrorPosition();
    markCurrentExample();
    updateDownloads();
  });

  yasqe.on("queryResponse", (_yasqe, response) => {
    toolbarStatus.textContent = "";
    const headers = response && response.headers;
    const cap = headers && typeof headers.get === "function" ? headers.get("X-SPARQL-MaxRows") : null;
    if (cap) {
      const form = queryForm(yasqe.getValue());
      const graph = form === "CONSTRUCT" || form === "DESCRIBE";
      truncatedBanner.textContent = say(graph ? "truncated_triples" : "truncated_rows", { n: Number(cap) });
      truncatedBanner.hidden = false;
    }
  });
  yasqe.on("queryAbort", () => {
    toolbarStatus.textContent = say("query_stopped");
  });
  yasqe.on("change", () => {
    clearErrorPosition();
    markCurrentExample();
  });

  // Map and timeline are offered only when the answer has coordinates or dates.
  function updateViewSelectors() {
    for (const name of ["map", "timeline"]) {
      const button = yasr.headerEl.querySelector(".select_" + name);
      const plugin = yasr.plugins[name];
      if (button && plugin) button.closest("li").hidden = !plugin.canHandleResults();
    }
  }
  yasr.on("draw", updateViewSelectors);
  yasr.on("drawn", () => {
    updateViewSelectors();
    // The chosen view stays chosen; say plainly why these results are shown otherwise.
    const chosen = yasr.getSelectedPluginName();
    const needs = { map: "no_coordinates_table", timeline: "no_dates_table" };
    if (needs[chosen] && yasr.fallbackInfoEl.childElementCount && !yasr.plugins[chosen].canHandleResults()) {
      yasr.fallbackInfoEl.replaceChildren(el("p", { text: say(needs[chosen]) }));
    }
    relabelHeader();
  });
  updateViewSelectors();

  // --- Examples ---

  for (const button of exampleButtons) {
    button.addEventListener("click", () => {
      const example = EXAMPLES.find((e) => e.slug === button.dataset.slug);
      if (!example) return;
      tab.setQuery(example.text);
      markCurrentExample();
      runQuery();
    });
  }

  const examplesPanel = document.querySelector(".qui-examples details");
  if (examplesPanel && window.matchMedia("(max-width: 60rem)").matches) examplesPanel.open = false;

  markCurrentExample();
  updateDownloads();
  if (initialQuery !== null) runQuery();
})();
