// Sign-up page: tells whether the address typed is free while it is typed, and passes the
// browser's time zone along. The form works the same without this script.
(function () {
  "use strict";
  var input = document.getElementById("id_slug");
  var status = document.getElementById("slug-status");
  var zone = document.getElementById("id_timezone");
  if (zone && !zone.value && window.Intl && Intl.DateTimeFormat) {
    try {
      zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      zone.value = "";
    }
  }
  if (!input || !status || !window.fetch) {
    return;
  }
  var timer = null;
  var asked = "";

  function show(text, state) {
    status.textContent = text;
    status.className = "status" + (state ? " " + state : "");
    status.dataset.state = state || "";
  }

  function check() {
    var slug = input.value.trim().toLowerCase();
    if (!slug) {
      show("", "");
      return;
    }
    asked = slug;
    var url = input.dataset.checkUrl + "?slug=" + encodeURIComponent(slug);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json();
      })
      .then(function (body) {
        if (asked !== slug) {
          return; // an older answer: the field has changed since
        }
        if (body.error === "rate_limited") {
          show("", "");
          return;
        }
        show(body.message || "", body.available ? "available" : "taken");
      })
      .catch(function () {
        show("", "");
      });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 300);
  });
  if (input.value) {
    check();
  }
})();
