// The share page: copy the join link to the clipboard, then tell the server it was shared
// (the onboarding checklist ticks its last step from that record).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("share-config").textContent);
  var form = document.getElementById("share-form");
  var input = document.getElementById("join-link");
  var status = document.getElementById("share-status");

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    input.select();
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy"));
  }

  function record() {
    return fetch(config.recordUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value,
        Accept: "application/json",
      },
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    copy(input.value).then(
      function () {
        // Said once the share is recorded (or its record failed: the link is copied anyway).
        var said = function () {
          status.textContent = config.copied;
        };
        return record().then(said, said);
      },
      function () {
        input.select();
        status.textContent = config.copyFailed;
      }
    );
  });
})();
