/* Inside the frame a host app shows (web/views/embed.py): speaks only with the workspace's allowed origins.

   On the list page (#embed-main present) it asks the host for the customer's signed identity, trades it for a
   session token kept in this page's memory (no cookie: third-party cookies are blocked in most browsers), sends
   the token with every htmx request, and shows "not authorised" when the portal says no. On an invoice's page
   opened from the list it reports the page, payments and comments. Both report their height. */
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || main.dataset.embedOrigins === undefined) {
    return;
  }
  var origins = main.dataset.embedOrigins.split(" ").filter(Boolean);
  var token = null;
  var lastHeight = 0;

  function post(type, detail) {
    var message = Object.assign({ source: "invoice-portal", type: type }, detail || {});
    origins.forEach(function (origin) { window.parent.postMessage(message, origin); });
  }

  function resize() {
    var height = document.documentElement.scrollHeight;
    if (height !== lastHeight) {
      lastHeight = height;
      post("resize", { height: height });
    }
  }

  function refused() {
    document.getElementById("embed-state").hidden = true;
    document.getElementById("embed-refused").hidden = false;
    post("not_authorised");
  }

  function loadList() {
    htmx.ajax("GET", main.dataset.historyUrl, { target: "#embed-main", headers: { "X-Embed-Token": token } })
      .then(function () {
        document.getElementById("embed-state").hidden = true;
        post("loaded", { page: "history" });
      });
  }

  if (document.getElementById("embed-main")) {
    window.addEventListener("message", function (event) {
      var data = event.data;
      if (origins.indexOf(event.origin) < 0 || !data || data.source !== "invoice-portal-host" || data.type !== "auth") {
        return;
      }
      fetch(main.dataset.sessionUrl, {
        method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(data.identity || {})
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          if (answer && answer.token) {
            token = answer.token;
            loadList();
          } else {
            refused();
          }
        })
        .catch(refused);
    });
    document.body.addEventListener("htmx:configRequest", function (event) {
      event.detail.headers["X-Portal-Locale"] = main.dataset.embedLocale || "";
      if (token) {
        event.detail.headers["X-Embed-Token"] = token;
      }
    });
    document.body.addEventListener("htmx:responseError", function (event) {
      if (event.detail.xhr && event.detail.xhr.status === 401) {
        refused();
      }
    });
    document.body.addEventListener("click", function (event) {
      var link = event.target.closest("[data-embed-event]");
      if (link) {
        post(link.dataset.embedEvent, { invoice: link.dataset.embedInvoice || "" });
      }
    });
    post("ready");
  } else {
    // The writer token the list put in the fragment (the host vouched for the address: no code step). Kept in
    // memory only, sent in a header, and taken out of the address so it is in no history entry.
    var writer = (/[#&]writer=([\w-]+)/.exec(window.location.hash) || [])[1] || null;
    if (writer) {
      window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
    }
    document.body.addEventListener("htmx:configRequest", function (event) {
      event.detail.headers["X-Portal-Locale"] = main.dataset.embedLocale || "";
      if (writer) {
        event.detail.headers["X-Comment-Session"] = writer;
      }
    });
    if (writer && main.dataset.commentFormUrl && document.getElementById("comment-form")) {
      htmx.ajax("GET", main.dataset.commentFormUrl, { target: "#comment-form", swap: "outerHTML" });
    }
    document.body.addEventListener("submit", function (event) {
      // The language picker reloads the page (a GET form): the fragment of its action survives, and so the writer.
      if (writer && event.target.matches("form.language-picker")) {
        event.target.action = event.target.action.split("#")[0] + "#writer=" + writer;
      }
    });
    post("loaded", { page: "invoice", invoice: main.dataset.embedInvoice || "" });
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      var form = event.detail.elt;
      if (form && form.matches && form.matches("form.payment-form")) {
        post("payment_started", { invoice: main.dataset.embedInvoice || "" });
      }
    });
    document.body.addEventListener("htmx:afterRequest", function (event) {
      var xhr = event.detail.xhr;
      if (!xhr || !event.detail.successful) {
        return;
      }
      if (xhr.getResponseHeader("X-Payment-Step") === "done") {
        post("payment_succeeded", { invoice: main.dataset.embedInvoice || "" });
      }
      var path = event.detail.requestConfig && event.detail.requestConfig.path;
      if (event.detail.requestConfig && event.detail.requestConfig.verb === "post" && /\/comments$/.test(path || "")) {
        post("comment_posted", { invoice: main.dataset.embedInvoice || "" });
      }
    });
  }
  if (window.ResizeObserver) {
    new ResizeObserver(resize).observe(document.body);
  }
  resize();
})();
