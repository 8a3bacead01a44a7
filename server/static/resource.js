/* Map and timeline of a resource page, drawn from the JSON the page carries (no requests beyond
   this site: the basemap is the vendored country outlines). */
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("resource-data").textContent);

  // xsd:gYear "1998" and xsd:gYearMonth "2016-09" as the first day they cover.
  const asDate = (lexical) => {
    if (!lexical) return null;
    const [year, month = "01", day = "01"] = lexical.slice(0, 10).split("-");
    return new Date(`${year.padStart(4, "0")}-${month}-${day}T00:00:00Z`);
  };

  function link(item) {
    const anchor = document.createElement("a");
    anchor.textContent = item.label;
    if (item.url) anchor.href = item.url;
    return anchor;
  }

  const mapElement = document.getElementById("map");
  if (mapElement && data.points.length) {
    const map = L.map(mapElement, { worldCopyJump: true, attributionControl: false });
    const markers = data.points.map((p) =>
      L.circleMarker([p.lat, p.long], { radius: p.self ? 8 : 6, weight: 2, color: p.self ? "#b3261e" : "#1f5fa8" })
        .bindPopup(link(p))
        .addTo(map),
    );
    const bounds = L.latLngBounds(markers.map((m) => m.getLatLng()));
    if (data.points.length === 1) map.setView(bounds.getCenter(), 5);
    else map.fitBounds(bounds.pad(0.3));
    SisterCitiesBasemap.addTo(map, data.countries);
  }

  const timelineElement = document.getElementById("timeline");
  if (timelineElement && data.timeline.length) {
    const items = new vis.DataSet(
      data.timeline.map((t, i) => {
        const content = link(t);
        const item = { id: i, content, start: asDate(t.start), className: t.self ? "self" : "" };
        if (t.end) Object.assign(item, { end: asDate(t.end), type: "range" });
        else item.type = "point";
        return item;
      }),
    );
    new vis.Timeline(timelineElement, items, { stack: true, zoomable: true, margin: { item: 6 } });
  }
})();
