/* Map and timeline of a resource page, drawn from the JSON the page carries (no requests beyond
   this site: the basemap is the vendored country outlines). Every marker is a labelled link that
   the keyboard reaches (Tab, then Enter); the page lists the same places and dates as text, and
   says which places could not be drawn. */
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("resource-data").textContent);
  const words = data.words || {};

  // xsd:gYear "1998" and xsd:gYearMonth "2016-09" as the first day they cover.
  const asDate = (lexical) => {
    if (!lexical) return null;
    const [year, month = "01", day = "01"] = lexical.slice(0, 10).split("-");
    return new Date(`${year.padStart(4, "0")}-${month}-${day}T00:00:00Z`);
  };

  const withLanguage = (url) => {
    if (!url || !data.lang) return url;
    return url + (url.includes("?") ? "&" : "?") + "lang=" + encodeURIComponent(data.lang);
  };

  function link(item, focusable = true) {
    const anchor = document.createElement("a");
    anchor.textContent = item.label;
    if (item.language && item.language !== data.lang) anchor.lang = item.language;
    if (item.url) anchor.href = withLanguage(item.url);
    if (!focusable) anchor.tabIndex = -1;
    return anchor;
  }

  const mapElement = document.getElementById("map");
  if (mapElement && data.points.length) {
    const map = L.map(mapElement, { worldCopyJump: true, attributionControl: false, zoomControl: false });
    L.control.zoom({ zoomInTitle: words.zoomIn || "Zoom in", zoomOutTitle: words.zoomOut || "Zoom out" }).addTo(map);
    // The view first: markers get their elements (to label them) only on a map that has one.
    const bounds = L.latLngBounds(data.points.map((p) => [p.lat, p.long]));
    if (data.points.length === 1) map.setView(bounds.getCenter(), 5);
    else map.fitBounds(bounds.pad(0.3));
    for (const p of data.points) {
      const name = p.role ? `${p.label} (${p.role})` : p.label;
      const icon = L.divIcon({ className: `place-marker${p.self ? " self" : ""}`, iconSize: [14, 14] });
      const marker = L.marker([p.lat, p.long], { icon, keyboard: true, title: name, alt: name, riseOnHover: true })
        .bindTooltip(p.label, { permanent: true, direction: "right", offset: [8, 0], className: "place-label" })
        .addTo(map);
      const element = marker.getElement();
      element.setAttribute("role", "link");
      element.setAttribute("aria-label", name);
      if (p.url) {
        const open = () => location.assign(withLanguage(p.url));
        marker.on("click", open);
        element.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            open();
          }
        });
      }
    }
    SisterCitiesBasemap.addTo(map, data.countries);
  }

  const timelineElement = document.getElementById("timeline");
  if (timelineElement && data.timeline.length) {
    // The first view holds every item: from a little before the first to well after the last,
    // so that the labels of the latest items, drawn to the right of their dates, are not cut.
    const times = data.timeline.flatMap((t) => [asDate(t.start).getTime(), asDate(t.end || t.start).getTime()]);
    const [first, last] = [Math.min(...times), Math.max(...times)];
    const span = Math.max(last - first, 365 * 86400000);
    const longest = Math.max(...data.timeline.map((t) => t.label.length));
    const room = Math.min(3, 0.25 + longest / 40); // more room on the right for longer labels
    const items = new vis.DataSet(
      data.timeline.map((t, i) => {
        // The list under the timeline is the keyboard's way in: these links are for the mouse.
        const item = { id: i, content: link(t, false), start: asDate(t.start), className: t.self ? "self" : "", title: `${t.label} (${t.when})` };
        // A range too short to hold its label (a two-week exhibition in a 20-year view) is a point.
        const end = t.end ? asDate(t.end) : null;
        if (end && end - asDate(t.start) > span / 20) Object.assign(item, { end, type: "range" });
        else item.type = "point";
        return item;
      }),
    );
    new vis.Timeline(timelineElement, items, {
      stack: true,
      zoomable: true,
      zoomKey: "ctrlKey",
      showCurrentTime: false,
      start: new Date(first - span * 0.1),
      end: new Date(last + span * room),
      margin: { item: 6 },
    });
  }
})();
