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
});
