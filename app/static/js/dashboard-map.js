/* Dashboard map: needs (pickup points) and volunteers (home, rounded) on Leaflet.
 * The same figures are in the tables of the page; the map is an addition. */
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
  var points = [];
  (data.needs || []).forEach(function (n) {
    L.circleMarker([n.lat, n.lon], { radius: 7, color: colours[n.status] || "#000091", fillOpacity: 0.7 })
      .bindTooltip("Besoin (" + n.status + ") vers " + n.to).addTo(map);
    points.push([n.lat, n.lon]);
  });
  (data.drivers || []).forEach(function (d) {
    L.circleMarker([d.lat, d.lon], { radius: 5, color: "#6a6af4", dashArray: "2", fillOpacity: 0.3 })
      .bindTooltip("Bénévole, " + d.commune).addTo(map);
    points.push([d.lat, d.lon]);
  });
  if (points.length > 1) { map.fitBounds(points, { padding: [20, 20] }); }
})();
