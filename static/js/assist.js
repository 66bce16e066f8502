// After htmx swaps part of a page: where keyboard focus goes, and what a screen reader is told. Every page loads it.
//
// Focus: when a swap removes the focused element, htmx itself gives focus back to an element with the same id or
// to an [autofocus] field of the new content. Otherwise it goes, within the swapped region, to the first invalid
// field, else the first error message, else the region's heading, else the region; never to the page's start.
//
// Announcements go once into the page's polite live region (#announcer), which is always present, so a screen
// reader reads each change once, however many parts of the page it touched: the text of data-announce when such an
// element arrives (a new comment, a posted comment), and the new text of data-announce-change when an element of
// that id comes back with a different one (the invoice's balance and status: a refresh that changed neither says
// nothing). While a form marked data-hold-announcements waits for its answer, announcements wait too: the page's
// event stream may bring the reader's own comment before the answer does, and the answer names it (data-own) so
// the reader hears "posted", not "new comment from" themselves.
(function () {
  "use strict";

  var regionsLosingFocus = [];
  var focusedAtRequest = {}; // region ids that held focus when a request for them started

  function nowhere() {
    return !document.activeElement || document.activeElement === document.body;
  }

  function holdsFocus(region) {
    return region && !nowhere() && region.contains(document.activeElement);
  }

  // A button disabled while its request runs (hx-disabled-elt) drops focus to the page before the answer comes.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target && target.id && holdsFocus(target)) focusedAtRequest[target.id] = true;
  });
  // htmx fires beforeSwap for answers it then does not swap (204, errors): with no settle delay a real swap settles
  // in the same task, so what was noted is forgotten at the next one and never moves focus later.
  function losing(id) {
    regionsLosingFocus.push(id);
    window.setTimeout(function () { regionsLosingFocus = []; });
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    var dropped = focusedAtRequest[target.id] && nowhere();
    delete focusedAtRequest[target.id];
    if (dropped || holdsFocus(target)) losing(target.id);
  });
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    if (holdsFocus(event.detail.target)) losing(event.detail.target.id);
  });
  ["htmx:sendError", "htmx:sendAbort", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (event.detail.target) delete focusedAtRequest[event.detail.target.id];
    });
  });

  function firstWithText(nodes) {
    for (var i = 0; i < nodes.length; i++) if (nodes[i].textContent.trim()) return nodes[i];
    return null;
  }

  function focusWithin(region) {
    var target = region.querySelector("[aria-invalid='true']")
      || firstWithText(region.querySelectorAll("[role='alert']"))
      || region.querySelector("h1, h2, h3")
      || region;
    if (!target.matches("a[href], button, input, select, textarea, [tabindex]")) target.setAttribute("tabindex", "-1");
    target.focus();
  }

  document.addEventListener("htmx:afterSettle", function () {
    var ids = regionsLosingFocus;
    regionsLosingFocus = [];
    if (!ids.length || !nowhere()) return; // nothing lost, or htmx already restored it
    for (var i = 0; i < ids.length; i++) {
      var region = ids[i] && document.getElementById(ids[i]);
      if (region) { focusWithin(region); return; }
    }
  });

  var queue = []; // {text, from: the id of the element that brought it}
  var own = {}; // ids of elements an answer said are the reader's own doing
  var holds = {}; // region id -> the request's timeout, while a held request for that region runs
  var timer = null;

  function announce(text, from) {
    if (!text) return;
    queue.push({ text: text, from: from });
    schedule();
  }

  function schedule() {
    // One message for everything one answer changed: a swap and its out-of-band parts load one after another.
    window.clearTimeout(timer);
    if (!Object.keys(holds).length) timer = window.setTimeout(flush, 150);
  }

  function flush() {
    var region = document.getElementById("announcer");
    var texts = queue.filter(function (item) { return !own[item.from]; }).map(function (item) { return item.text; });
    queue = [];
    if (!region || !texts.length) return;
    // Emptied first, then filled in a later task: the same words twice in a row are read twice.
    region.textContent = "";
    window.setTimeout(function () { region.textContent = texts.join(" "); }, 30);
  }

  // The hold ends when the answer's region loads (the form itself is replaced, so its own events never reach the
  // document), when the request ends without replacing it (204, error, abort: then its events do), or after 10 s.
  function release(id) {
    if (!(id in holds)) return;
    window.clearTimeout(holds[id]);
    delete holds[id];
    schedule();
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt, target = event.detail.target;
    if (!target || !target.id || !(elt.closest && elt.closest("[data-hold-announcements]"))) return;
    var id = target.id;
    window.clearTimeout(holds[id]);
    holds[id] = window.setTimeout(function () { release(id); }, 10000);
  });
  ["htmx:afterRequest", "htmx:responseError", "htmx:sendError", "htmx:sendAbort", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, function (event) { if (event.detail.target) release(event.detail.target.id); });
  });

  function within(root, selector) {
    var nodes = root.matches && root.matches(selector) ? [root] : [];
    return root.querySelectorAll ? nodes.concat(Array.prototype.slice.call(root.querySelectorAll(selector))) : nodes;
  }

  var lastState = {}; // element id -> its data-announce-change as last seen (the page load's says nothing)

  htmx.onLoad(function (root) {
    within(root, "[data-own]").forEach(function (node) {
      node.getAttribute("data-own").split(/\s+/).filter(Boolean).forEach(function (id) { own[id] = true; });
    });
    Object.keys(holds).forEach(function (id) { if (root.id === id) window.setTimeout(function () { release(id); }); });
    within(root, "[data-announce]").forEach(function (node) {
      announce(node.getAttribute("data-announce"), node.id);
      node.removeAttribute("data-announce"); // a region settled again is not news again
    });
    within(root, "[data-announce-change][id]").forEach(function (node) {
      var state = node.getAttribute("data-announce-change");
      if (node.id in lastState && lastState[node.id] !== state) announce(state, node.id);
      lastState[node.id] = state;
    });
  });
})();
