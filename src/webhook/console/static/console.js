// sampark console: refreshes the live part of a page every few seconds
// (elements with data-refresh hold their fragment's URL). Pages work
// without it; it only saves pressing Reload.
(function () {
  "use strict";
  var EVERY_MS = 3000;
  document.querySelectorAll("[data-refresh]").forEach(function (region) {
    var url = region.getAttribute("data-refresh");
    var busy = false;
    var last = null;
    function tick() {
      // Not while hidden, while a request is out, or while the reader
      // is inside the region (a refresh would move their focus).
      if (busy || document.hidden || region.contains(document.activeElement)) {
        return;
      }
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          // Only a change is put in (and announced: the region is aria-live).
          if (html !== last) { region.innerHTML = html; last = html; }
          region.removeAttribute("data-stale");
        })
        .catch(function () { region.setAttribute("data-stale", "true"); })
        .then(function () { busy = false; });
    }
    window.setInterval(tick, EVERY_MS);
  });
})();
