// The browser till: a POS terminal in the portal, calling the POS API (/webhook/...) with a key
// of its own. The key comes as JSON from /admin/till/key/ and lives only in this script's memory.
// Every money or point call carries an external_id made once per sale attempt and reused when
// the same attempt is sent again (a double click, a lost answer, a PIN), so nothing posts twice.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("till-config").textContent);
  const strings = config.strings;
  const messages = config.messages;
  const $ = (id) => document.getElementById(id);

  let apiKey = null;
  let customer = null; // {code, manual}
  let retryLast = null; // what the Retry button sends again
  const attempts = new Map(); // attempt signature -> {externalId, pin, challengeId, busy}
  let pinAttempt = null; // the attempt waiting for a PIN, and how to resend it

  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, (match, name) => (name in values ? String(values[name]) : match));
  }

  function randomId() {
    // crypto.getRandomValues works without a secure context (randomUUID does not).
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "till-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- Messages ---------------------------------------------------------------------------
  function say(text) {
    $("till-status").textContent = text;
  }

  // What each campaign added to an earn ("campaigns" is there only when one did).
  function withBoosts(text, data) {
    const added = (data.campaigns || []).map((campaign) =>
      format(campaign.stamps ? strings.campaignStamps : strings.campaignPoints, {
        name: campaign.name,
        points: campaign.points,
        stamps: campaign.stamps,
      })
    );
    return [text].concat(added).join(" ");
  }

  function clearError() {
    $("till-error").hidden = true;
    $("till-retry").hidden = true;
    retryLast = null;
  }

  function errorText(body, status) {
    const code = body && typeof body.error === "string" ? body.error : "http_" + status;
    let text = messages[code] || format(strings.unknown, { code: code });
    if (body && body.retry_after) text += " " + format(strings.pinRetryAfter, { seconds: body.retry_after });
    return text;
  }

  // A call that got no answer (a network error), or whose key could not be renewed.
  function failureText(failure) {
    return failure && failure.body ? errorText(failure.body, failure.status) : strings.network;
  }

  function showError(text, retry) {
    $("till-error-text").textContent = text;
    $("till-error").hidden = false;
    retryLast = retry || null;
    $("till-retry").hidden = !retry;
    say("");
  }

  // --- The key and the API ----------------------------------------------------------------
  function csrfToken() {
    return document.querySelector("#till-shop-form [name=csrfmiddlewaretoken]").value;
  }

  async function obtainKey() {
    const form = $("till-shop-form");
    const response = await fetch(config.keyUrl, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    });
    const body = await response.json().catch(() => null);
    if (response.redirected || body === null) {
      // The staff session ended (signed out, expired): the portal answered with its sign-in page.
      throw { status: 401, body: { error: "session_ended" } };
    }
    if (!response.ok || !body.data) {
      throw { status: response.status, body: body };
    }
    apiKey = body.data.key;
    return body.data;
  }

  // One POS API call; a key that stopped working (expired, revoked at a log-out elsewhere) is
  // replaced once and the call sent again with the same body, so the same external_id.
  async function api(method, path, body, renewed) {
    const options = {
      method: method,
      headers: { "X-Api-Key": apiKey, Accept: "application/json" },
      credentials: "omit",
      cache: "no-store",
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const answer = await response.json().catch(() => null);
    if (response.status === 401 && !renewed) {
      await obtainKey();
      return api(method, path, body, true);
    }
    return { status: response.status, ok: response.ok, body: answer };
  }

  // --- Sale attempts ----------------------------------------------------------------------
  // An attempt is one sale step as the cashier asked for it: the same endpoint and values
  // sent again are the same attempt (same external_id) until it succeeds or is refused.
  async function attempt(method, path, fields, onSuccess, pinAllowed) {
    const signature = method + " " + path + " " + JSON.stringify(fields);
    let current = attempts.get(signature);
    if (!current) {
      current = { externalId: randomId(), pin: null, challengeId: null, busy: false };
      attempts.set(signature, current);
    }
    if (current.busy) return; // a double click: the first send is still under way
    current.busy = true;
    const body = Object.assign({}, fields, { external_id: current.externalId });
    if (current.pin) {
      body.verification_pin = current.pin;
      if (current.challengeId) body.challenge_id = current.challengeId;
    }
    const resend = () => attempt(method, path, fields, onSuccess, pinAllowed);
    let result;
    try {
      result = await api(method, path, body);
    } catch (failure) {
      current.busy = false;
      // No answer: the call may or may not have run. Retry sends the same external_id.
      showError(failureText(failure), resend);
      return;
    }
    current.busy = false;
    const answer = result.body || {};
    if (result.ok) {
      attempts.delete(signature);
      closePin();
      clearError();
      onSuccess(answer.data || {});
      refreshWallet();
      return;
    }
    const code = answer.error;
    if (code === "pin_required" || code === "pin_invalid") {
      current.challengeId = answer.challenge_id || current.challengeId;
      current.pin = null;
      let note = code === "pin_invalid" ? messages.pin_invalid : "";
      if (answer.remaining_attempts !== undefined && code === "pin_invalid") {
        note += " " + format(strings.pinAttempts, { count: answer.remaining_attempts });
      }
      askPin(current, resend, answer.pin_length || config.pinLength, note);
      return;
    }
    if (code === "pin_expired" || code === "pin_attempts_exceeded") {
      // The challenge is over; the next send (same external_id) gets a new one.
      current.pin = null;
      current.challengeId = null;
      closePin();
      showError(errorText(answer, result.status), resend);
      return;
    }
    if (result.status >= 500 || code === "request_in_progress" || code === "too many requests") {
      closePin();
      showError(errorText(answer, result.status), resend);
      return;
    }
    // Refused: nothing changed, so the next try is a new attempt.
    attempts.delete(signature);
    closePin();
    showError(errorText(answer, result.status));
  }

  // --- PIN prompt --------------------------------------------------------------------------
  function askPin(current, resend, length, note) {
    const dialog = $("pin-dialog");
    const input = $("pin-input");
    pinAttempt = { current: current, resend: resend };
    input.value = "";
    input.maxLength = length;
    input.pattern = "[0-9]{" + length + "}";
    $("pin-error").textContent = note || "";
    clearError();
    if (!dialog.open) dialog.showModal();
    input.focus();
  }

  function closePin() {
    const dialog = $("pin-dialog");
    if (dialog.open) dialog.close();
    pinAttempt = null;
  }

  $("pin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!pinAttempt) return;
    const waiting = pinAttempt;
    waiting.current.pin = $("pin-input").value.trim();
    waiting.resend();
  });
  $("pin-cancel").addEventListener("click", closePin);

  // --- The customer --------------------------------------------------------------------
  function show(id, visible) {
    $(id).hidden = !visible;
  }

  async function identify(query, manual) {
    clearError();
    say(strings.searching);
    let result;
    try {
      result = await api("GET", "/webhook/customer?" + new URLSearchParams(query).toString());
    } catch (failure) {
      showError(failureText(failure), () => identify(query, manual));
      return;
    }
    if (!result.ok) {
      showError(errorText(result.body, result.status));
      return;
    }
    useCustomer(result.body.data.customer_code, manual);
  }

  function useCustomer(code, manual) {
    stopScan();
    customer = { code: code, manual: manual };
    attempts.clear();
    $("customer-code").textContent = String(code);
    show("till-customer", true);
    show("till-actions", true);
    say(strings.identified);
    refreshWallet();
  }

  async function refreshWallet() {
    if (!customer) return;
    let result;
    try {
      result = await api("GET", "/webhook/customers/" + customer.code + "/wallet");
    } catch (failure) {
      showError(failureText(failure), refreshWallet);
      return;
    }
    if (!result.ok) {
      showError(errorText(result.body, result.status));
      return;
    }
    renderWallet(result.body.data);
    // The wallet leaves out prepaid credit: it has an endpoint of its own.
    try {
      const prepaid = await api("GET", "/webhook/customers/" + customer.code + "/prepaid");
      $("balance-prepaid").textContent = prepaid.ok ? prepaid.body.data.balance + " " + prepaid.body.data.currency : "–";
    } catch (failure) {
      $("balance-prepaid").textContent = "–";
    }
  }

  function renderWallet(wallet) {
    $("balance-points").textContent = String(wallet.points);
    $("balance-worth").textContent = wallet.points_worth + " " + wallet.currency;
    $("balance-stamps").textContent = String(wallet.stamps);
    $("balance-tier").textContent = wallet.tier && wallet.tier.name ? wallet.tier.name : strings.none;
    show("customer-blocked", wallet.status === "blocked");
    $("till-customer").dataset.status = wallet.status;
    const coupons = $("coupon-list");
    coupons.replaceChildren();
    (wallet.coupons || []).forEach((coupon) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = coupon.name;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "till-button till-button-small";
      button.textContent = strings.redeem;
      button.setAttribute("aria-label", strings.redeem + ": " + coupon.name);
      button.addEventListener("click", () => redeemCoupon(coupon));
      item.append(name, " ", button);
      coupons.append(item);
    });
    show("coupon-none", coupons.children.length === 0);
    const vouchers = $("voucher-list");
    vouchers.replaceChildren();
    (wallet.vouchers || []).forEach((voucher) => {
      const item = document.createElement("li");
      item.textContent = voucher.promotion + " (" + voucher.code + ")";
      vouchers.append(item);
    });
    show("voucher-none", vouchers.children.length === 0);
    $("till").dataset.wallet = "shown";
  }

  function nextCustomer() {
    customer = null;
    attempts.clear();
    stopSession();
    show("till-customer", false);
    show("till-actions", false);
    $("till").dataset.wallet = "";
    $("find-code").value = "";
    clearError();
    say(strings.ready);
    $("find-code").focus();
  }

  // --- Actions ------------------------------------------------------------------------------
  function verification() {
    return { manual_code: customer.manual };
  }

  function redeemCoupon(coupon) {
    attempt(
      "POST",
      "/webhook/coupons/redeem",
      Object.assign({ token: coupon.qr_token }, verification()),
      () => say(strings.couponRedeemed)
    );
  }

  function handleForm(id, perform) {
    const form = $(id);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!customer || form.getAttribute("aria-busy") === "true") return;
      // Busy until the answer (or the PIN prompt); attempts also refuse a second send.
      form.setAttribute("aria-busy", "true");
      Promise.resolve(perform(new FormData(form))).finally(() => form.removeAttribute("aria-busy"));
    });
  }

  handleForm("earn-form", (data) =>
    attempt(
      "POST",
      "/webhook/pos",
      Object.assign(
        { customer_code: customer.code, amount: data.get("amount"), card_type: "point" },
        verification()
      ),
      (data) => say(withBoosts(strings.earned, data))
    )
  );
  handleForm("stamp-form", (data) =>
    attempt(
      "POST",
      "/webhook/pos",
      Object.assign(
        { customer_code: customer.code, amount: Number(data.get("amount")), card_type: "stamp" },
        verification()
      ),
      (data) => say(withBoosts(strings.stamped, data))
    )
  );
  handleForm("redeem-form", (data) =>
    attempt(
      "POST",
      "/webhook/redeem",
      Object.assign(
        { customer_code: customer.code, value: Number(data.get("value")), card_type: "point" },
        verification()
      ),
      () => say(strings.redeemed)
    )
  );
  handleForm("voucher-form", (data) => {
    const fields = { customer_code: customer.code };
    if (data.get("amount")) fields.amount = data.get("amount");
    return attempt(
      "POST",
      "/webhook/vouchers/" + encodeURIComponent(data.get("code").trim()) + "/redeem",
      fields,
      () => say(strings.voucherRedeemed)
    );
  });
  $("voucher-check").addEventListener("click", async () => {
    const code = $("voucher-code").value.trim();
    if (!code) return;
    clearError();
    let result;
    try {
      result = await api("GET", "/webhook/vouchers/" + encodeURIComponent(code));
    } catch (failure) {
      showError(failureText(failure));
      return;
    }
    if (!result.ok) {
      showError(errorText(result.body, result.status));
      return;
    }
    const voucher = result.body.data;
    if (voucher.redeemable) {
      say(format(strings.voucherOk, { promotion: voucher.promotion.title, uses: voucher.uses_left }));
    } else {
      showError(strings.voucherNo + " " + (messages[voucher.reason] || ""));
    }
  });
  handleForm("giftcard-form", (data) =>
    attempt(
      "POST",
      "/webhook/giftcards/" + encodeURIComponent(data.get("code").trim()) + "/transactions",
      { amount: "-" + data.get("amount") },
      (result) => {
        let text = format(strings.giftcardPaid, { balance: result.balance });
        if (result.remaining_to_pay) text += " " + format(strings.remaining, { amount: result.remaining_to_pay });
        say(text);
      }
    )
  );
  handleForm("prepaid-form", (data) =>
    attempt(
      "POST",
      "/webhook/customers/" + customer.code + "/prepaid/transactions",
      Object.assign({ amount: "-" + data.get("amount") }, verification()),
      (result) => say(format(strings.prepaidPaid, { balance: result.balance }))
    )
  );

  // --- Finding the customer: typed code ---------------------------------------------------
  $("find-code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    identify({ code: $("find-code").value.trim() }, true);
  });
  $("customer-next").addEventListener("click", nextCustomer);

  // --- Finding the customer: their QR through the camera ----------------------------------
  let scanStream = null;
  let scanTimer = null;

  function stopScan() {
    if (scanTimer) clearInterval(scanTimer);
    scanTimer = null;
    if (scanStream) scanStream.getTracks().forEach((track) => track.stop());
    scanStream = null;
    show("scan-video", false);
    show("scan-stop", false);
    show("scan-start", true);
  }

  $("scan-start").addEventListener("click", async () => {
    const message = $("scan-message");
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.jsQR) {
      message.textContent = strings.scanUnavailable;
      return;
    }
    try {
      scanStream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (failure) {
      message.textContent = strings.scanUnavailable;
      return;
    }
    const video = $("scan-video");
    video.srcObject = scanStream;
    show("scan-video", true);
    show("scan-stop", true);
    show("scan-start", false);
    message.textContent = strings.scanning;
    await video.play().catch(() => {});
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    scanTimer = setInterval(() => {
      if (!video.videoWidth) return;
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      const code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      if (code && code.data) {
        stopScan();
        message.textContent = "";
        identify({ qr: code.data }, false);
      }
    }, 250);
  });
  $("scan-stop").addEventListener("click", stopScan);

  // --- Finding the customer: a QR card session their phone scans (realtime) ---------------
  let session = null;
  let socket = null;
  let pollTimer = null;

  function stopSession() {
    session = null;
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
    if (socket) {
      socket.onclose = null;
      socket.close();
    }
    socket = null;
    show("session-qr", false);
    $("session-message").textContent = "";
  }

  function sessionEvent(name, data) {
    if (!session || data.session_id !== session.session_id) return;
    if (name === "card_identified" || data.status === "authenticated") {
      const code = data.card_data.customer_code;
      stopSession();
      useCustomer(code, false);
    } else if (name === "session_expired" || data.status === "expired") {
      stopSession();
      $("session-message").textContent = strings.sessionExpired;
    }
  }

  function listen(channel) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(
      scheme + "://" + location.host + "/app/" + config.realtimeKey + "?protocol=7&client=lp-till&version=1"
    );
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.event === "pusher:connection_established") {
        // qr-card.<session_id> is a public channel: its id is the secret.
        socket.send(JSON.stringify({ event: "pusher:subscribe", data: { channel: channel } }));
      } else if (frame.event === "pusher_internal:subscription_succeeded") {
        $("till").dataset.realtime = "subscribed";
      } else if (frame.event === "card_identified" || frame.event === "session_expired") {
        sessionEvent(frame.event, JSON.parse(frame.data));
      }
    };
  }

  async function pollSession() {
    if (!session) return;
    try {
      const result = await api("GET", "/webhook/qr-card-sessions/" + encodeURIComponent(session.session_id));
      if (result.ok) sessionEvent("poll", result.body.data);
    } catch (failure) {
      // The socket may still deliver; the next poll tries again.
    }
  }

  $("session-start").addEventListener("click", async () => {
    stopSession();
    clearError();
    let result;
    try {
      result = await api("POST", "/webhook/qr-card-sessions", { device_name: strings.deviceName });
    } catch (failure) {
      showError(failureText(failure));
      return;
    }
    if (!result.ok) {
      showError(errorText(result.body, result.status));
      return;
    }
    session = result.body.data;
    const image = $("session-qr");
    image.src = "/qr.svg?size=256&data=" + encodeURIComponent(session.qr_code);
    image.dataset.link = session.qr_code;
    show("session-qr", true);
    $("session-message").textContent = strings.sessionWaiting;
    listen(session.channel);
    pollTimer = setInterval(pollSession, 5000);
  });

  // --- Opening the till -----------------------------------------------------------------
  async function openTill() {
    clearError();
    say(strings.opening);
    try {
      await obtainKey();
    } catch (failure) {
      const body = failure && failure.body;
      if (body) {
        showError(body.message || errorText(body, failure.status));
      } else {
        showError(strings.network, openTill);
      }
      return;
    }
    $("till").dataset.state = "open";
    show("till-open", false);
    show("till-find", true);
    say(strings.ready);
    $("find-code").focus();
  }

  $("till-retry").addEventListener("click", () => {
    const retry = retryLast;
    clearError();
    if (retry) retry();
  });

  const shopForm = $("till-shop-form");
  if (shopForm) {
    shopForm.addEventListener("submit", (event) => {
      event.preventDefault();
      openTill();
    });
    if (shopForm.querySelector("[data-only-shop]")) openTill();
  }
})();
