// keyhold portal behaviour. No framework, no inline code: the page is served
// with Content-Security-Policy default-src 'self', so everything hangs off
// data-* attributes and htmx events.
(function () {
  "use strict";

  var MAX_FILE_BYTES = 5242880; // 5 MiB, the largest value the server takes
  var TOAST_MS = 4000;
  var COPIED_MS = 1500;

  // ---- Dialogs -----------------------------------------------------------
  // Dialog markup arrives from the server into #dialog. We open it as a
  // modal, remember what opened it, and on close empty #dialog and give the
  // focus back. A successful submit answers with an empty body: the dialog is
  // then removed without a close event, so we restore the focus there too.

  var opener = null; // the element that asked for the dialog
  var openerKey = null; // its hx-get, to find it again if the table reloads
  var showing = false; // a dialog of ours is open

  function dialogRoot() {
    return document.getElementById("dialog");
  }

  function inDialogRoot(el) {
    var root = dialogRoot();
    return !!(root && el && (el === root || root.contains(el)));
  }

  function openDialog() {
    var root = dialogRoot();
    return root ? root.querySelector("dialog[open]") : null;
  }

  // The element to focus in a freshly shown dialog: the field a refusal is
  // about, then [autofocus], then the first text field, then the first button.
  function initialFocus(dlg) {
    return (
      dlg.querySelector('[aria-invalid="true"]') ||
      dlg.querySelector("[autofocus]") ||
      dlg.querySelector(
        "input:not([type=hidden]):not([type=file]):not([disabled]), textarea:not([disabled]), select:not([disabled])"
      ) ||
      dlg.querySelector("button:not([disabled])")
    );
  }

  function syncDialog() {
    var root = dialogRoot();
    if (!root) return;
    var dlg = root.querySelector("dialog");
    if (!dlg) {
      if (showing) {
        showing = false;
        restoreFocus();
      }
      return;
    }
    if (!dlg.open) {
      dlg.showModal();
      showing = true;
      var first = initialFocus(dlg);
      if (first) first.focus();
    } else if (!dlg.contains(document.activeElement)) {
      // Part of the open dialog was swapped (Reveal): keep the focus inside.
      var next = dlg.querySelector("[data-copy-target]") || initialFocus(dlg);
      if (next) next.focus();
    }
  }

  function restoreFocus() {
    var el = opener && opener.isConnected ? opener : findOpener();
    opener = null;
    if (el) {
      el.focus();
    } else {
      var main = document.getElementById("main");
      if (main) main.focus();
    }
    // Keep openerKey a moment: a table reload may still replace the opener.
    window.setTimeout(function () {
      openerKey = null;
    }, 3000);
  }

  function findOpener() {
    if (!openerKey) return null;
    var all = document.querySelectorAll("[hx-get]");
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("hx-get") === openerKey && !inDialogRoot(all[i])) return all[i];
    }
    return null;
  }

  // Remember who asked for a dialog before the request goes out.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var d = evt.detail || {};
    if (d.target && d.target.id === "dialog" && d.elt && !inDialogRoot(d.elt)) {
      opener = d.elt;
      openerKey = d.elt.getAttribute("hx-get");
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    syncDialog();
    // A table reload right after a dialog closed replaced the button that
    // had the focus back: give it to the new copy of that button.
    if (!showing && openerKey) {
      var active = document.activeElement;
      if (!active || active === document.body || active.id === "main") {
        var el = findOpener();
        if (el) el.focus();
      }
    }
    scheduleToasts();
  });

  // close does not bubble: listen in the capture phase.
  document.addEventListener(
    "close",
    function (evt) {
      var dlg = evt.target;
      if (!(dlg instanceof HTMLDialogElement) || !inDialogRoot(dlg)) return;
      showing = false;
      dialogRoot().replaceChildren();
      restoreFocus();
    },
    true
  );

  document.addEventListener("click", function (evt) {
    var closer = evt.target.closest("[data-close-dialog]");
    if (closer) {
      var dlg = closer.closest("dialog");
      if (dlg && (closer.hasAttribute("data-discard-ok") || !askDiscard(dlg))) dlg.close();
    }
    var keep = evt.target.closest("[data-discard-cancel]");
    if (keep) {
      var box = keep.closest("[data-discard-confirm]");
      if (box) box.hidden = true;
      var back = keep.closest("dialog");
      var first = back ? initialFocus(back) : null;
      if (first) first.focus();
    }
  });

  // A dialog with staged changes ([data-pending] inside it) and a
  // [data-discard-confirm] box asks before it closes (Cancel, ×, Escape):
  // askDiscard shows the box and reports that the close must wait. Its
  // "Discard changes" button ([data-discard-ok]) closes for good.
  function askDiscard(dlg) {
    var box = dlg.querySelector("[data-discard-confirm]");
    if (!box || !dlg.querySelector("[data-pending]")) return false;
    box.hidden = false;
    var keep = box.querySelector("[data-discard-cancel]");
    if (keep) keep.focus();
    return true;
  }

  // Escape fires cancel before close: hold the close while asking.
  document.addEventListener(
    "cancel",
    function (evt) {
      var dlg = evt.target;
      if (dlg instanceof HTMLDialogElement && inDialogRoot(dlg) && askDiscard(dlg)) evt.preventDefault();
    },
    true
  );

  // ---- Copy to clipboard -------------------------------------------------

  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-copy-target]");
    if (!btn) return;
    var src = document.querySelector(btn.getAttribute("data-copy-target"));
    if (!src) return;
    var text = "value" in src ? src.value : src.textContent;
    copyText(text, src).then(
      function () {
        flashLabel(btn, "Copied");
      },
      function () {
        flashLabel(btn, "Copy failed");
      }
    );
  });

  function copyText(text, src) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http on a LAN has no clipboard API: fall back to a selection.
    return new Promise(function (resolve, reject) {
      if (typeof src.select !== "function") {
        reject(new Error("cannot select"));
        return;
      }
      src.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      if (ok) resolve();
      else reject(new Error("copy refused"));
    });
  }

  function flashLabel(btn, text) {
    var label = btn.querySelector("[data-copy-label]") || btn;
    if (!btn.hasAttribute("data-copy-original")) {
      btn.setAttribute("data-copy-original", label.textContent);
    }
    label.textContent = text;
    btn.classList.add("is-copied");
    window.clearTimeout(btn._copyTimer);
    btn._copyTimer = window.setTimeout(function () {
      label.textContent = btn.getAttribute("data-copy-original");
      btn.removeAttribute("data-copy-original");
      btn.classList.remove("is-copied");
    }, COPIED_MS);
  }

  // ---- Tabs --------------------------------------------------------------
  // [data-tabs] holds [role=tab] buttons and the [role=tabpanel]s they
  // control. Without script every panel shows; with it, the selected one.
  // Arrow keys, Home and End move between the tabs.

  function initTabs() {
    document.querySelectorAll("[data-tabs]:not([data-tabs-ready])").forEach(function (box) {
      box.setAttribute("data-tabs-ready", "");
      var selected = box.querySelector('[role=tab][aria-selected="true"]') || box.querySelector("[role=tab]");
      if (selected) selectTab(selected, false);
    });
  }

  function selectTab(tab, focus) {
    var box = tab.closest("[data-tabs]");
    if (!box) return;
    box.querySelectorAll("[role=tab]").forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      var panel = document.getElementById(t.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
    });
    if (focus) tab.focus();
  }

  document.addEventListener("click", function (evt) {
    var tab = evt.target.closest("[data-tabs] [role=tab]");
    if (tab) selectTab(tab, false);
  });

  document.addEventListener("keydown", function (evt) {
    var tab = evt.target.closest && evt.target.closest("[data-tabs] [role=tab]");
    if (!tab) return;
    var tabs = Array.prototype.slice.call(tab.closest("[data-tabs]").querySelectorAll("[role=tab]"));
    var i = tabs.indexOf(tab);
    var next = null;
    if (evt.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
    else if (evt.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
    else if (evt.key === "Home") next = tabs[0];
    else if (evt.key === "End") next = tabs[tabs.length - 1];
    if (!next) return;
    evt.preventDefault();
    selectTab(next, true);
  });

  document.addEventListener("htmx:load", initTabs);

  // ---- Load from file ----------------------------------------------------

  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!(input instanceof HTMLInputElement) || !input.hasAttribute("data-load-into")) return;
    var file = input.files && input.files[0];
    if (!file) return;
    var form = input.closest("form");
    var errorEl = form ? form.querySelector("[data-file-error]") : null;
    var target = document.querySelector(input.getAttribute("data-load-into"));
    showFileError(errorEl, "");
    if (file.size > MAX_FILE_BYTES) {
      showFileError(
        errorEl,
        file.name + " is " + formatBytes(file.size) + ". Values can be at most 5 MiB."
      );
      input.value = "";
      return;
    }
    var reader = new FileReader();
    reader.onload = function () {
      if (target) {
        target.value = String(reader.result);
        target.focus();
      }
      input.value = "";
    };
    reader.onerror = function () {
      showFileError(errorEl, "Could not read " + file.name + ".");
      input.value = "";
    };
    reader.readAsText(file);
  });

  function showFileError(el, msg) {
    if (!el) return;
    el.textContent = msg;
    el.hidden = msg === "";
    if (msg) el.setAttribute("role", "alert");
    else el.removeAttribute("role");
  }

  function formatBytes(n) {
    return (n / 1048576).toFixed(1) + " MiB";
  }

  // ---- Toasts ------------------------------------------------------------

  function scheduleToasts() {
    var toasts = document.querySelectorAll(".toast:not([data-scheduled])");
    toasts.forEach(function (toast) {
      toast.setAttribute("data-scheduled", "");
      window.setTimeout(function () {
        toast.classList.add("is-leaving");
        window.setTimeout(function () {
          toast.remove();
        }, 200);
      }, TOAST_MS);
    });
  }

  document.addEventListener("htmx:oobAfterSwap", scheduleToasts);
  document.addEventListener("htmx:load", scheduleToasts);

  // Responses that htmx does not swap (404, 500, …) and errors outside a
  // dialog: show the message of the server's error toast, or a generic one.
  // Only text is taken from the response, never markup. A form on a page
  // that draws its own errors (the Account page's password card) opts in
  // with data-swap-errors on its target.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var d = evt.detail;
    var status = d.xhr ? d.xhr.status : 0;
    if (status < 400) return;
    if (d.shouldSwap && inDialogRoot(d.target)) return; // the dialog shows its error
    if (d.shouldSwap && d.target && d.target.hasAttribute("data-swap-errors")) return;
    d.shouldSwap = false;
    showError(errorText(d.xhr));
  });

  document.addEventListener("htmx:sendError", function () {
    showError("Could not reach the server. Check your connection and try again.");
  });

  function errorText(xhr) {
    var fallback = "Something went wrong (HTTP " + xhr.status + "). Try again.";
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("text/html") === -1 || !xhr.responseText) return fallback;
    var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var el = doc.querySelector(".toast span") || doc.querySelector(".toast");
    var text = el ? el.textContent.trim() : "";
    return text || fallback;
  }

  // showError puts msg in the open dialog's error box, where the user is
  // looking (a toast would sit under the modal backdrop), or in a toast.
  function showError(msg) {
    var dlg = openDialog();
    var body = dlg ? dlg.querySelector(".modal-body") : null;
    if (!body) {
      showToast(msg, true);
      return;
    }
    var box = body.querySelector(".alert-error");
    if (!box) {
      box = document.createElement("div");
      box.className = "alert alert-error";
      box.setAttribute("role", "alert");
      body.insertBefore(box, body.firstChild);
    }
    var span = document.createElement("span");
    span.textContent = msg;
    box.replaceChildren(alertIcon(), span);
  }

  // alertIcon draws the same circle-and-bang icon as the templates.
  function alertIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    var attrs = {
      class: "icon", viewBox: "0 0 24 24", width: "16", height: "16", fill: "none",
      stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round",
      "stroke-linejoin": "round", "aria-hidden": "true", focusable: "false"
    };
    Object.keys(attrs).forEach(function (k) {
      svg.setAttribute(k, attrs[k]);
    });
    var circle = document.createElementNS(ns, "circle");
    circle.setAttribute("cx", "12");
    circle.setAttribute("cy", "12");
    circle.setAttribute("r", "9");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M12 7.5v5.5M12 16.5v.01");
    svg.appendChild(circle);
    svg.appendChild(path);
    return svg;
  }

  function showToast(msg, isError) {
    var region = document.getElementById("toast");
    if (!region) return;
    var toast = document.createElement("div");
    toast.className = isError ? "toast toast-error" : "toast";
    toast.setAttribute("role", isError ? "alert" : "status");
    if (isError) toast.appendChild(alertIcon());
    var span = document.createElement("span");
    span.textContent = msg;
    toast.appendChild(span);
    region.replaceChildren(toast);
    scheduleToasts();
  }

  // ---- Errors at the field -----------------------------------------------
  // A refusal shows under the field it is about, which is marked invalid and
  // focused: the server draws its own that way (views/fields.go), and the
  // browser's checks (required, pattern, minlength, an email's form, a
  // confirmation that differs: data-match) get the same treatment here, with
  // our words from data-msg-* instead of the browser's bubble. Typing in the
  // field clears its error.

  function labelText(el) {
    var label = el.id ? document.querySelector('label[for="' + el.id + '"]') : null;
    return label ? label.textContent.replace(/\s+/g, " ").replace(/ optional$/, "").trim() : "This field";
  }

  function fieldMessage(el) {
    var v = el.validity;
    var msg = function (kind, fallback) {
      return el.getAttribute("data-msg-" + kind) || fallback;
    };
    if (v.valueMissing) return msg("required", labelText(el) + " is required.");
    if (v.customError) return el.validationMessage;
    if (v.patternMismatch) return msg("pattern", labelText(el) + " is not in the expected form.");
    if (v.tooShort) return msg("minlength", labelText(el) + " must be at least " + el.minLength + " characters long.");
    if (v.typeMismatch && el.type === "email") return msg("type", "Enter an email address, such as name@example.com.");
    return el.validationMessage;
  }

  // fieldErrorAnchor is what the message goes after: the field, or the row
  // or search box it sits in.
  function fieldErrorAnchor(el) {
    return el.closest(".inline-form, .search") || el;
  }

  function showFieldError(el, msg) {
    var id = (el.id || el.name) + "-error";
    var box = document.getElementById(id);
    if (!box) {
      box = document.createElement("div");
      box.id = id;
      box.className = "alert alert-error alert-field";
      box.setAttribute("role", "alert");
      fieldErrorAnchor(el).insertAdjacentElement("afterend", box);
    }
    var span = document.createElement("span");
    span.textContent = msg;
    box.replaceChildren(alertIcon(), span);
    el.setAttribute("aria-invalid", "true");
    el.setAttribute("aria-errormessage", id);
  }

  function clearFieldError(el) {
    if (el.getAttribute("aria-invalid") !== "true") return;
    el.removeAttribute("aria-invalid");
    var id = el.getAttribute("aria-errormessage");
    el.removeAttribute("aria-errormessage");
    var box = id ? document.getElementById(id) : null;
    if (box) box.remove();
  }

  // A confirmation (data-match="#other") is invalid while it differs.
  function checkMatches(form) {
    if (!form) return;
    form.querySelectorAll("[data-match]").forEach(function (el) {
      var other = document.querySelector(el.getAttribute("data-match"));
      var differs = other && el.value !== "" && el.value !== other.value;
      el.setCustomValidity(differs ? el.getAttribute("data-msg-match") || "The two values do not match." : "");
    });
  }

  document.addEventListener("input", function (evt) {
    var el = evt.target;
    if (!(el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement)) return;
    clearFieldError(el);
    if (el.form) {
      checkMatches(el.form);
      // Correcting a password also settles the confirmation's complaint.
      el.form.querySelectorAll('[data-match="#' + el.id + '"]').forEach(clearFieldError);
    }
  });

  // A submit checks the confirmations before the browser validates.
  document.addEventListener(
    "click",
    function (evt) {
      var btn = evt.target.closest("button[type=submit], input[type=submit]");
      if (btn && btn.form) checkMatches(btn.form);
    },
    true
  );

  // invalid does not bubble: listen in the capture phase. Cancelling it
  // keeps the browser's bubble away.
  document.addEventListener(
    "invalid",
    function (evt) {
      var el = evt.target;
      evt.preventDefault();
      showFieldError(el, fieldMessage(el));
      var form = el.form;
      var first = form ? form.querySelector("input:invalid, textarea:invalid, select:invalid") : el;
      if (first === el) el.focus();
    },
    true
  );

  // ---- Menus and the organization switcher -------------------------------

  document.addEventListener("change", function (evt) {
    var sel = evt.target;
    if (sel instanceof HTMLSelectElement && sel.hasAttribute("data-autosubmit") && sel.form) {
      sel.form.requestSubmit();
    }
  });

  // <details data-menu> closes on a click outside it, on a choice in it ([data-menu-item]), or on
  // Escape. One is open at a time.
  document.addEventListener("click", function (evt) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(evt.target) || evt.target.closest("[data-menu-item]")) menu.open = false;
    });
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      menu.open = false;
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // A row's "⋯" menu is placed over the page (position: fixed), so that the
  // table's scrolling card does not clip it: under its button, or above it
  // near the bottom of the window; again as the page scrolls.
  function placeRowMenu(menu) {
    var list = menu.querySelector(".row-menu-list");
    var r = menu.querySelector("summary").getBoundingClientRect();
    var width = document.documentElement.clientWidth;
    // Its right edge under the button's; on a phone, where the button sits at
    // the left of a stacked row, its left edge instead, so that it stays on
    // the screen.
    if (r.right - list.offsetWidth < 8) {
      list.style.right = "auto";
      list.style.left = Math.max(8, Math.min(r.left, width - list.offsetWidth - 8)) + "px";
    } else {
      list.style.left = "auto";
      list.style.right = Math.max(8, width - r.right) + "px";
    }
    var top = r.bottom + 4;
    if (top + list.offsetHeight > window.innerHeight - 8) top = Math.max(8, r.top - list.offsetHeight - 4);
    list.style.top = top + "px";
  }

  document.addEventListener(
    "toggle",
    function (evt) {
      var menu = evt.target;
      if (!(menu instanceof HTMLDetailsElement) || !menu.classList.contains("row-menu") || !menu.open) return;
      document.querySelectorAll("details[data-menu][open]").forEach(function (other) {
        if (other !== menu) other.open = false;
      });
      placeRowMenu(menu);
    },
    true
  );
  window.addEventListener(
    "scroll",
    function () {
      document.querySelectorAll("details.row-menu[open]").forEach(placeRowMenu);
    },
    true
  );

  // A page rendered with a dialog or a toast already in it.
  function init() {
    var bad = document.querySelector('main [aria-invalid="true"]');
    if (bad) bad.focus();
    initTabs();
    syncDialog();
    scheduleToasts();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
