// A "Copy" button beside a read-only field (the webhook secret shown once): copies the field's
// text and says so in the status line; where the clipboard is refused, selects the text.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    var status = document.querySelector("[data-copy-status]");
    function say(text) {
      if (status) {
        status.textContent = text;
      }
    }
    button.addEventListener("click", function () {
      input.select();
      var copied =
        navigator.clipboard && window.isSecureContext
          ? navigator.clipboard.writeText(input.value)
          : document.execCommand("copy")
            ? Promise.resolve()
            : Promise.reject(new Error("copy"));
      copied.then(
        function () {
          say(button.getAttribute("data-copied"));
        },
        function () {
          input.select();
          say(button.getAttribute("data-copy-failed"));
        }
      );
    });
  });
})();
