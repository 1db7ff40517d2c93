// The PIN wizard's "Send a new PIN": counts the cooldown down live and enables the button at zero.
// A file, not an inline script: the Content-Security-Policy allows scripts from the console only.
(function () {
  "use strict";
  document.querySelectorAll("button[data-resend-wait]").forEach(function (button) {
    var label = button.querySelector("[data-resend-countdown]");
    var readyAt = Date.now() + parseInt(button.dataset.resendWait, 10) * 1000;
    function tick() {
      var left = Math.ceil((readyAt - Date.now()) / 1000);
      if (left <= 0) {
        button.disabled = false;
        if (label) { label.remove(); }
        return;
      }
      if (label) { label.textContent = "(in " + left + " s)"; }
      window.setTimeout(tick, 250);
    }
    tick();
  });
})();
