/* The host app's side of the embedded billing history (vendored by the portal, no third-party code).

   InvoicePortal.mount(element, {portal, workspace, email | customer, expires, hash, locale, onEvent, debug})
   puts the portal's frame in `element`. The frame asks for the customer's signed identity when it is ready (and
   again after it comes back from an invoice); it is handed over by postMessage to the portal's origin only, never
   in a URL. Events from the frame (loaded, invoice_opened, pdf_downloaded, payment_started, payment_succeeded,
   comment_posted, resize, not_authorised) are accepted from that frame and origin only and passed to onEvent
   (Billflow's handleResponse also works); the frame's height follows its content. */
(function () {
  "use strict";

  function mount(target, options) {
    var portal = String(options.portal || "").replace(/\/+$/, "");
    var origin = new URL(portal).origin;
    var query = options.locale ? "?locale=" + encodeURIComponent(options.locale) : "";
    var frame = document.createElement("iframe");
    frame.src = portal + "/embed/" + encodeURIComponent(options.workspace) + query;
    frame.title = options.title || "Billing history";
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.minHeight = "320px";
    target.appendChild(frame);
    var identity = {
      email: options.email || "", customer: options.customer || "", expires: String(options.expires || ""),
      hash: options.hash || ""
    };
    var callback = options.onEvent || options.handleResponse;

    window.addEventListener("message", function (event) {
      var data = event.data;
      if (event.origin !== origin || event.source !== frame.contentWindow || !data || data.source !== "invoice-portal") {
        return;
      }
      if (options.debug && window.console) {
        window.console.log("[invoice-portal]", data.type, data);
      }
      if (data.type === "ready") {
        frame.contentWindow.postMessage({ source: "invoice-portal-host", type: "auth", identity: identity }, origin);
        return;
      }
      if (data.type === "resize" && data.height > 0) {
        frame.style.height = Math.ceil(data.height) + "px";
      }
      if (typeof callback === "function") {
        callback(data);
      }
    });
    return frame;
  }

  window.InvoicePortal = { mount: mount };
})();
