// Live refresh: every element with data-poll gets its HTML again from that URL every 1.5 s.
// The server renders (and escapes) the fragment; nothing here builds markup from data.
(function () {
  "use strict";
  var PERIOD_MS = 1500;
  function refresh(element) {
    fetch(element.getAttribute("data-poll"), {headers: {"X-Panel-Poll": "1"}, credentials: "same-origin",
                                             cache: "no-store"})
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== element.getAttribute("data-last")) {
          element.innerHTML = html;
          element.setAttribute("data-last", html);
        }
      })
      .catch(function () { /* the bot may be restarting: try again next time */ })
      .finally(function () { setTimeout(function () { refresh(element); }, PERIOD_MS); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var elements = document.querySelectorAll("[data-poll]");
    for (var i = 0; i < elements.length; i++) {
      (function (element) { setTimeout(function () { refresh(element); }, PERIOD_MS); })(elements[i]);
    }
  });
})();
