// Good Offices: live updates for server-rendered pages.
// Everything works without this script; it only keeps <main> current.
// When the page's <body> has data-live="/events", it listens to the
// server's event stream and, on "sync", fetches the page again and swaps
// <main>, keeping focus and any form the delegate is filling in.
(function () {
  "use strict";
  var body = document.body;
  var src = body && body.getAttribute("data-live");
  if (!src || !window.EventSource) { return; }
  var status = document.getElementById("live-status");
  // The words come from the page, in the delegate's language.
  function say(key, fallback) { return (status && status.getAttribute("data-" + key)) || fallback; }
  var lang = document.documentElement.lang || undefined;
  var busy = false, again = false;

  function editing() {
    var a = document.activeElement;
    if (!a) { return false; }
    var tag = a.tagName;
    if ((tag === "TEXTAREA" || tag === "INPUT" || tag === "SELECT") && a.value !== "" && a.type !== "submit") {
      return true;
    }
    return false;
  }

  function refresh() {
    if (busy) { again = true; return; }
    if (editing()) { again = true; setTimeout(refresh, 3000); return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live": "1" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main");
        var cur = document.getElementById("main");
        if (fresh && cur) {
          var focusId = document.activeElement && document.activeElement.id;
          cur.innerHTML = fresh.innerHTML;
          if (focusId) { var el = document.getElementById(focusId); if (el) { el.focus(); } }
          var nav = doc.querySelector("header.top nav");
          var curNav = document.querySelector("header.top nav");
          if (nav && curNav) { curNav.innerHTML = nav.innerHTML; }
          var banner = doc.querySelector(".alarm-banner");
          var curBanner = document.querySelector(".alarm-banner");
          if (banner && !curBanner) { document.body.insertBefore(banner, document.getElementById("main")); }
          body.setAttribute("data-updated", String(Date.now()));
        }
        if (status) { status.textContent = say("updated", "Updated") + " " + new Date().toLocaleTimeString(lang); }
      })
      .catch(function () { if (status) { status.textContent = say("failed", "Update failed; reload the page"); } })
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }

  var es = new EventSource(src);
  es.addEventListener("sync", refresh);
  es.addEventListener("open", function () { if (status) { status.textContent = say("connected", "Live"); } });
  es.addEventListener("error", function () { if (status) { status.textContent = say("reconnecting", "Reconnecting…"); } });

  // Confirmation for buttons that carry data-confirm.
  document.addEventListener("submit", function (e) {
    var b = e.submitter;
    var msg = b && b.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  });
})();
