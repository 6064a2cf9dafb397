// Small progressive enhancements; every page works without them.
(function () {
  // Countdown: <span data-countdown="ISO-8601 UTC"></span>
  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Math.max(0, Math.floor((Date.parse(el.dataset.countdown) - Date.now()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      var text = (h > 0 ? h + " 小时 " : "") + m + " 分 " + (s < 10 ? "0" : "") + s + " 秒";
      el.textContent = left > 0 ? text : "已过期";
    });
  }
  if (document.querySelector("[data-countdown]")) { tick(); setInterval(tick, 1000); }

  // Self-refreshing fragment: <div data-refresh-url="/console/..." data-refresh-seconds="20">
  // A fragment that carries data-refresh-done stops the refreshing (and reloads the page once when the box has
  // data-refresh-reload, so the rest of the page catches up).
  document.querySelectorAll("[data-refresh-url]").forEach(function (el) {
    var seconds = parseInt(el.dataset.refreshSeconds || "30", 10);
    var timer = setInterval(function () {
      fetch(el.dataset.refreshUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          el.innerHTML = html;
          if (el.querySelector("[data-refresh-done]")) {
            clearInterval(timer);
            if (el.hasAttribute("data-refresh-reload")) { window.location.reload(); }
          }
        });
    }, seconds * 1000);
  });

  // Confirmation for destructive or value-moving forms: <form data-confirm="确认转赠？">
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) { if (!window.confirm(form.dataset.confirm)) { e.preventDefault(); } });
  });

  // Select all checkboxes in a bulk form: <input type="checkbox" data-select-all="name">
  document.querySelectorAll("[data-select-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      document.querySelectorAll("input[name='" + box.dataset.selectAll + "']").forEach(function (b) { b.checked = box.checked; });
    });
  });

  // On a phone the tab bar scrolls sideways: bring the current tab into view.
  var current = document.querySelector(".tabs [aria-current='page']");
  if (current) { current.parentNode.scrollLeft = current.offsetLeft - current.parentNode.clientWidth / 2 + current.clientWidth / 2; }

  if ("serviceWorker" in navigator && document.body.classList.contains("pwa")) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(function () {});
  }
})();
