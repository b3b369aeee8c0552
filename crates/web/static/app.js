// Custodian UI behaviour. Loaded from /static (the CSP allows no inline script).
(function () {
  "use strict";

  // The setup link printed by the server carries the one-time code in the URL fragment
  // (#code=...), which browsers never send to the server. Copy it into the form, then remove
  // it from the address bar and history.
  function fillSetupCode() {
    var form = document.getElementById("setup-form");
    var hash = window.location.hash;
    if (!hash || hash.length < 2) {
      return;
    }
    var params = new URLSearchParams(hash.slice(1));
    var code = params.get("code");
    if (code === null) {
      return;
    }
    if (form) {
      var field = form.querySelector('input[name="code"]');
      if (field && !field.value) {
        field.value = code.trim();
      }
    }
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
  }

  // On the setup page, switching language reloads the page: keep an entered code by passing
  // it along in the fragment (again never sent to the server).
  document.addEventListener("click", function (event) {
    var target = event.target;
    var link = target && target.closest ? target.closest("a[data-keep-code]") : null;
    if (!link) {
      return;
    }
    var field = document.querySelector('#setup-form input[name="code"]');
    if (field && field.value) {
      event.preventDefault();
      window.location.href = link.href + "#code=" + encodeURIComponent(field.value);
    }
  });

  // After htmx replaces search results, move focus to them for keyboard and screen-reader
  // users only when the user is not typing in the search box.
  document.addEventListener("htmx:afterSwap", function (event) {
    var region = event.detail && event.detail.target;
    if (region && region.id === "results-region" && document.activeElement &&
        document.activeElement.id !== "contact-search") {
      var title = document.getElementById("results-title");
      if (title) {
        title.setAttribute("tabindex", "-1");
        title.focus();
      }
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fillSetupCode);
  } else {
    fillSetupCode();
  }
})();
