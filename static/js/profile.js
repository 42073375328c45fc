// The customer's profile: live PINs over the realtime socket (Pusher protocol), with
// polling as a fallback; the personal QR refreshes, or rotates every 30 s on Strict.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("realtime").textContent);
  const pinSection = document.getElementById("pins");
  const pinList = document.getElementById("pin-list");
  // The page's language: "%s s left" as the server translated it.
  const secondsLeft = pinList.dataset.secondsLeft || "%s s";
  const pointsFormat = new Intl.NumberFormat(document.documentElement.lang);

  function showPins(pins) {
    const now = Date.now();
    pinList.replaceChildren();
    pins.filter((pin) => Date.parse(pin.expires_at) > now).forEach((pin) => {
      const item = document.createElement("li");
      item.className = "pin";
      item.dataset.challenge = pin.challenge_id;
      item.dataset.expires = pin.expires_at;
      const digits = document.createElement("span");
      digits.className = "digits";
      digits.textContent = pin.pin;
      const action = document.createElement("span");
      action.className = "action";
      action.textContent = pin.summary || "";
      const countdown = document.createElement("span");
      countdown.className = "countdown";
      item.append(digits, " ", action, " ", countdown);
      pinList.append(item);
    });
    pinSection.hidden = pinList.children.length === 0;
    tick();
  }

  function addPin(pin) {
    const pins = Array.from(pinList.children)
      .filter((item) => item.dataset.challenge !== pin.challenge_id)
      .map((item) => ({
        challenge_id: item.dataset.challenge,
        pin: item.querySelector(".digits").textContent,
        summary: item.querySelector(".action").textContent,
        expires_at: item.dataset.expires,
      }));
    showPins([pin].concat(pins));
  }

  function tick() {
    const now = Date.now();
    Array.from(pinList.children).forEach((item) => {
      const left = Math.round((Date.parse(item.dataset.expires) - now) / 1000);
      if (left <= 0) {
        item.remove();
      } else {
        item.querySelector(".countdown").textContent = secondsLeft.replace("%s", left);
      }
    });
    pinSection.hidden = pinList.children.length === 0;
  }

  function pollPins() {
    fetch("/me/api/pins", { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : null))
      .then((body) => body && showPins(body.data))
      .catch(() => {});
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(
      scheme + "://" + location.host + "/app/" + config.key + "?protocol=7&client=lp-profile&version=1"
    );
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.event === "pusher:connection_established") {
        const socketId = JSON.parse(frame.data).socket_id;
        const body = new URLSearchParams({ socket_id: socketId, channel_name: config.channel });
        fetch("/realtime/auth", { method: "POST", body: body, credentials: "same-origin" })
          .then((response) => response.json())
          .then((answer) =>
            socket.send(JSON.stringify({ event: "pusher:subscribe", data: { channel: config.channel, auth: answer.auth } }))
          );
      } else if (frame.event === "pusher_internal:subscription_succeeded") {
        document.body.dataset.realtime = "subscribed";
      } else if (frame.event === "pin_issued") {
        addPin(JSON.parse(frame.data));
      } else if (frame.event === "balance_updated") {
        const balances = JSON.parse(frame.data);
        const points = document.getElementById("points-balance");
        // Grouped the page language's way, as the server writes it (core/formats.py).
        if (points) points.textContent = pointsFormat.format(balances.points);
      }
    };
    socket.onclose = () => {
      document.body.dataset.realtime = "closed";
      setTimeout(connect, 3000);
    };
    setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ event: "pusher:ping", data: {} }));
    }, 60000);
  }

  const qrImage = document.getElementById("my-qr");
  const qrExpiry = document.getElementById("qr-expiry");

  function refreshQr() {
    fetch("/me/api/qr", { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : null))
      .then((body) => {
        if (!body) return;
        qrImage.src = "/qr.svg?size=256&data=" + encodeURIComponent(body.data.payload);
        qrImage.dataset.payload = body.data.payload;
        qrExpiry.dataset.expires = body.data.expires_at;
      })
      .catch(() => {});
  }

  function qrTick() {
    const left = Math.max(0, Math.round((Date.parse(qrExpiry.dataset.expires) - Date.now()) / 1000));
    const countdown = document.getElementById("qr-countdown");
    if (countdown) countdown.textContent = left;
    if (left <= 0) refreshQr();
  }

  // A reward's form answers the same to a second submit (its hidden key); the button is
  // still turned off once pressed, so a double tap sends one request.
  document.querySelectorAll("form.take-reward").forEach((form) => {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button");
      setTimeout(() => { button.disabled = true; }, 0);
    });
  });

  const refreshButton = document.getElementById("qr-refresh");
  if (refreshButton) refreshButton.addEventListener("click", refreshQr);
  setInterval(tick, 1000);
  setInterval(qrTick, 1000);
  setInterval(pollPins, 5000);
  connect();
})();
