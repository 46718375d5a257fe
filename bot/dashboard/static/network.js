/* The ripple network, a little more usable with a mouse or keyboard: zoom (buttons, + and −, Ctrl/⌘ + wheel or
   a pinch; the wheel alone once zoomed in), move (drag, or the arrow keys), and a team's arrows brought forward
   while it is pointed at or focused. The page works without it: every team and ripple is a link, and the table
   says everything the picture does. */
(function () {
  "use strict";
  var svg = document.getElementById("network");
  var frame = document.getElementById("network-frame");
  if (!svg || !frame || !svg.viewBox || !svg.viewBox.baseVal) { return; }

  var full = { x: 0, y: 0, w: Number(svg.dataset.width) || svg.viewBox.baseVal.width,
               h: Number(svg.dataset.height) || svg.viewBox.baseVal.height };
  var view = { x: full.x, y: full.y, w: full.w, h: full.h };
  var MAX_ZOOM = 12;

  function apply() {
    svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].map(function (n) { return n.toFixed(1); }).join(" "));
    zoomedOut.disabled = view.w >= full.w - 0.5;
    reset.disabled = zoomedOut.disabled;
  }

  function clamp() {
    view.w = Math.min(full.w, Math.max(full.w / MAX_ZOOM, view.w));
    view.h = view.w * full.h / full.w;
    view.x = Math.min(full.x + full.w - view.w, Math.max(full.x, view.x));
    view.y = Math.min(full.y + full.h - view.h, Math.max(full.y, view.y));
  }

  // zoom by `factor` (below 1 zooms in) keeping the point (px, py), in picture units, where it is
  function zoom(factor, px, py) {
    if (px === undefined) { px = view.x + view.w / 2; py = view.y + view.h / 2; }
    var w = Math.min(full.w, Math.max(full.w / MAX_ZOOM, view.w * factor));
    var ratio = w / view.w;
    view.x = px - (px - view.x) * ratio;
    view.y = py - (py - view.y) * ratio;
    view.w = w;
    clamp();
    apply();
  }

  function pan(dx, dy) {
    view.x += dx; view.y += dy;
    clamp();
    apply();
  }

  // a point of the screen in picture units
  function toPicture(clientX, clientY) {
    var box = svg.getBoundingClientRect();
    return { x: view.x + (clientX - box.left) / box.width * view.w,
             y: view.y + (clientY - box.top) / box.height * view.h };
  }

  function button(text, label, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.setAttribute("aria-label", label);
    b.title = label;
    b.addEventListener("click", action);
    return b;
  }

  var tools = document.createElement("div");
  tools.className = "zoom";
  tools.setAttribute("role", "group");
  tools.setAttribute("aria-label", "Zoom the picture (keys: + and −, 0, and the arrows)");
  var zoomedIn = button("+", "Zoom in", function () { zoom(1 / 1.5); });
  var zoomedOut = button("−", "Zoom out", function () { zoom(1.5); });
  var reset = button("Fit", "Show the whole network", function () {
    view = { x: full.x, y: full.y, w: full.w, h: full.h };
    apply();
  });
  tools.appendChild(zoomedIn);
  tools.appendChild(zoomedOut);
  tools.appendChild(reset);
  frame.parentNode.insertBefore(tools, frame);  // above the picture, never over a team
  svg.setAttribute("tabindex", "0");  // a stop before the teams and arrows, where the keys move the picture
  apply();

  svg.addEventListener("wheel", function (event) {
    var zoomed = view.w < full.w - 0.5;
    if (!(event.ctrlKey || event.metaKey || zoomed)) { return; }  // let the page scroll
    event.preventDefault();
    var at = toPicture(event.clientX, event.clientY);
    zoom(Math.pow(1.0015, event.deltaY * (event.deltaMode === 1 ? 20 : 1)), at.x, at.y);
  }, { passive: false });

  // drag to move; a drag that moved is not a click on the link under it
  var drag = null;
  var dragged = false;
  svg.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) { return; }
    drag = { x: event.clientX, y: event.clientY, id: event.pointerId };
    dragged = false;
  });
  svg.addEventListener("pointermove", function (event) {
    if (!drag || drag.id !== event.pointerId) { return; }
    var box = svg.getBoundingClientRect();
    var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!dragged && Math.abs(dx) + Math.abs(dy) < 5) { return; }
    if (!dragged) { svg.setPointerCapture(event.pointerId); svg.classList.add("grabbing"); }
    dragged = true;
    pan(-dx / box.width * view.w, -dy / box.height * view.h);
    drag.x = event.clientX; drag.y = event.clientY;
  });
  function endDrag() { drag = null; svg.classList.remove("grabbing"); }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);
  svg.addEventListener("click", function (event) {
    if (dragged) { event.preventDefault(); event.stopPropagation(); dragged = false; }
  }, true);

  frame.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var step = view.w / 10;
    var keys = {
      "+": function () { zoom(1 / 1.5); }, "=": function () { zoom(1 / 1.5); },
      "-": function () { zoom(1.5); }, "0": function () { reset.click(); },
      "ArrowLeft": function () { pan(-step, 0); }, "ArrowRight": function () { pan(step, 0); },
      "ArrowUp": function () { pan(0, -step); }, "ArrowDown": function () { pan(0, step); }
    };
    if (keys[event.key]) {
      event.preventDefault();
      keys[event.key]();
    }
  });

  // a team pointed at or focused: its arrows forward, the rest faded; an arrow: its two teams
  var edgesOf = {};
  var nodes = {};
  Array.prototype.forEach.call(svg.querySelectorAll("a.edge"), function (edge) {
    [edge.dataset.from, edge.dataset.to].forEach(function (team) { (edgesOf[team] = edgesOf[team] || []).push(edge); });
  });
  Array.prototype.forEach.call(svg.querySelectorAll("a.node"), function (node) { nodes[node.dataset.team] = node; });
  var lit = [];

  function light(elements) {
    unlight();
    lit = elements;
    lit.forEach(function (el) { el.classList.add("hl"); });
    svg.classList.add("lighting");
  }
  function unlight() {
    lit.forEach(function (el) { el.classList.remove("hl"); });
    lit = [];
    svg.classList.remove("lighting");
  }
  function over(event) {
    var link = event.target.closest && event.target.closest("a.node, a.edge");
    if (!link || drag && dragged) { return; }
    if (link.classList.contains("node")) {
      light([link].concat(edgesOf[link.dataset.team] || []));
    } else {
      light([link, nodes[link.dataset.from], nodes[link.dataset.to]].filter(Boolean));
    }
  }
  svg.addEventListener("pointerover", over);
  svg.addEventListener("focusin", over);
  svg.addEventListener("pointerleave", unlight);
  svg.addEventListener("focusout", function (event) {
    if (!event.relatedTarget || !svg.contains(event.relatedTarget)) { unlight(); }
  });
}());
