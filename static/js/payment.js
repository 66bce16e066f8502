// The card step of the payment card (templates/portal/_payment_step.html), and the guards that keep the
// summary poll from replacing a payment card the customer is using. No inline script: the CSP forbids it.
(function () {
  "use strict";

  // What this script says, in the reader's language: rendered by the server onto <main data-text-…>.
  function text(name) {
    var holder = document.querySelector("[data-text-" + name + "]");
    return holder ? holder.getAttribute("data-text-" + name) : "";
  }

  var stripeLoads = {};

  function loadStripe(url) {
    // Stripe.js is loaded only when a card step appears, from the configured URL (STRIPE_JS_URL).
    if (!stripeLoads[url]) {
      stripeLoads[url] = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = url;
        script.onload = function () { resolve(window.Stripe); };
        script.onerror = function () { delete stripeLoads[url]; reject(new Error("Stripe.js did not load")); };
        document.head.appendChild(script);
      });
    }
    return stripeLoads[url];
  }

  function newAttemptKey() {
    var bytes = new Uint8Array(18);
    window.crypto.getRandomValues(bytes);
    return btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fillAttemptKeys() {
    document.querySelectorAll("input[data-attempt-key]").forEach(function (input) {
      if (!input.value) input.value = newAttemptKey();
    });
  }

  function say(card, text) {
    var message = card.querySelector("#payment-message");
    if (message) message.textContent = text;
  }

  function busy(card, on) {
    var status = card.querySelector(".payment-status");
    var button = card.querySelector("[data-pay-button]");
    if (status) status.textContent = on ? status.getAttribute("data-processing-text") : "";
    if (button) button.disabled = on;
    card.setAttribute("aria-busy", on ? "true" : "false");
  }

  function post(card, url, values) {
    // The card section is the source: without one htmx would treat <body> as the element making the request.
    return htmx.ajax("POST", url, { source: card, target: "#payment", swap: "outerHTML", values: values || {} });
  }

  function startStep(card) {
    if (card.getAttribute("data-started")) return;
    card.setAttribute("data-started", "1");
    loadStripe(card.getAttribute("data-stripe-js")).then(function (Stripe) {
      // Stripe.js words its own messages (a card number it rejects) in the page's language.
      var stripe = Stripe(card.getAttribute("data-stripe-key"), { locale: card.getAttribute("data-stripe-locale") || "auto" });
      var secret = card.getAttribute("data-client-secret");
      if (secret) {
        // 3-D Secure: Stripe.js shows the bank's check; then our return URL asks Stripe where it stands.
        busy(card, true);
        return stripe.handleNextAction({ clientSecret: secret }).then(function () { return post(card, card.getAttribute("data-return-url")); });
      }
      var element = stripe.elements().create("card", { hidePostalCode: true });
      element.mount(card.querySelector("#card-element"));
      var button = card.querySelector("[data-pay-button]");
      button.disabled = false;
      card.querySelector("form").addEventListener("submit", function (event) {
        event.preventDefault();
        if (button.disabled) return; // one confirmation at a time
        say(card, "");
        busy(card, true);
        stripe.createToken(element).then(function (result) {
          if (result.error) {
            busy(card, false);
            say(card, result.error.message || text("check-card"));
            return;
          }
          return post(card, card.getAttribute("data-confirm-url"), { card_token: result.token.id });
        }).catch(function () {
          busy(card, false);
          say(card, text("service-down"));
        });
      });
    }).catch(function () {
      say(card, text("form-failed"));
    });
  }

  function activate() {
    fillAttemptKeys();
    var card = document.getElementById("payment");
    if (card && (card.getAttribute("data-step") === "card" || card.getAttribute("data-step") === "action")) {
      startStep(card);
    }
    // A result (paid, or not taken) moves focus to its heading, described by its paragraph; a card step that comes
    // back with a message (declined) to the message. The Pay button was disabled while it ran, so focus is on the
    // page by then and a screen reader would hear nothing.
    if (!card || card.getAttribute("data-announced")) return;
    card.setAttribute("data-announced", "1");
    var target = null;
    var message = card.querySelector("#payment-message");
    var focusLost = !document.activeElement || document.activeElement === document.body;
    if (card.querySelector("#payment-result-detail")) target = card.querySelector("h2");
    else if (message && message.textContent.trim() && focusLost) target = message;
    if (target) {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    // Arriving on the page is not an announcement: only results that appear while it is open are.
    var card = document.getElementById("payment");
    if (card) card.setAttribute("data-announced", "1");
    activate();
  });
  document.addEventListener("htmx:afterSettle", function () { activate(); });

  // The summary poll also brings a fresh payment card; keep the current one while the customer uses it.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var current = event.detail.target;
    if (!current || current.id !== "payment") return;
    var amount = current.querySelector("#payment-amount");
    var untouched = amount && amount.value === amount.defaultValue && document.activeElement !== amount;
    if (current.getAttribute("data-step") !== "amount" || !untouched) event.detail.shouldSwap = false;
  });

  // Our payment answers for "try again" (503) and "balance changed" (409) carry X-Payment-Step: show them.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (event.detail.target && event.detail.target.id === "payment" && xhr.getResponseHeader("X-Payment-Step")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Anything else that fails (the server unreachable): say so inside the card instead of failing silently.
  document.addEventListener("htmx:sendError", function (event) { blame(event); });
  document.addEventListener("htmx:responseError", function (event) { blame(event); });
  function blame(event) {
    var card = document.getElementById("payment");
    if (!card || !event.detail.target || event.detail.target.id !== "payment") return;
    busy(card, false);
    say(card, text("server-down"));
  }
})();
