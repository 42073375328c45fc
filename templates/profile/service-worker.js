{% load static %}// The profile's service worker (docs/decisions/0057-installable-profile.md). Network first,
// always: what it keeps is only shown when the network fails.
//
// - The app shell (stylesheet, scripts, icons, the offline page) in one cache.
// - The signed-in customer's last dashboard, their QR images and the /me/api answers the
//   dashboard reads, in a cache named after the customer (the key the server sends in
//   {{ key_header }}), one customer at a time. Signing out, or any answer saying nobody is
//   signed in, deletes it, so nobody sees the previous customer's card on a shared phone.
"use strict";

const VERSION = "1";
const SHELL = "lp-shell-" + VERSION;
const CUSTOMER_PREFIX = "lp-customer-" + VERSION + "-";
const SCOPE = "{{ scope }}";
const DASHBOARD = SCOPE;
const OFFLINE_PAGE = SCOPE + "offline";
const LOGOUT = SCOPE + "logout";
const KEY_HEADER = "{{ key_header }}";
const SHELL_FILES = [
  "{% static 'css/profile.css' %}",
  "{% static 'js/profile.js' %}",
  "{% static 'js/webapp.js' %}",
  "{% static 'img/favicon.svg' %}",
  OFFLINE_PAGE,
];
const SHELL_PREFIXES = ["{% static '' %}", SCOPE + "icons/", SCOPE + "manifest.webmanifest"];
// What the dashboard reads; /me/api/pins is never kept (a PIN is good for minutes).
const CUSTOMER_DATA = new Set([SCOPE + "api/qr", SCOPE + "api/cards", SCOPE + "api/profile"]);
const QR_ANSWER = SCOPE + "api/qr";
const QR_IMAGE = "/qr.svg";
// The dashboard marks itself; the copy kept for offline use is marked as such.
const LIVE_MARK = 'id="offline-notice" data-copy="network"';
const COPY_MARK = 'id="offline-notice" data-copy="offline"';

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(SHELL_FILES))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name !== SHELL && !name.startsWith(CUSTOMER_PREFIX))
            .map((name) => caches.delete(name))
        )
      )
      .then(() => self.clients.claim())
      // The page that registered this worker was loaded before it: keep a copy now.
      .then(() => customerData(new Request(DASHBOARD, { redirect: "manual" }), true))
      .catch(() => undefined)
  );
});

async function customerCacheName() {
  const names = await caches.keys();
  return names.find((name) => name.startsWith(CUSTOMER_PREFIX)) || null;
}

async function forgetCustomers() {
  const names = await caches.keys();
  await Promise.all(names.filter((name) => name.startsWith(CUSTOMER_PREFIX)).map((name) => caches.delete(name)));
}

// The cache of the customer a response belongs to; any other customer's is deleted first.
async function openCustomerCache(key) {
  const wanted = CUSTOMER_PREFIX + key;
  const names = await caches.keys();
  await Promise.all(
    names.filter((name) => name.startsWith(CUSTOMER_PREFIX) && name !== wanted).map((name) => caches.delete(name))
  );
  return caches.open(wanted);
}

function unescapeAttribute(text) {
  return text.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#x27;|&#39;/g, "'");
}

// The QR images a dashboard shows (the customer's and their coupons').
function qrImagesOf(page) {
  return Array.from(page.matchAll(/src="(\/qr\.svg\?[^"]+)"/g), (match) =>
    new URL(unescapeAttribute(match[1]), self.location.origin).href
  );
}

// The image profile.js shows for a /me/api/qr answer (the URL it builds, refreshQr).
function qrImageOfAnswer(body) {
  return new URL(QR_IMAGE + "?size=256&data=" + encodeURIComponent(body.data.payload), self.location.origin).href;
}

async function keepQrImages(cache, urls) {
  await Promise.all(
    urls.map(async (url) => {
      if (await cache.match(url)) return;
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) await cache.put(url, response);
    })
  );
}

// Keeps exactly the QR images of the kept dashboard and of the kept /me/api/qr answer.
async function pruneQrImages(cache) {
  const wanted = new Set();
  const page = await cache.match(DASHBOARD);
  if (page) qrImagesOf(await page.text()).forEach((url) => wanted.add(url));
  const answer = await cache.match(QR_ANSWER);
  if (answer) wanted.add(qrImageOfAnswer(await answer.json()));
  const kept = (await cache.keys()).filter((request) => new URL(request.url).pathname === QR_IMAGE);
  await Promise.all(kept.filter((request) => !wanted.has(request.url)).map((request) => cache.delete(request)));
}

async function keepDashboard(cache, response) {
  const page = await response.text();
  const headers = new Headers(response.headers);
  headers.delete("Content-Length");
  await keepQrImages(cache, qrImagesOf(page)).catch(() => undefined);
  await cache.put(
    new Request(DASHBOARD),
    new Response(page.replace(LIVE_MARK, COPY_MARK), { status: response.status, statusText: response.statusText, headers })
  );
  await pruneQrImages(cache);
}

async function keepAnswer(cache, request, response) {
  await cache.put(request, response.clone());
  if (new URL(request.url).pathname === QR_ANSWER) {
    await keepQrImages(cache, [qrImageOfAnswer(await response.json())]).catch(() => undefined);
    await pruneQrImages(cache);
  }
}

async function keptCopy(request, isDashboard) {
  const name = await customerCacheName();
  if (!name) return null;
  return (await (await caches.open(name)).match(isDashboard ? DASHBOARD : request, { ignoreVary: true })) || null;
}

// Network first; the customer's kept copy only when the network fails (or the server is out
// of reach behind its proxy: 502, 503, 504).
async function customerData(request, isDashboard) {
  const path = new URL(request.url).pathname;
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    const kept = await keptCopy(request, isDashboard);
    if (kept) return kept;
    if (isDashboard) return (await caches.match(OFFLINE_PAGE, { ignoreVary: true })) || Response.error();
    return Response.error();
  }
  if (response.status >= 502 && response.status <= 504) {
    return (await keptCopy(request, isDashboard)) || response;
  }
  if (response.type === "opaqueredirect" || response.status === 401) {
    // Nobody is signed in (any more): nothing of anybody's stays on the phone.
    await forgetCustomers();
  } else if (response.ok && path !== QR_IMAGE) {
    // QR images are kept with the dashboard and the /me/api/qr answer that show them.
    const key = response.headers.get(KEY_HEADER) || "";
    if (/^[0-9a-f]{16,64}$/.test(key)) {
      const cache = await openCustomerCache(key);
      if (isDashboard) await keepDashboard(cache, response.clone());
      else await keepAnswer(cache, request, response.clone());
    }
  }
  return response;
}

async function shellFile(request) {
  try {
    const response = await fetch(request);
    if (response.ok) {
      const copy = response.clone();
      caches.open(SHELL).then((cache) => cache.put(request, copy));
    }
    return response;
  } catch (error) {
    return (await caches.match(request, { ignoreVary: true })) || Response.error();
  }
}

async function page(request) {
  try {
    return await fetch(request);
  } catch (error) {
    return (await caches.match(OFFLINE_PAGE, { ignoreVary: true })) || Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === LOGOUT) {
    // Forgotten before the server is even asked, so offline too.
    event.respondWith(forgetCustomers().then(() => fetch(request)));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate" && url.pathname === DASHBOARD) {
    event.respondWith(customerData(request, true));
  } else if (request.mode === "navigate" && url.pathname.startsWith(SCOPE)) {
    event.respondWith(page(request));
  } else if (url.pathname === QR_IMAGE || CUSTOMER_DATA.has(url.pathname)) {
    event.respondWith(customerData(request, false));
  } else if (SHELL_PREFIXES.some((prefix) => url.pathname.startsWith(prefix))) {
    event.respondWith(shellFile(request));
  }
});
