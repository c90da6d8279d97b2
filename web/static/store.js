// Stores: the pay code that renews itself and shows a sale within a
// second of the clerk's confirming it; the counter's camera scanner and
// the wait for a resident's confirmation; basket totals with steppers.
// Loaded only by the pages that use it; every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var en = document.documentElement.lang === "en";
  var csrfField = document.querySelector("input[name=csrf]");
  var csrf = csrfField ? csrfField.value : "";

  // getJSON fetches a small JSON answer; a page instead (the session ran
  // out and the server sent the sign-in page) reloads, to sign in again.
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } }).then(function (r) {
      var ct = r.headers.get("Content-Type") || "";
      if (ct.indexOf("application/json") < 0) {
        window.location.reload();
        throw new Error("not JSON");
      }
      return r.json().then(function (body) {
        if (!r.ok) throw body;
        return body;
      });
    });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A form posting to the server with the page's CSRF token.
  function postForm(action, label, cls, back) {
    var f = el("form", "inline");
    f.method = "post";
    f.action = action;
    [["csrf", csrf], ["back", back]].forEach(function (kv) {
      var i = el("input");
      i.type = "hidden"; i.name = kv[0]; i.value = kv[1];
      f.appendChild(i);
    });
    var b = el("button", cls, label);
    b.type = "submit";
    f.appendChild(b);
    return f;
  }

  // Baskets: − and + beside each quantity, and the running total.
  document.querySelectorAll("form.basket").forEach(function (form) {
    var inputs = form.querySelectorAll("input[data-points]");
    var out = form.querySelector(".basket-sum");
    var sum = function () {
      var total = 0;
      inputs.forEach(function (i) {
        var n = parseInt(i.value, 10);
        if (n > 0) total += n * parseInt(i.dataset.points, 10);
      });
      if (out) out.textContent = total;
    };
    inputs.forEach(function (i) {
      i.addEventListener("input", sum);
      if (i.disabled) return;
      var step = function (d, text, label) {
        var b = el("button", "step secondary", text);
        b.type = "button";
        b.setAttribute("aria-label", label);
        b.addEventListener("click", function (e) {
          e.preventDefault();
          var n = (parseInt(i.value, 10) || 0) + d;
          var most = parseInt(i.max, 10);
          if (n < 0) n = 0;
          if (most >= 0 && n > most) n = most;
          i.value = n === 0 ? "" : n;
          sum();
        });
        return b;
      };
      var box = el("span", "stepper");
      i.parentNode.insertBefore(box, i);
      box.appendChild(step(-1, "−", en ? "One less" : "减一"));
      box.appendChild(i);
      box.appendChild(step(1, "+", en ? "One more" : "加一"));
    });
    sum();
  });

  // My pay code.
  var pc = document.getElementById("paycode");
  if (pc && window.fetch) {
    var img = document.getElementById("paycode-qr");
    var digits = document.getElementById("paycode-digits");
    var expiry = document.getElementById("paycode-expiry");
    var result = document.getElementById("paycode-result");
    var balance = document.getElementById("paycode-balance");
    var after = parseInt(pc.dataset.after, 10) || 0;
    var lifetime = parseInt(pc.dataset.expiresIn, 10) || 60;
    var now = function () { return window.performance ? performance.now() : Date.now(); };
    // The deadline is counted on this page's own clock from the lifetime
    // the server gave, never from the phone's date (often wrong).
    var deadline = now() + lifetime * 1000;
    var renewing = false, failedAt = -Infinity;
    var renew = function () {
      if (renewing || now() - failedAt < 3000) return;
      renewing = true;
      getJSON(pc.dataset.codeUrl).then(function (c) {
        img.src = c.qr;
        digits.textContent = c.digits;
        deadline = now() + c.expires_in * 1000;
        pc.classList.remove("stale");
        renewing = false;
        tick();
      }, function () {
        renewing = false;
        failedAt = now();
      });
    };
    var tick = function () {
      var left = Math.ceil((deadline - now()) / 1000);
      if (left <= 0) {
        pc.classList.add("stale");
        expiry.textContent = pc.dataset.expired;
      } else {
        expiry.textContent = pc.dataset.left.replace("%d", left);
      }
      // A new code a few seconds early, so the one on screen never lapses
      // while the clerk is scanning it.
      if (left <= 5 && !document.hidden) renew();
    };
    setInterval(tick, 1000);
    tick();

    var seen = {};
    var show = function (it, bal) {
      result.hidden = false;
      result.className = "card paycode-result st-" + it.status;
      result.textContent = "";
      var head = it.status === "completed" ? result.dataset.completed : it.status === "confirming" ? result.dataset.confirming : result.dataset.other;
      result.appendChild(el("p", "big", "")).appendChild(el("strong", "", head + (it.status === "completed" || it.status === "confirming" ? "" : "：" + it.status_text)));
      result.appendChild(el("p", "", it.store_name + "：" + it.items + "　−" + it.points));
      if (bal !== null && bal !== undefined) {
        result.appendChild(el("p", "muted", result.dataset.balance + " " + bal));
        if (balance) balance.textContent = bal;
      }
      if (it.status === "confirming") {
        var p = el("p");
        p.appendChild(postForm("/redemptions/" + it.id + "/confirm", result.dataset.confirm, "", "paycode"));
        p.appendChild(document.createTextNode(" "));
        p.appendChild(postForm("/redemptions/" + it.id + "/cancel", result.dataset.decline, "secondary", "paycode"));
        result.appendChild(p);
      }
      if (it.status === "completed" || it.status === "confirming") {
        // The code on screen is spent: show a fresh one for the next sale.
        failedAt = -Infinity;
        renew();
        if (navigator.vibrate) navigator.vibrate(200);
      }
      result.scrollIntoView({ behavior: "smooth", block: "center" });
    };
    var polling = false, newest = after;
    var poll = function () {
      if (polling || document.hidden) return;
      polling = true;
      // The server adds the balance only when there is something newer
      // than what this page has seen.
      getJSON(pc.dataset.pollUrl + "?after=" + newest).then(function (d) {
        polling = false;
        var changed = null;
        (d.items || []).forEach(function (it) { // newest first
          if (it.id > newest) newest = it.id;
          if (it.id <= after || seen[it.id] === it.status) return;
          seen[it.id] = it.status;
          if (!changed) changed = it;
        });
        if (changed) show(changed, d.balance);
      }, function () { polling = false; });
    };
    setInterval(poll, 1000);

    // Keep the screen on while the code is shown, where the phone allows.
    var lock = function () {
      if (navigator.wakeLock && !document.hidden) navigator.wakeLock.request("screen").catch(function () {});
    };
    lock();
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) {
        lock();
        tick();
        poll();
      }
    });
  }

  // The counter: scan a pay code, a printed card (JFV:) or a pick-up code
  // (JFP:order:code) with the camera, through the browser's
  // BarcodeDetector or the vendored jsQR.
  var video = document.getElementById("scan-video");
  var scanButtons = document.querySelectorAll("button.scan[data-target]");
  if (video && scanButtons.length && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    var stream = null;
    var stop = function () {
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
      video.hidden = true;
    };
    var fill = function (text, target) {
      text = (text || "").trim();
      if (text.indexOf("JFP:") === 0) {
        var parts = text.slice(4).split(":");
        document.getElementById("pickup-order").value = parts[0] || "";
        document.getElementById("pickup-code").value = parts[1] || "";
        document.getElementById("pickup-form").submit();
        return;
      }
      if (text.indexOf("JFV:") === 0) {
        var card = document.getElementById("card-pay");
        if (card) card.open = true;
        document.getElementById("volunteer-input").value = text.slice(4);
        var pin = card && card.querySelector("input[name=pin]");
        if (pin) pin.focus();
        return;
      }
      var field = document.getElementById(target);
      field.value = text.replace(/\D/g, "");
      var submit = field.form.querySelector("button[type=submit]");
      if (submit) submit.focus();
    };
    var scan = function (btn) {
      stop();
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
        stream = s;
        btn.parentNode.insertBefore(video, btn.nextSibling);
        video.srcObject = s;
        video.hidden = false;
        video.play();
        var canvas = document.createElement("canvas"), ctx = canvas.getContext("2d");
        var detector = ("BarcodeDetector" in window) ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
        var found = function (text) {
          stop();
          fill(text, btn.dataset.target);
        };
        var loop = function () {
          if (!stream) return;
          if (video.readyState < 2) { requestAnimationFrame(loop); return; }
          canvas.width = video.videoWidth; canvas.height = video.videoHeight;
          ctx.drawImage(video, 0, 0);
          if (detector) {
            detector.detect(canvas).then(function (codes) {
              if (codes.length) found(codes[0].rawValue); else setTimeout(loop, 150);
            }, function () { setTimeout(loop, 150); });
          } else if (window.jsQR) {
            var data = ctx.getImageData(0, 0, canvas.width, canvas.height);
            var code = window.jsQR(data.data, data.width, data.height);
            if (code) found(code.data); else setTimeout(loop, 150);
          }
        };
        loop();
      }, function () {
        btn.textContent = en ? "The camera is not available: type the code" : "无法打开相机，请手动输入";
      });
    };
    scanButtons.forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { scan(b); });
    });
  }

  // A sale waiting for the resident's confirmation: show the outcome as
  // soon as they confirm (or decline) on their phone.
  var sale = document.getElementById("sale");
  if (sale && sale.dataset.status === "confirming" && window.fetch) {
    var started = Date.now();
    var timer = setInterval(function () {
      if (Date.now() - started > 11 * 60 * 1000) { clearInterval(timer); return; }
      if (document.hidden) return;
      getJSON(sale.dataset.stateUrl).then(function (s) {
        if (s.status === "confirming") return;
        clearInterval(timer);
        sale.dataset.status = s.status;
        sale.className = "card sale-result st-" + s.status;
        document.getElementById("sale-status").textContent = s.status_text;
        var waiting = document.getElementById("sale-waiting");
        if (waiting) waiting.hidden = true;
        sale.querySelectorAll("form").forEach(function (f) { f.hidden = true; });
        if (navigator.vibrate) navigator.vibrate(200);
      }, function () {});
    }, 1000);
  }
});
