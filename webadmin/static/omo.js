// omo-bot dashboard helpers. No inline scripts (CSP: script-src 'self').
// window.omoFetch(url, options): fetch with the page's CSRF token in X-CSRF-Token and JSON by default.
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function omoFetch(url, options) {
    options = options || {};
    var headers = new Headers(options.headers || {});
    headers.set("X-CSRF-Token", csrfToken());
    if (options.body && typeof options.body !== "string" && !(options.body instanceof FormData)) {
      options.body = JSON.stringify(options.body);
      headers.set("Content-Type", "application/json");
    }
    options.headers = headers;
    options.credentials = "same-origin";
    return fetch(url, options);
  }
  window.omoCsrfToken = csrfToken;
  window.omoFetch = omoFetch;
  // Forms with data-confirm ask before submitting (reload, revoke).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  // Copy buttons: <button data-copy="#id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () { button.textContent = "Copied"; });
    }
  });
})();
