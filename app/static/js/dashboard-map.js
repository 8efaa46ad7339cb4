/* Dashboard map: needs (pickup points) and volunteers (home, rounded) on Leaflet.
 * The same figures are in the tables of the page; the map is an addition.
 * Labels are free text typed by people (a destination, a commune): Leaflet would read a string
 * as HTML, so every label is given as a DOM node whose text is set with textContent. */
(function () {
  "use strict";
  var box = document.getElementById("dashboard-map");
  var source = document.getElementById("dashboard-map-data");
  if (!box || !source || typeof L === "undefined") { return; }
  var data;
  try { data = JSON.parse(source.textContent); } catch (e) { return; }
  box.hidden = false;
  var map = L.map(box).setView([44.45, 1.44], 10);
  L.tileLayer("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 18, attribution: "© contributeurs OpenStreetMap"
  }).addTo(map);
  var colours = { unserved: "#ce0500", confirmed: "#18753c", proposed: "#b34000" };
  var statuses = { "new": "nouveau", searching: "en recherche", proposed: "proposé",
                   confirmed: "confirmé", unserved: "sans solution" };
  function label(text) {
    var node = document.createElement("span");
    node.className = "lot-map-label";
    node.textContent = text;
    return node;
  }
  var points = [];
  (data.needs || []).forEach(function (n) {
    L.circleMarker([n.lat, n.lon], { radius: 7, color: colours[n.status] || "#000091", fillOpacity: 0.7 })
      .bindTooltip(label("Besoin (" + (statuses[n.status] || String(n.status)) + ") vers " + String(n.to || "")))
      .addTo(map);
    points.push([n.lat, n.lon]);
  });
  (data.drivers || []).forEach(function (d) {
    L.circleMarker([d.lat, d.lon], { radius: 5, color: "#6a6af4", dashArray: "2", fillOpacity: 0.3 })
      .bindTooltip(label("Bénévole, " + String(d.commune || ""))).addTo(map);
    points.push([d.lat, d.lon]);
  });
  if (points.length > 1) { map.fitBounds(points, { padding: [20, 20] }); }
})();
