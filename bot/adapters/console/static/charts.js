/*
 * strategy-bot console: the digest's charts drawn as SVG by the page.
 *
 * Why hand-drawn SVG and not a charting library: the console ships inside the Python package
 * for offline machines (no CDN, no build step), its Content-Security-Policy forbids inline
 * style and script, and the digest has three simple kinds of chart (`bot.presentation.sections`
 * Chart): "line" (figures over rounds), "bars" (figures side by side) and "map" (the
 * social-maturity map: each conversation placed by its internal and external means, with the
 * line from which an axis counts as mature). About 200 lines cover them; a library would add
 * ten times that to the package and to what a reviewer must trust.
 *
 * Every word on a chart (titles, names, categories) is set with textContent, never parsed as
 * markup, like the rest of the page. The chart's figures in words (`described`) are shown
 * under it, so nothing is only in the picture.
 */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var W = 560;
  var H = 210;
  var PAD = { left: 44, right: 16, top: 14, bottom: 46 };

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (attrs[key] !== null && attrs[key] !== undefined) node.setAttribute(key, String(attrs[key]));
    });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }

  /** A figure as the digest writes it: at most one decimal, no trailing ".0". */
  function figure(value) {
    var rounded = Math.round(value * 10) / 10;
    return String(rounded);
  }

  function short(text, limit) {
    text = String(text);
    return text.length > limit ? text.slice(0, limit - 1) + "…" : text;
  }

  /** The y range: the chart's own bounds, else from 0 (or the lowest figure) to a round top. */
  function domain(chart) {
    var all = [];
    (chart.series || []).forEach(function (s) { all = all.concat(s.values || []); });
    var lo = chart.y_min !== null && chart.y_min !== undefined ? chart.y_min : Math.min(0, Math.min.apply(null, all));
    var hi = chart.y_max !== null && chart.y_max !== undefined ? chart.y_max : Math.max.apply(null, all);
    if (!isFinite(lo)) lo = 0;
    if (!isFinite(hi) || hi <= lo) hi = lo + 1;
    if (chart.y_max === null || chart.y_max === undefined) {
      var step = Math.pow(10, Math.floor(Math.log10(hi - lo)));
      hi = Math.ceil(hi / step) * step;
    }
    return [lo, hi];
  }

  function ticks(lo, hi) {
    var out = [];
    for (var i = 0; i <= 5; i++) out.push(lo + ((hi - lo) * i) / 5);
    return out;
  }

  /** The frame shared by every kind: the y axis with its ticks and title. */
  function frame(root, chart, lo, hi, y) {
    ticks(lo, hi).forEach(function (t) {
      add(root,
        svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(t), y2: y(t), "class": "grid" }),
        svg("text", { x: PAD.left - 6, y: y(t) + 4, "text-anchor": "end", "class": "tick" }, figure(t)));
    });
    if (chart.y_label) {
      add(root, svg("text", {
        x: 12, y: PAD.top + (H - PAD.top - PAD.bottom) / 2, "class": "axis-title",
        transform: "rotate(-90 12 " + (PAD.top + (H - PAD.top - PAD.bottom) / 2) + ")", "text-anchor": "middle",
      }, chart.y_label));
    }
    if (chart.threshold !== null && chart.threshold !== undefined && chart.kind !== "map") {
      add(root, svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(chart.threshold), y2: y(chart.threshold), "class": "threshold" }));
    }
  }

  function categoryLabels(root, chart, x) {
    (chart.categories || []).forEach(function (c, i) {
      var label = svg("text", { x: x(i), y: H - PAD.bottom + 16, "text-anchor": "middle", "class": "tick category" }, short(c, 14));
      add(label, svg("title", null, c));
      add(root, label);
    });
    if (chart.x_label) {
      add(root, svg("text", { x: (PAD.left + W - PAD.right) / 2, y: H - 6, "text-anchor": "middle", "class": "axis-title" }, chart.x_label));
    }
  }

  function point(cx, cy, n, tip, testid) {
    var dot = svg("circle", { cx: cx, cy: cy, r: 4, "class": "point series-" + n, "data-testid": testid });
    add(dot, svg("title", null, tip));
    return dot;
  }

  function lineChart(root, chart) {
    var d = domain(chart);
    var plotH = H - PAD.top - PAD.bottom;
    var y = function (v) { return PAD.top + plotH - ((v - d[0]) / (d[1] - d[0])) * plotH; };
    var n = (chart.categories || []).length;
    var span = W - PAD.left - PAD.right - 40;
    var x = function (i) { return PAD.left + 20 + (n > 1 ? (span * i) / (n - 1) : span / 2); };
    frame(root, chart, d[0], d[1], y);
    categoryLabels(root, chart, x);
    (chart.series || []).forEach(function (s, k) {
      var points = (s.values || []).map(function (v, i) { return x(i) + "," + y(v); }).join(" ");
      add(root, svg("polyline", { points: points, "class": "line series-" + k, "data-testid": "chart-line" }));
      (s.values || []).forEach(function (v, i) {
        add(root, point(x(i), y(v), k, s.name + ", " + chart.categories[i] + ": " + figure(v), "chart-point"));
      });
    });
  }

  function barChart(root, chart) {
    var d = domain(chart);
    var plotH = H - PAD.top - PAD.bottom;
    var y = function (v) { return PAD.top + plotH - ((v - d[0]) / (d[1] - d[0])) * plotH; };
    var n = Math.max(1, (chart.categories || []).length);
    var slot = (W - PAD.left - PAD.right) / n;
    var x = function (i) { return PAD.left + slot * i + slot / 2; };
    frame(root, chart, d[0], d[1], y);
    categoryLabels(root, chart, x);
    var series = chart.series || [];
    var barW = Math.min(28, (slot * 0.7) / Math.max(1, series.length));
    series.forEach(function (s, k) {
      (s.values || []).forEach(function (v, i) {
        var left = x(i) - (barW * series.length) / 2 + barW * k;
        var rect = svg("rect", {
          x: left, y: Math.min(y(v), y(d[0])), width: barW - 2, height: Math.abs(y(d[0]) - y(v)),
          "class": "bar series-" + k, "data-testid": "chart-bar",
        });
        add(rect, svg("title", null, s.name + ", " + chart.categories[i] + ": " + figure(v)));
        add(root, rect);
      });
    });
  }

  /** The maturity map: x is the external mean, y the internal one, both on the same scale. */
  function mapChart(root, chart) {
    var lo = chart.y_min !== null && chart.y_min !== undefined ? chart.y_min : 0;
    var hi = chart.y_max !== null && chart.y_max !== undefined ? chart.y_max : 5;
    var internal = (chart.series[0] && chart.series[0].values) || [];
    var external = (chart.series[1] && chart.series[1].values) || [];
    var plotH = H - PAD.top - PAD.bottom;
    var plotW = W - PAD.left - PAD.right;
    var y = function (v) { return PAD.top + plotH - ((v - lo) / (hi - lo)) * plotH; };
    var x = function (v) { return PAD.left + ((v - lo) / (hi - lo)) * plotW; };
    var yLabelled = { kind: "map", y_label: chart.series[0] ? chart.series[0].name : null };
    frame(root, yLabelled, lo, hi, y);
    ticks(lo, hi).forEach(function (t) {
      add(root, svg("text", { x: x(t), y: H - PAD.bottom + 16, "text-anchor": "middle", "class": "tick" }, figure(t)));
    });
    if (chart.series[1]) {
      add(root, svg("text", { x: PAD.left + plotW / 2, y: H - 6, "text-anchor": "middle", "class": "axis-title" }, chart.series[1].name));
    }
    if (chart.threshold !== null && chart.threshold !== undefined) {
      add(root,
        svg("line", { x1: x(chart.threshold), x2: x(chart.threshold), y1: PAD.top, y2: PAD.top + plotH, "class": "threshold" }),
        svg("line", { x1: PAD.left, x2: PAD.left + plotW, y1: y(chart.threshold), y2: y(chart.threshold), "class": "threshold" }));
    }
    (chart.categories || []).forEach(function (c, i) {
      var cx = x(external[i] || 0);
      var cy = y(internal[i] || 0);
      add(root, point(cx, cy, 0, c + ": " + figure(internal[i] || 0) + " / " + figure(external[i] || 0), "map-point"));
      var right = cx < PAD.left + plotW * 0.7;
      add(root, svg("text", {
        x: right ? cx + 7 : cx - 7, y: cy - 6 - (i % 2) * 9, "text-anchor": right ? "start" : "end", "class": "point-label",
      }, short(c, 22)));
    });
  }

  function legend(chart) {
    var box = document.createElement("div");
    box.className = "chart-legend";
    if (chart.kind === "map") return box;
    (chart.series || []).forEach(function (s, k) {
      var item = document.createElement("span");
      item.className = "legend-item";
      var swatch = document.createElement("span");
      swatch.className = "swatch series-" + k;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(s.name));
      box.appendChild(item);
    });
    return box;
  }

  /** The SVG picture and its legend for one Chart section (figures in words come after). */
  function draw(chart) {
    var root = svg("svg", {
      viewBox: "0 0 " + W + " " + H, role: "img", "class": "chart-svg kind-" + chart.kind,
      "data-testid": "chart-svg", "aria-label": chart.title,
    });
    add(root, svg("title", null, chart.title));
    if (chart.kind === "map") mapChart(root, chart);
    else if (chart.kind === "bars") barChart(root, chart);
    else lineChart(root, chart);
    return [root, legend(chart)];
  }

  window.StrategyCharts = { draw: draw };
})();
