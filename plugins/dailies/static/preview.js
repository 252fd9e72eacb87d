// Live preview of a feed subscription's template: the newest item of the source, rendered by the server.
(function () {
  "use strict";
  function show(box, data) {
    var title = document.getElementById("preview-title");
    var text = document.getElementById("preview-text");
    var error = document.getElementById("preview-error");
    box.hidden = false;
    if (data.error) {
      error.hidden = false;
      error.textContent = data.error + (data.detail ? ": " + (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)) : "");
      title.textContent = ""; text.textContent = "";
      return;
    }
    error.hidden = true;
    var embed = data.embed || {};
    title.textContent = embed.title || "";
    text.textContent = [data.content || "", embed.description || "", embed.url || ""].filter(Boolean).join("\n");
  }
  var timer = null;
  function preview() {
    var form = document.getElementById("dailies-form");
    var box = document.getElementById("preview");
    if (!form || !box || !form.source.value) { return; }
    window.omoFetch(form.getAttribute("data-preview"), {
      method: "POST",
      body: { source: form.source.value, template: form.template.value, embed: form.embed.checked },
    }).then(function (r) { return r.json(); }).then(function (data) { show(box, data); })
      .catch(function (e) { show(box, { error: "preview failed", detail: String(e) }); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("preview-button");
    if (button) { button.addEventListener("click", preview); }
    var template = document.getElementById("f-template");
    if (template) {
      template.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(preview, 600); });
    }
  });
})();
