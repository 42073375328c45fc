// The profile as an installed app (docs/decisions/0057-installable-profile.md): registers
// the service worker, and on the dashboard says when what it shows may be out of date (the
// copy the service worker kept, shown offline, or a page open while the phone went offline).
(function () {
  "use strict";
  const script = document.currentScript;
  const notice = document.getElementById("offline-notice");
  if (notice) {
    const isCopy = notice.dataset.copy === "offline";
    notice.hidden = !(isCopy || !navigator.onLine);
    window.addEventListener("offline", () => {
      notice.hidden = false;
    });
    window.addEventListener("online", () => {
      if (isCopy) location.reload();
      else notice.hidden = true;
    });
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker
      .register(script.dataset.serviceWorker, { scope: script.dataset.scope })
      .catch(() => undefined);
  }
})();
