// Console behaviour that htmx does not cover: copying links, and telling the person when a request failed
// (htmx leaves the page as it was, so nothing typed is lost; this says so in the live region).
(function () {
  "use strict";

  function announce(text) {
    var status = document.getElementById("console-status");
    if (!status) return;
    status.textContent = "";
    // A fresh text node after clearing makes screen readers announce the same message twice in a row.
    window.setTimeout(function () { status.textContent = text; }, 30);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    var text = field.value || field.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { announce("Link copied."); },
        function () { field.select(); announce("Press Ctrl+C to copy the selected link."); });
    } else {
      field.select();
      announce("Press Ctrl+C to copy the selected link.");
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var message = "That did not work (" + xhr.status + "). Nothing you typed was lost; reload the page and try again.";
    if (xhr.status === 403) message = "Not allowed: your role cannot do this, or the page expired. Reload and try again.";
    if (xhr.status === 409) message = "This invoice changed meanwhile. Reload the page to see it as it is now.";
    announce(message);
  });

  // Out-of-band message elements say which field they belong to; mark that field invalid (or not) for
  // assistive tech whenever an autosave filled or emptied its message.
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-error-for]").forEach(function (message) {
      var field = document.getElementById(message.getAttribute("data-error-for"));
      if (!field) return;
      if (message.textContent.trim()) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    });
  });

  document.addEventListener("htmx:sendError", function () {
    announce("The server could not be reached. Nothing you typed was lost; try again in a moment.");
  });

  // Customer-facing texts: the preview follows what is typed (a short pause after the last key), so the preview
  // button is only needed without JavaScript.
  var wordingForm = document.querySelector("[data-wording-form]");
  var wordingPreview = document.querySelector("[data-wording-preview]");
  if (wordingForm && wordingPreview) {
    var previewButton = wordingForm.querySelector("[data-preview-button]");
    if (previewButton) previewButton.hidden = true;
    var pending = 0;
    wordingForm.addEventListener("input", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        var url = new URL(wordingPreview.src, window.location.href);
        wordingForm.querySelectorAll("textarea").forEach(function (field) { url.searchParams.set(field.name, field.value); });
        wordingPreview.src = url.pathname + url.search;
      }, 400);
    });
  }
})();
