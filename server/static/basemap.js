/* An offline basemap: Natural Earth country outlines (vendored world-atlas + topojson-client),
   shared by the query UI's map view and the resource pages. No tiles, no network beyond this site. */
"use strict";
window.SisterCitiesBasemap = (() => {
  const cache = new Map();

  // Natural Earth rings that cross the antimeridian (Russia, Fiji) jump from +180 to -180,
  // which a flat map draws as a line across the world: make them continuous instead.
  function unwrapRing(ring) {
    const out = [ring[0]];
    let shift = 0;
    for (let i = 1; i < ring.length; i++) {
      const step = ring[i][0] - ring[i - 1][0];
      if (step > 180) shift -= 360;
      else if (step < -180) shift += 360;
      out.push([ring[i][0] + shift, ring[i][1]]);
    }
    if (shift !== 0) return ring; // a ring around a pole (Antarctica) stays as it is
    const lons = out.map((p) => p[0]);
    const middle = (Math.min(...lons) + Math.max(...lons)) / 2;
    const back = middle > 180 ? -360 : middle < -180 ? 360 : 0;
    return back ? out.map(([lon, lat]) => [lon + back, lat]) : out;
  }

  function unwrapGeometry(geometry) {
    if (!geometry) return;
    if (geometry.type === "Polygon") geometry.coordinates = geometry.coordinates.map(unwrapRing);
    else if (geometry.type === "MultiPolygon") geometry.coordinates = geometry.coordinates.map((p) => p.map(unwrapRing));
  }

  /** The countries as GeoJSON, fetched once per URL. */
  function countries(url) {
    if (!cache.has(url)) {
      const promise = fetch(url)
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`countries: HTTP ${r.status}`))))
        .then((topology) => {
          const world = topojson.feature(topology, topology.objects.countries);
          for (const feature of world.features) unwrapGeometry(feature.geometry);
          return world;
        });
      promise.catch(() => cache.delete(url));
      cache.set(url, promise);
    }
    return cache.get(url);
  }

  /** A light country layer under the markers of a Leaflet map. */
  function addTo(map, url) {
    return countries(url).then((world) =>
      L.geoJSON(world, { interactive: false, style: { color: "#9aa5b1", weight: 0.6, fillColor: "#e8edf2", fillOpacity: 1 } })
        .addTo(map)
        .bringToBack(),
    );
  }

  return { countries, addTo };
})();
