// The comment side of the invoice page (the stream and its polling fallback are stream.js): no duplicate
// comments, local times, and the name, address and draft remembered on this device until "Forget me".
(function () {
  "use strict";

  var STORE = "invoice-portal.comment.";

  // The tail and a post's answer may both bring the same comment: whichever lands second drops it.
  document.body.addEventListener("htmx:oobBeforeSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "comment-list") return;
    event.detail.fragment.querySelectorAll("li[id]").forEach(function (item) {
      if (document.getElementById(item.id)) item.remove();
    });
  });

  function storage() {
    try { return window.localStorage; } catch (error) { return null; }
  }

  function remember(key, value) {
    var store = storage();
    if (!store) return;
    try {
      if (value) store.setItem(STORE + key, value); else store.removeItem(STORE + key);
    } catch (error) { /* full or disabled storage: remembering is a convenience */ }
  }

  function recall(key) {
    var store = storage();
    return store ? store.getItem(STORE + key) : null;
  }

  function forgetAll() {
    var store = storage();
    if (!store) return;
    Object.keys(store).forEach(function (key) {
      if (key.indexOf(STORE) === 0) store.removeItem(key);
    });
  }

  function draftKey(form) {
    return "draft." + form.getAttribute("data-draft-key");
  }

  function localTimes(root) {
    var section = document.getElementById("comments");
    var locale = section ? section.getAttribute("data-locale") : undefined;
    var format;
    try {
      format = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
    } catch (error) { return; }
    root.querySelectorAll("time[data-local-time]").forEach(function (time) {
      var when = new Date(time.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      time.title = time.textContent;
      time.textContent = format.format(when);
      time.removeAttribute("data-local-time");
    });
  }

  function restore(root) {
    var forms = root.matches && root.matches("[data-comment-form]") ? [root] : root.querySelectorAll("[data-comment-form]");
    forms.forEach(function (form) {
      if (form.hasAttribute("data-posted")) remember(draftKey(form), "");
      form.querySelectorAll("[data-remember]").forEach(function (input) {
        var saved = recall(input.getAttribute("data-remember"));
        if (!input.value && saved) input.value = saved;
      });
      var draft = form.querySelector("[data-draft]");
      var savedDraft = recall(draftKey(form));
      if (draft && !draft.value && savedDraft) draft.value = savedDraft;
    });
  }

  htmx.onLoad(function (root) {
    restore(root);
    localTimes(root);
  });

  document.addEventListener("input", function (event) {
    var field = event.target;
    var form = field.closest && field.closest("[data-comment-form]");
    if (!form) return;
    if (field.hasAttribute("data-remember")) remember(field.getAttribute("data-remember"), field.value);
    if (field.hasAttribute("data-draft")) remember(draftKey(form), field.value);
  });

  document.addEventListener("submit", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-forget-form")) forgetAll();
  }, true);
  // htmx submits forms itself; its request event fires for those too.
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-forget-form")) forgetAll();
  });
})();
