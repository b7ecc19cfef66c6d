// The review page: filters the event list as the editor types (the choice
// itself stays a plain select), and shows only the claims of the event picked.
"use strict";
(function () {
  const search = document.getElementById("event-search");
  const select = document.getElementById("id_accept-event");
  const claims = document.getElementById("id_accept-claim");
  if (!search || !select) return;
  search.addEventListener("input", function () {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let first = null;
    for (const option of select.options) {
      const text = option.text.toLowerCase();
      const shown = words.every((w) => text.includes(w));
      option.hidden = !shown;
      if (shown && first === null) first = option;
    }
    if (select.selectedOptions[0] && select.selectedOptions[0].hidden && first) {
      select.value = first.value;
      select.dispatchEvent(new Event("change"));
    }
  });
  function showClaims() {
    if (!claims) return;
    for (const option of claims.options) {
      option.hidden = option.dataset.event !== undefined && option.dataset.event !== select.value;
    }
    if (claims.selectedOptions[0] && claims.selectedOptions[0].hidden) claims.value = "";
  }
  select.addEventListener("change", showClaims);
  select.size = Math.min(8, Math.max(3, select.options.length));
  showClaims();
})();
