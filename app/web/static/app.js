// botsettings operators' page: progressive enhancement only. Every form works without
// this file; with it, destructive buttons ask first and the page follows /v1/watch.
(function () {
  "use strict";

  // Confirmation dialogs: <button data-confirm="question">.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // A refused value: bring its field into view and put the cursor in it.
  var refused = document.querySelector("main [aria-invalid='true']");
  if (refused) { refused.focus(); }

  var body = document.body;
  var watch = (body.getAttribute("data-watch") || "").trim();
  var revision = parseInt(body.getAttribute("data-revision"), 10);
  if (!watch || isNaN(revision) || !window.EventSource || !window.fetch) {
    return;
  }
  var watched = watch.split(/\s+/);
  var live = document.getElementById("live");
  var liveText = live.querySelector(".live-text");
  var reloadLink = live.querySelector(".live-reload");

  function note(text, offerReload) {
    liveText.textContent = text;
    reloadLink.hidden = !offerReload;
    reloadLink.setAttribute("href", window.location.href);
    live.hidden = false;
  }

  function relevant(change) {
    if (watched.indexOf("*") >= 0) { return true; }
    return change.scopes.some(function (scope) { return watched.indexOf(scope) >= 0; });
  }

  // What the form fields held when the page (or its last refresh) was drawn. Compared
  // with this rather than with defaultValue/defaultSelected: a select whose stored value
  // matches none of its options (an unset enum) shows its first option without any
  // being "default", which would otherwise look like an edit.
  function fieldState() {
    var fields = document.querySelectorAll("main input, main textarea, main select");
    var state = [];
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].type !== "hidden") { state.push(fields[i].value); }
    }
    return state.join("\u0000");
  }
  var drawn = fieldState();

  function editing() {
    // A field someone is typing in must not be replaced under them.
    return fieldState() !== drawn;
  }

  function refresh(what) {
    if (editing()) {
      note(what + " You have unsaved edits, so the page was not updated.", true);
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var main = document.getElementById("main");
        var focused = document.activeElement && document.activeElement.id;
        main.replaceChildren.apply(main, Array.prototype.slice.call(fresh.getElementById("main").childNodes));
        body.setAttribute("data-revision", fresh.body.getAttribute("data-revision"));
        drawn = fieldState();
        if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
        note(what + " The page shows the new values.", false);
      })
      .catch(function () { note(what + " Reload to see it.", true); });
  }

  var source = new EventSource("/v1/watch?since=" + revision);
  source.addEventListener("change", function (event) {
    var change = JSON.parse(event.data);
    var shown = parseInt(body.getAttribute("data-revision"), 10);
    if (change.revision <= shown || !relevant(change)) { return; }
    var keys = change.keys.slice(0, 5).join(", ") + (change.keys.length > 5 ? "…" : "");
    refresh("Changed elsewhere at revision " + change.revision + ": " + keys + " in " +
            change.scopes.join(", ") + ".");
  });
  // Leaving the page ends its stream at once (the server would otherwise hold it until
  // its next heartbeat); a page restored from the back/forward cache is reloaded instead.
  window.addEventListener("pagehide", function () { source.close(); });
  window.addEventListener("pageshow", function (event) { if (event.persisted) { window.location.reload(); } });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      note("Live updates stopped. Reload to see the latest values.", true);
    }
  });
})();
