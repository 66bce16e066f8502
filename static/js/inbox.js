// The console's live inbox and thread pages: one event stream per page (htmx's SSE extension) whose doorbells
// make the list or the thread fetch its fragment again; while there is no stream (no EventSource, or it dropped)
// a poll every few seconds fetches the same fragment, so the two paths can never disagree.
(function () {
  "use strict";

  var POLL_MS = 5000;
  var streamOpen = false;
  var page = document.querySelector("[data-stream]");
  if (!page) return;

  if ("EventSource" in window) {
    page.setAttribute("sse-connect", page.getAttribute("data-stream"));
  }

  function poll() {
    htmx.trigger(document.body, "inbox:poll");
  }

  document.body.addEventListener("htmx:sseOpen", function () {
    streamOpen = true;
    poll(); // whatever happened before the stream was (re)opened is fetched once
  });
  document.body.addEventListener("htmx:sseError", function () { streamOpen = false; });
  document.body.addEventListener("htmx:sseClose", function () { streamOpen = false; });
  window.setInterval(function () {
    if (!streamOpen && !document.hidden) poll();
  }, POLL_MS);
})();
