// wanwatch fleet dashboard: live rows over server-sent events, client-side filter. The server
// renders (and escapes) every row; this script only swaps them in, reorders and filters.
(function () {
  "use strict";
  var body = document.getElementById("sites-body");
  if (!body) { return; }
  var filter = document.getElementById("filter");
  var shown = document.getElementById("shown");
  var live = document.getElementById("live");
  var condition = "";
  var rows = new Map();
  Array.prototype.forEach.call(body.rows, function (tr) { rows.set(tr.dataset.site, tr); });

  function visible(tr, query) {
    var flags = " " + tr.dataset.flags + " ";
    return (!condition || flags.indexOf(" " + condition + " ") >= 0) &&
           (!query || tr.dataset.search.indexOf(query) >= 0);
  }

  function applyFilter() {
    var query = filter.value.trim().toLowerCase();
    var n = 0;
    rows.forEach(function (tr) { tr.hidden = !visible(tr, query); if (!tr.hidden) { n++; } });
    shown.textContent = n === rows.size ? rows.size + " sites" : n + " of " + rows.size + " sites";
  }

  function update(msg) {
    var tpl = document.createElement("template");
    Object.keys(msg.rows).forEach(function (id) {
      tpl.innerHTML = msg.rows[id];
      var tr = tpl.content.firstElementChild;
      var old = rows.get(id);
      if (old) { old.replaceWith(tr); } else { body.appendChild(tr); }
      rows.set(id, tr);
    });
    if (msg.order) {
      msg.order.forEach(function (id) { var tr = rows.get(id); if (tr) { body.appendChild(tr); } });
    }
    Object.keys(msg.counts || {}).forEach(function (c) {
      var el = document.querySelector('[data-count="' + c + '"]');
      if (el) { el.textContent = msg.counts[c]; }
    });
    applyFilter();
  }

  filter.addEventListener("input", applyFilter);
  document.querySelectorAll("button.count").forEach(function (b) {
    b.addEventListener("click", function () {
      condition = condition === b.dataset.condition ? "" : b.dataset.condition;
      document.querySelectorAll("button.count").forEach(function (o) {
        o.classList.toggle("selected", o.dataset.condition === condition);
      });
      applyFilter();
    });
  });

  var es = new EventSource("/events");
  es.addEventListener("sites", function (e) {
    update(JSON.parse(e.data));
    document.body.dataset.live = "1";
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    live.textContent = "live";
  });
  es.onerror = function () {
    document.body.dataset.live = "0";
    live.textContent = "reconnecting...";
  };
  applyFilter();
})();
