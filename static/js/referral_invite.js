// The profile's "Invite a friend" part: copy the personal link to the clipboard.
(function () {
  "use strict";
  var input = document.getElementById("invite-link");
  var button = document.getElementById("invite-copy");
  var status = document.getElementById("invite-status");
  if (!input || !button) return;

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    input.select();
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy"));
  }

  input.addEventListener("focus", function () {
    input.select();
  });
  button.addEventListener("click", function () {
    copy(input.value).then(
      function () {
        status.textContent = button.dataset.copied;
      },
      function () {
        input.select();
        status.textContent = button.dataset.failed;
      }
    );
  });
})();
