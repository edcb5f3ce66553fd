/* The portal's maps, drawn with Leaflet (served from /static/leaflet, never a CDN): the
   catalogue's results, a city's listings, a pitch page's smart block.

   The data is the JSON in the <script type="application/json"> that the map's data-map
   attribute names (templates/_map.html); the words come from the map's data- attributes.
   Text from the data is only ever set as text (textContent, alt), never as HTML. Without
   this script the map stays hidden, and the page's own list of listings says the same.

   Zoomed out, there is one marker per city; zoomed in, one per place: a smart block's
   centre when the city drew its boundary, else the city centre. Each marker has a
   permanent label (the place and how many listings are there) and a popup with a link
   to each listing; labels that would overlap one already shown are hidden, the busiest
   places first. With no tile server configured, the outline of the region is drawn on a
   plain background instead. */
(function () {
  "use strict";

  var PLACE_ZOOM = 13; // from this zoom on, a marker per place; below it, one per city
  var OUTLINE_MAX_ZOOM = 11; // the outline of the region is too coarse to show closer in
  var ALONE_ZOOM = 15; // a single place on the map
  var BOUNDARY = { color: "#0b6e4f", weight: 3, fillColor: "#0b6e4f", fillOpacity: 0.15 };
  var LAND = { color: "#8c979f", weight: 1, fillColor: "#f4f1e8", fillOpacity: 1 };
  var NEIGHBOUR = { color: "#a9b2b9", weight: 1, fillColor: "#e7e4db", fillOpacity: 1 };

  function element(tag, text) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    return node;
  }

  function link(text, href) {
    var a = element("a", text);
    a.href = href;
    return a;
  }

  function label(name, count) {
    return count > 1 ? name + " (" + count + ")" : name;
  }

  function popup(heading, listings) {
    var box = element("div");
    var title = element("strong");
    title.appendChild(heading);
    box.appendChild(title);
    var list = element("ul");
    listings.forEach(function (listing) {
      var item = element("li");
      item.appendChild(link(listing.title, listing.href));
      list.appendChild(item);
    });
    box.appendChild(list);
    return box;
  }

  function marker(position, text, content, count, width) {
    var pin = L.marker(position, { alt: text, keyboard: true, riseOnHover: true });
    pin.bindTooltip(element("span", text), {
      permanent: true,
      direction: "auto", // to the side with more room
      className: "map-label",
    });
    pin.bindPopup(content, {
      maxWidth: Math.max(120, Math.min(320, width - 90)), // within a phone's map
      autoPanPaddingTopLeft: [56, 12], // clear of the zoom buttons
      autoPanPaddingBottomRight: [12, 12],
    });
    pin.listingCount = count;
    return pin;
  }

  // Hide each label that overlaps one already kept, the busiest places kept first.
  function declutter(layer) {
    var kept = [];
    layer
      .getLayers()
      .slice()
      .sort(function (a, b) {
        return b.listingCount - a.listingCount;
      })
      .forEach(function (pin) {
        var tooltip = pin.getTooltip();
        var node = tooltip && tooltip.getElement();
        if (!node) return;
        node.classList.remove("map-label-hidden");
        var box = node.getBoundingClientRect();
        var clash = kept.some(function (other) {
          return !(
            box.right <= other.left ||
            box.left >= other.right ||
            box.bottom <= other.top ||
            box.top >= other.bottom
          );
        });
        if (clash) node.classList.add("map-label-hidden");
        else kept.push(box);
      });
  }

  function draw(container) {
    var source = document.getElementById(container.getAttribute("data-map"));
    if (!source || !window.L) return;
    var data = JSON.parse(source.textContent);
    var section = container.closest("[data-map-section]");
    if (section) section.hidden = false; // shown before Leaflet measures it

    L.Icon.Default.imagePath = "/static/leaflet/images/";
    var map = L.map(container, { zoomControl: false, scrollWheelZoom: false });
    L.control
      .zoom({
        zoomInTitle: container.getAttribute("data-zoom-in") || "+",
        zoomOutTitle: container.getAttribute("data-zoom-out") || "-",
      })
      .addTo(map);
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');

    var byCity = L.layerGroup();
    var byPlace = L.layerGroup();
    var bounds = L.latLngBounds([]);
    data.cities.forEach(function (city) {
      var inCity = [];
      city.places.forEach(function (place) {
        var name = place.name || city.name;
        inCity = inCity.concat(place.listings);
        byPlace.addLayer(
          marker(
            [place.lat, place.lon],
            label(name, place.listings.length),
            popup(document.createTextNode(name), place.listings),
            place.listings.length,
            container.clientWidth
          )
        );
        bounds.extend([place.lat, place.lon]);
        if (place.boundary) {
          var outline = L.geoJSON(place.boundary, {
            style: Object.assign({ className: "map-boundary" }, BOUNDARY),
            interactive: false,
          }).addTo(map);
          bounds.extend(outline.getBounds());
        }
      });
      byCity.addLayer(
        marker(
          [city.lat, city.lon],
          label(city.name, inCity.length),
          popup(link(city.name, city.href), inCity),
          inCity.length,
          container.clientWidth
        )
      );
    });

    var region = null;
    function show() {
      var close = map.getZoom() >= PLACE_ZOOM;
      var shown = close ? byPlace : byCity;
      map.removeLayer(close ? byCity : byPlace);
      map.addLayer(shown);
      if (region) {
        var outlined = map.getZoom() <= OUTLINE_MAX_ZOOM;
        if (outlined) map.addLayer(region);
        else map.removeLayer(region);
        container.classList.toggle("map-sea", outlined); // else all is land: no blue
      }
      declutter(shown);
      container.setAttribute("data-level", close ? "place" : "city"); // for the browser tests
    }
    map.on("zoomend", show);

    if (data.tiles && data.tiles.url) {
      L.tileLayer(data.tiles.url, { attribution: data.tiles.attribution || "", maxZoom: 19 }).addTo(
        map
      );
    } else {
      container.classList.add("map-plain");
      map.createPane("region").style.zIndex = 250; // above tiles, below every overlay
      fetch(data.region)
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (geojson) {
          if (!geojson) return;
          region = L.geoJSON(geojson, {
            pane: "region",
            interactive: false,
            attribution: "Natural Earth",
            style: function (feature) {
              return feature.properties.focus ? LAND : NEIGHBOUR;
            },
          });
          show();
        })
        .catch(function () {}); // the markers and labels still stand on the plain background
    }

    var southWest = bounds.getSouthWest();
    if (southWest.equals(bounds.getNorthEast())) {
      map.setView(southWest, ALONE_ZOOM);
    } else {
      map.fitBounds(bounds, {
        paddingTopLeft: [30, 40],
        paddingBottomRight: [Math.min(140, container.clientWidth / 4), 20],
        maxZoom: 16,
      });
    }
    show();

    // A popup opened from the keyboard takes the focus to its first link; Escape closes
    // it (Leaflet does so only while the map itself has the focus), and the focus goes
    // back to its marker. Leaflet's own close button gets the page's words.
    var enterAt = 0;
    var opener = null;
    container.addEventListener(
      "keydown",
      function (event) {
        if (event.key === "Enter") enterAt = Date.now();
        if (event.key === "Escape") map.closePopup();
      },
      true
    );
    map.on("popupopen", function (event) {
      var node = event.popup.getElement();
      var closer = node.querySelector(".leaflet-popup-close-button");
      if (closer) closer.setAttribute("aria-label", container.getAttribute("data-close") || "×");
      opener = null;
      if (Date.now() - enterAt < 500) {
        opener = document.activeElement;
        var first = node.querySelector(".leaflet-popup-content a");
        if (first) first.focus({ preventScroll: true }); // Leaflet pans it into view
      }
    });
    map.on("popupclose", function () {
      if (opener && document.body.contains(opener)) opener.focus();
      opener = null;
    });
  }

  function start() {
    document.querySelectorAll("[data-map]").forEach(draw);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
