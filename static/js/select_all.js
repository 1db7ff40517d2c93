// Lists with bulk actions: a "choose every row on this page" box. Without this script the box stays
// hidden and rows are chosen one by one.
(function () {
  "use strict";
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    var name = all.dataset.selectAll;
    var table = all.closest("table");
    function boxes() { return table.querySelectorAll("input[type=checkbox][name='" + name + "']"); }
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
    });
    table.addEventListener("change", function (event) {
      if (event.target === all) { return; }
      var list = Array.from(boxes());
      all.checked = list.length > 0 && list.every(function (box) { return box.checked; });
    });
  });
})();
