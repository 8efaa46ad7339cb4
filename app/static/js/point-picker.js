/* Precise home point: click on the map to fill the latitude and longitude fields.
 * Progressive enhancement: without JavaScript the two fields are typed by hand. */
(function () {
  "use strict";
  var box = document.getElementById("point-map");
  if (!box || typeof L === "undefined") { return; }
  var latField = document.getElementById(box.dataset.latField);
  var lonField = document.getElementById(box.dataset.lonField);
  var communeField = document.getElementById(box.dataset.communeField);
  if (!latField || !lonField) { return; }
  box.hidden = false;
  var parse = function (v) { var n = parseFloat(String(v || "").replace(",", ".")); return isNaN(n) ? null : n; };
  var map = L.map(box, { keyboard: true }).setView([44.45, 1.44], 10);
  L.tileLayer("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 18, attribution: "© contributeurs OpenStreetMap"
  }).addTo(map);
  // Names go into the map as text, never as HTML (Leaflet would parse a string).
  function textNode(text) {
    var node = document.createElement("span");
    node.textContent = String(text == null ? "" : text);
    return node;
  }
  var marker = null;
  function place(lat, lon, pan) {
    if (marker) { marker.setLatLng([lat, lon]); } else { marker = L.marker([lat, lon], { keyboard: false }).addTo(map); }
    if (pan) { map.setView([lat, lon], 15); }
  }
  var lat0 = parse(latField.value), lon0 = parse(lonField.value);
  if (lat0 !== null && lon0 !== null) { place(lat0, lon0, true); }
  map.on("click", function (e) {
    latField.value = e.latlng.lat.toFixed(6);
    lonField.value = e.latlng.lng.toFixed(6);
    place(e.latlng.lat, e.latlng.lng, false);
  });
  var centres = {};
  fetch(box.dataset.communesUrl || "/communes.json", { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : []; })
    .then(function (data) {
      // Commune centres, drawn too so that the map is readable without the tile server.
      (data || []).forEach(function (c) {
        centres[c.insee] = [c.lat, c.lon];
        L.circleMarker([c.lat, c.lon], { radius: 4, color: "#000091", weight: 1, fillOpacity: 0.5, interactive: false })
          .bindTooltip(textNode(c.name), { permanent: true, direction: "right", className: "lot-commune-label" })
          .addTo(map);
      });
      if ((lat0 === null || lon0 === null) && communeField && centres[communeField.value]) {
        map.setView(centres[communeField.value], 13);
      }
    })
    .catch(function () { /* the map stays on the default view */ });
  if (communeField) {
    communeField.addEventListener("change", function () {
      if (centres[communeField.value] && !marker) { map.setView(centres[communeField.value], 13); }
    });
  }
})();
