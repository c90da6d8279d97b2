// jifen's only script: small conveniences; every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Ask before irreversible actions.
  document.querySelectorAll("button.danger").forEach(function (b) {
    b.addEventListener("click", function (e) {
      var msg = document.documentElement.lang === "en" ? "Are you sure?" : "确定要这样做吗？";
      if (!window.confirm(msg)) e.preventDefault();
    });
  });
  // A form that failed names its error at the top of the page; when the
  // field at fault is out of sight below (a claim's photo under forty
  // rules), say it again there and take the reader to it.
  var formError = document.getElementById("form-error");
  var bad = document.querySelector("main .bad");
  if (formError && bad && bad.getBoundingClientRect().top > window.innerHeight) {
    var near = formError.cloneNode(true);
    near.id = "form-error-near";
    near.removeAttribute("role");
    bad.parentNode.insertBefore(near, bad);
    var field = bad.matches("input, select, textarea") ? bad : bad.querySelector("input, select, textarea");
    near.scrollIntoView({ block: "start" });
    if (field) field.focus({ preventScroll: true });
  }

  // The claim form's rules: typing part of a rule's name, or of its
  // category, hides the others, so a resident need not scroll past forty.
  // Without script the links to each category do the finding.
  var filter = document.getElementById("rule-filter");
  if (filter) {
    var none = document.getElementById("rule-filter-none"), cats = document.getElementById("rule-categories");
    filter.closest("label").hidden = false;
    // Enter in the box would send the claim.
    filter.addEventListener("keydown", function (e) { if (e.key === "Enter") e.preventDefault(); });
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase(), shown = 0;
      document.querySelectorAll("fieldset.rule-group").forEach(function (g) {
        var whole = g.querySelector("legend").textContent.toLowerCase().indexOf(q) >= 0, n = 0;
        g.querySelectorAll("label.rule-choice").forEach(function (l) {
          l.hidden = !(whole || l.textContent.toLowerCase().indexOf(q) >= 0);
          if (!l.hidden) n++;
        });
        g.hidden = n === 0;
        shown += n;
      });
      none.hidden = shown > 0;
      // The category links count rules the filter may have hidden.
      if (cats) cats.hidden = q !== "";
    });
  }

  // Open the guardian section as soon as a birth date under 14 is entered.
  var birth = document.getElementById("birth_date");
  var guardian = document.querySelector("details.guardian");
  if (birth && guardian) {
    birth.addEventListener("change", function () {
      var b = new Date(birth.value), now = new Date();
      if (isNaN(b)) return;
      var age = now.getFullYear() - b.getFullYear();
      var m = now.getMonth() - b.getMonth();
      if (m < 0 || (m === 0 && now.getDate() < b.getDate())) age--;
      guardian.open = age < 14;
    });
  }

  // Check-in: send the phone's position with the form, so the server can
  // check the activity's radius. Refusal is sent too, for a clear message.
  document.querySelectorAll("form.geo button[name=direction]").forEach(function (b) {
    b.addEventListener("click", function (e) {
      var form = b.form;
      if (!navigator.geolocation || form.dataset.located) return;
      e.preventDefault();
      var dir = document.createElement("input");
      dir.type = "hidden"; dir.name = "direction"; dir.value = b.value;
      form.appendChild(dir);
      b.disabled = true;
      var done = function () { form.dataset.located = "1"; form.submit(); };
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById("geo-lat").value = pos.coords.latitude;
        document.getElementById("geo-lon").value = pos.coords.longitude;
        done();
      }, function () {
        document.getElementById("geo-state").value = "denied";
        done();
      }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 });
    });
  });
  // The activity form: fill latitude and longitude from this phone.
  var use = document.getElementById("use-location");
  if (use && navigator.geolocation) {
    use.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById("lat").value = pos.coords.latitude.toFixed(6);
        document.getElementById("lon").value = pos.coords.longitude.toFixed(6);
      });
    });
  }
  // "Near me" asks for the position and lists activities by distance.
  var near = document.getElementById("near-me");
  if (near && navigator.geolocation) {
    near.addEventListener("click", function (e) {
      e.preventDefault();
      navigator.geolocation.getCurrentPosition(function (pos) {
        window.location = "/activities?lat=" + pos.coords.latitude.toFixed(5) + "&lon=" + pos.coords.longitude.toFixed(5);
      }, function () { window.location = "/activities"; });
    });
  }

  // Scanning a volunteer's QR code or printed card with the phone camera:
  // the browser's BarcodeDetector where it exists, the vendored jsQR
  // elsewhere (iOS Safari). The code fills the field and submits the form.
  var camBtn = document.getElementById("scan-camera");
  var video = document.getElementById("scan-video");
  if (camBtn && video && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    camBtn.hidden = false;
    camBtn.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
        video.srcObject = stream; video.hidden = false; video.play();
        var canvas = document.createElement("canvas"), ctx = canvas.getContext("2d");
        var detector = ("BarcodeDetector" in window) ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
        var found = function (text) {
          stream.getTracks().forEach(function (t) { t.stop(); });
          video.hidden = true;
          var field = document.getElementById("scan-no");
          field.value = text;
          field.form.submit();
        };
        var tick = function () {
          if (video.readyState < 2) { requestAnimationFrame(tick); return; }
          canvas.width = video.videoWidth; canvas.height = video.videoHeight;
          ctx.drawImage(video, 0, 0);
          if (detector) {
            detector.detect(canvas).then(function (codes) {
              if (codes.length) found(codes[0].rawValue); else setTimeout(tick, 150);
            }, function () { setTimeout(tick, 150); });
          } else if (window.jsQR) {
            var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
            var code = window.jsQR(img.data, img.width, img.height);
            if (code) found(code.data); else setTimeout(tick, 150);
          }
        };
        tick();
      }, function () {
        camBtn.textContent = document.documentElement.lang === "en" ? "The camera is not available: type the number" : "无法打开相机，请输入编号";
      });
    });
  }
});
