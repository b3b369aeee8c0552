// Custodian UI behaviour. Loaded from /static (the CSP allows no inline script).
(function () {
  "use strict";

  // One-time links (the setup link printed by the server, e-mailed invitations and password
  // resets) carry their secret in the URL fragment (#code=... or #token=...), which browsers
  // never send to the server. Copy it into the form, then remove it from the address bar and
  // history.
  function fillFromFragment(formId, fieldName) {
    var form = document.getElementById(formId);
    var hash = window.location.hash;
    if (!form || !hash || hash.length < 2) {
      return;
    }
    var value = new URLSearchParams(hash.slice(1)).get(fieldName);
    if (value === null) {
      return;
    }
    var field = form.querySelector('input[name="' + fieldName + '"]');
    if (field && !field.value) {
      field.value = value.trim();
    }
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
  }

  function fillSetupCode() {
    fillFromFragment("setup-form", "code");
    fillFromFragment("link-form", "token");
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
        document.activeElement.id !== "contact-search" &&
        document.activeElement.id !== "lead-search") {
      var title = document.getElementById("results-title");
      if (title) {
        title.setAttribute("tabindex", "-1");
        title.focus();
      }
    }
  });

  // Deal board. A move posts the card's form with htmx and the server answers with the
  // re-rendered board; afterwards focus goes to the notice (if the move was refused) or to
  // the moved card, so keyboard and screen-reader users are not left on a removed element.
  document.addEventListener("htmx:afterSettle", function () {
    var board = document.getElementById("deal-board");
    var target = board ? board.querySelector("[data-autofocus]") : null;
    if (target) {
      if (!target.hasAttribute("tabindex") && target.tagName !== "A") {
        target.setAttribute("tabindex", "-1");
      }
      target.removeAttribute("data-autofocus");
      target.focus();
    }
  });

  // If htmx could not use the answer (session expired, CSRF, server error), post the same
  // form the ordinary way so the full error page explains what happened.
  document.addEventListener("htmx:responseError", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.matches && elt.matches("form[data-fallback-submit]")) {
      HTMLFormElement.prototype.submit.call(elt);
    }
  });

  // Drag and drop on the board: dropping a card on another column chooses that stage in the
  // card's own move form and submits it, exactly as the Move button would.
  var dragged = null;

  function columnAt(node) {
    return node && node.closest ? node.closest(".board-column[data-stage-id]") : null;
  }

  function clearDropTargets() {
    var marked = document.querySelectorAll(".board-column.drop-target");
    for (var i = 0; i < marked.length; i++) {
      marked[i].classList.remove("drop-target");
    }
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target && event.target.closest ? event.target.closest(".deal-card") : null;
    if (!card || !card.querySelector("form.move-form")) {
      return;
    }
    dragged = card;
    card.classList.add("dragging");
    if (event.dataTransfer) {
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.id);
    }
  });

  document.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("dragging");
    }
    dragged = null;
    clearDropTargets();
  });

  document.addEventListener("dragover", function (event) {
    var column = dragged ? columnAt(event.target) : null;
    if (!column) {
      return;
    }
    event.preventDefault();
    if (event.dataTransfer) {
      event.dataTransfer.dropEffect = "move";
    }
    if (!column.classList.contains("drop-target")) {
      clearDropTargets();
      column.classList.add("drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    var card = dragged;
    var column = card ? columnAt(event.target) : null;
    if (!column) {
      return;
    }
    event.preventDefault();
    clearDropTargets();
    var form = card.querySelector("form.move-form");
    var select = form ? form.querySelector("select[name='stage_id']") : null;
    var stage = column.getAttribute("data-stage-id");
    if (!select || !stage || select.value === stage) {
      return;
    }
    select.value = stage;
    if (form.requestSubmit) {
      form.requestSubmit();
    } else if (window.htmx) {
      window.htmx.trigger(form, "submit");
    }
  });

  // Contact import: once a file is chosen, read its first line in the browser (nothing is
  // sent until the form is submitted) and offer a field choice per column. Choices other
  // than "Automatic" travel as a JSON object in the hidden `mapping` field.
  function splitCsvLine(line, delimiter) {
    var cells = [];
    var cell = "";
    var quoted = false;
    for (var i = 0; i < line.length; i++) {
      var c = line[i];
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') {
          cell += '"';
          i++;
        } else if (c === '"') {
          quoted = false;
        } else {
          cell += c;
        }
      } else if (c === '"') {
        quoted = true;
      } else if (c === delimiter) {
        cells.push(cell.trim());
        cell = "";
      } else {
        cell += c;
      }
    }
    cells.push(cell.trim());
    return cells;
  }

  function decodeHead(buffer) {
    var bytes = new Uint8Array(buffer);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (e) {
      try {
        return new TextDecoder("gb18030").decode(bytes);
      } catch (e2) {
        return "";
      }
    }
  }

  function showMapping(headers) {
    var field = document.getElementById("mapping-field");
    var body = document.querySelector("#mapping-table tbody");
    var options = document.getElementById("mapping-options");
    if (!field || !body || !options) {
      return;
    }
    while (body.firstChild) {
      body.removeChild(body.firstChild);
    }
    headers.forEach(function (header, i) {
      if (!header) {
        return;
      }
      var row = document.createElement("tr");
      var label = document.createElement("th");
      label.scope = "row";
      var id = "map-" + i;
      var labelEl = document.createElement("label");
      labelEl.htmlFor = id;
      labelEl.textContent = header;
      label.appendChild(labelEl);
      var cell = document.createElement("td");
      var select = document.createElement("select");
      select.id = id;
      select.setAttribute("data-header", header);
      select.appendChild(options.content.cloneNode(true));
      cell.appendChild(select);
      row.appendChild(label);
      row.appendChild(cell);
      body.appendChild(row);
    });
    field.hidden = headers.length === 0;
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input || input.id !== "import-file" || !input.files || !input.files[0] || !window.FileReader) {
      return;
    }
    var reader = new FileReader();
    reader.onload = function () {
      var text = decodeHead(reader.result).replace(/^\uFEFF/, "");
      var first = text.split(/\r?\n/)[0] || "";
      var delimiter = first.indexOf(",") < 0 && first.indexOf(";") >= 0 ? ";" : ",";
      showMapping(splitCsvLine(first, delimiter));
    };
    reader.readAsArrayBuffer(input.files[0].slice(0, 64 * 1024));
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || form.id !== "import-form") {
      return;
    }
    var mapping = {};
    var any = false;
    form.querySelectorAll("#mapping-table select").forEach(function (select) {
      if (select.value) {
        mapping[select.getAttribute("data-header")] = select.value;
        any = true;
      }
    });
    var hidden = document.getElementById("import-mapping");
    if (hidden) {
      hidden.value = any ? JSON.stringify(mapping) : "";
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fillSetupCode);
  } else {
    fillSetupCode();
  }
  // Order form line editor: the server renders the order's lines plus a few blank ones, which
  // is all a browser without JavaScript gets. Here the "Add a line" button appears and copies
  // the last row with its fields emptied (every row repeats the same field names, in order).
  function setUpLineEditor() {
    var button = document.getElementById("add-line");
    var body = document.getElementById("order-lines");
    if (!button || !body) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = body.querySelectorAll("tr.line-row");
      if (rows.length === 0 || rows.length >= 200) {
        return;
      }
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.classList.remove("field-invalid");
      copy.querySelectorAll(".line-error").forEach(function (e) { e.remove(); });
      copy.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      copy.querySelectorAll("select").forEach(function (select) { select.selectedIndex = 0; });
      body.appendChild(copy);
      var first = copy.querySelector("select, input");
      if (first) {
        first.focus();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpLineEditor);
  } else {
    setUpLineEditor();
  }

  // Passkeys (WebAuthn). A form marked data-passkey="create" or "get" is shown only where the
  // browser has WebAuthn. Submitting it asks the server for options (data-options), lets the
  // browser's own passkey prompt answer them, puts the answer into the form's hidden
  // ceremony_id / credential fields and submits the form normally; the server's page says how
  // it went. Binary fields travel as base64url without padding, as the server expects.
  function fromBase64Url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toBase64Url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeCredentialList(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: fromBase64Url(c.id) });
    });
  }

  function creationOptions(publicKey) {
    var options = Object.assign({}, publicKey);
    options.challenge = fromBase64Url(publicKey.challenge);
    options.user = Object.assign({}, publicKey.user, { id: fromBase64Url(publicKey.user.id) });
    options.excludeCredentials = decodeCredentialList(publicKey.excludeCredentials);
    return options;
  }

  function requestOptions(publicKey) {
    var options = Object.assign({}, publicKey);
    options.challenge = fromBase64Url(publicKey.challenge);
    options.allowCredentials = decodeCredentialList(publicKey.allowCredentials);
    return options;
  }

  function credentialJson(credential, kind) {
    var r = credential.response;
    var response = kind === "create"
      ? {
          attestationObject: toBase64Url(r.attestationObject),
          clientDataJSON: toBase64Url(r.clientDataJSON)
        }
      : {
          authenticatorData: toBase64Url(r.authenticatorData),
          clientDataJSON: toBase64Url(r.clientDataJSON),
          signature: toBase64Url(r.signature),
          userHandle: r.userHandle ? toBase64Url(r.userHandle) : null
        };
    return JSON.stringify({
      id: credential.id,
      rawId: toBase64Url(credential.rawId),
      type: credential.type,
      response: response,
      extensions: {}
    });
  }

  function passkeyStatus(form, text) {
    var status = form.querySelector("[data-passkey-status]");
    if (status) {
      status.textContent = text;
    }
  }

  function runPasskey(form) {
    var kind = form.getAttribute("data-passkey");
    var csrf = form.querySelector('input[name="_csrf"]');
    var headers = { "Accept": "application/json" };
    if (csrf) {
      headers["X-CSRF-Token"] = csrf.value;
    }
    passkeyStatus(form, "");
    fetch(form.getAttribute("data-options"), {
      method: "POST",
      headers: headers,
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (body) {
        if (response.status === 403 && body.code === "reauthentication_required" &&
            form.getAttribute("data-reauth")) {
          window.location.href = form.getAttribute("data-reauth");
          return null;
        }
        if (!response.ok) {
          throw new Error(body.code || "options_failed");
        }
        var publicKey = body.options.publicKey;
        form.querySelector('input[name="ceremony_id"]').value = body.ceremony_id;
        return kind === "create"
          ? navigator.credentials.create({ publicKey: creationOptions(publicKey) })
          : navigator.credentials.get({ publicKey: requestOptions(publicKey) });
      });
    }).then(function (credential) {
      if (!credential) {
        return;
      }
      form.querySelector('input[name="credential"]').value = credentialJson(credential, kind);
      form.submit();
    }).catch(function () {
      passkeyStatus(form, form.getAttribute("data-failed") || "");
    });
  }

  function setUpPasskeys() {
    var supported = !!(window.PublicKeyCredential && navigator.credentials && window.fetch);
    document.querySelectorAll("form[data-passkey]").forEach(function (form) {
      form.hidden = !supported;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-passkey")) {
      return;
    }
    event.preventDefault();
    runPasskey(form);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpPasskeys);
  } else {
    setUpPasskeys();
  }
})();
