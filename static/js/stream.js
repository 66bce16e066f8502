// One event stream per page (htmx's SSE extension), for the customer's invoice page and the console's inbox and
// thread pages alike. The element with data-stream names the stream; its doorbells make fragments fetch
// themselves again. While there is no stream (no EventSource, or it dropped) the page fires the element's
// data-poll-event every data-poll-ms instead, and once on every (re)connect, so the fragments fetch the same
// URLs either way and the two paths can never disagree.
(function () {
  "use strict";

  var page = document.querySelector("[data-stream]");
  if (!page) return;
  var pollEvent = page.getAttribute("data-poll-event");
  var pollMs = parseInt(page.getAttribute("data-poll-ms"), 10) || 3000;
  var streamOpen = false;

  // Without EventSource (old browsers, proxies that break streams) the page simply polls.
  if ("EventSource" in window) {
    page.setAttribute("sse-connect", page.getAttribute("data-stream"));
  }

  function poll() {
    htmx.trigger(document.body, pollEvent);
  }

  document.body.addEventListener("htmx:sseOpen", function () {
    streamOpen = true;
    poll(); // whatever happened before the stream was (re)opened is fetched once
  });
  document.body.addEventListener("htmx:sseError", function () { streamOpen = false; });
  document.body.addEventListener("htmx:sseClose", function () { streamOpen = false; });
  window.setInterval(function () {
    if (!streamOpen && !document.hidden) poll();
  }, pollMs);
})();
