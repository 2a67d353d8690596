/*
 * strategy-bot local console: a chat page in vanilla JavaScript.
 *
 * Why vanilla: no build step and no CDN, because the console is the default on an offline
 * machine and ships inside the Python package as four static files (charts.js draws the
 * digest's charts as SVG).
 *
 * What the page does not do: decide what a message says. Each bot entry of the feed carries
 * its view (`bot.presentation`): headings, contexts, paragraphs, bars, quotes, facts,
 * inputs and buttons, worded and numbered once on the server for Slack, Teams and this page
 * alike. `renderView` only lays those sections out in HTML, with real bars, badges and
 * forms. Moments are shown in the browser's own time zone.
 *
 * Safety rule: every piece of text that came from a user or the bot is put on the page
 * with textContent / createTextNode (through `el` below), never innerHTML, so a
 * stakeholder typing <script> or <img onerror=...> sees exactly that text.
 */
(function () {
  "use strict";

  var API = "/console/api/";
  var CIO_CHANNEL = "console:#cio";
  var POLL_MS = 1000;
  // The page's own element per view kind (the tests and the stylesheet know them).
  var VIEW_TESTIDS = { notice: "notice", prompt: "prompt", form: "answer-form", summary: "summary", digest: "digest", file: "file" };
  var state = {
    people: [],
    channels: [],
    person: null, // address of "You are"
    current: null, // address of the open conversation
    lastId: 0, // newest entry id fetched for `current`
    seen: {}, // address -> newest id the user has looked at (unread marks)
    latest: {}, // address -> newest id on the server
    polling: false,
    generation: 0, // bumps when the conversation changes, to drop stale responses
  };

  // ---------------------------------------------------------------- DOM helpers

  /** Build an element; string children become text nodes (never parsed as HTML). */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === "className") node.className = value;
        else if (key === "testid") node.setAttribute("data-testid", value);
        else if (key === "onclick") node.addEventListener("click", value);
        else if (key === "onchange") node.addEventListener("change", value);
        else if (key === "onsubmit") node.addEventListener("submit", value);
        else if (key === "checked" || key === "disabled") node[key] = Boolean(value);
        else if (key === "value") node.value = String(value);
        else node.setAttribute(key, String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) {
      child.forEach(function (c) { append(node, c); });
    } else if (typeof child === "string" || typeof child === "number") {
      node.appendChild(document.createTextNode(String(child)));
    } else {
      node.appendChild(child);
    }
  }

  function $(id) { return document.getElementById(id); }

  function uuid4() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); });
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") +
      "-" + h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }

  function formatTime(iso, withDate) {
    if (!iso) return "";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    var opts = withDate
      ? { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }
      : { hour: "2-digit", minute: "2-digit" };
    return d.toLocaleString(undefined, opts);
  }

  function personName(address) {
    for (var i = 0; i < state.people.length; i++) {
      if (state.people[i].address === address) return state.people[i].name;
    }
    return address || "someone";
  }

  function conversationName(address) {
    if (address === CIO_CHANNEL) return "#cio";
    return personName(address);
  }

  // ---------------------------------------------------------------- API

  function showStatus(text, isError) {
    var box = $("status");
    box.textContent = text || "";
    box.hidden = !text;
    box.className = "status" + (isError ? " error" : "");
    if (isError) box.setAttribute("data-testid", "error-banner");
    else box.setAttribute("data-testid", "status");
  }

  function getJSON(path) {
    return fetch(path, { headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body && body.error ? body.error : "HTTP " + r.status);
        return body;
      });
    });
  }

  /** POST to the API; shows the server's specific error, retries once on a network error. */
  function post(path, payload) {
    payload.as = state.person;
    payload.id = payload.id || uuid4();
    if (state.current === CIO_CHANNEL) payload["in"] = CIO_CHANNEL;
    var attempt = function (retries) {
      return fetch(API + path, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(payload),
      }).catch(function (err) {
        if (retries > 0) return attempt(retries - 1); // same id: the server replays, no duplicate
        throw err;
      });
    };
    return attempt(1).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) throw new Error(body && body.error ? body.error : "The console server answered " + r.status + ".");
        showStatus("");
        (body.entries || []).forEach(function (entry) {
          if (entry.address === state.current) renderEntry(entry);
        });
        return body;
      });
    }).catch(function (err) {
      showStatus(err && err.message ? err.message : "Could not reach the console server.", true);
      throw err;
    });
  }

  function sendText(text, asCommand) {
    return post("message", { text: text, command: Boolean(asCommand) });
  }

  function sendAction(action, roundId, value, questionId) {
    var payload = { action: action, round_id: roundId };
    if (value !== undefined && value !== null) payload.value = String(value);
    if (questionId) payload.question_id = questionId;
    return post("action", payload);
  }

  /** An answer button: names the round and question it was shown with. */
  function sendAnswer(roundId, questionId, value) {
    return post("answer", { round_id: roundId, question_id: questionId, value: String(value) });
  }

  /** Disable a group of buttons while a request runs; re-enable them if it fails. */
  function busy(container, promise) {
    var controls = container.querySelectorAll("button, input, select, textarea");
    controls.forEach(function (c) { c.disabled = true; });
    return promise.then(function () {
      container.classList.add("used");
    }, function () {
      controls.forEach(function (c) { c.disabled = false; });
    });
  }

  // ---------------------------------------------------------------- rendering

  function renderEntry(entry) {
    var transcript = $("transcript");
    if (transcript.querySelector('[data-entry-id="' + Number(entry.id) + '"]')) return;
    var node = buildEntry(entry);
    // Keep entries ordered by id whichever response brought them first.
    var after = null;
    var children = transcript.children;
    for (var i = 0; i < children.length; i++) {
      if (Number(children[i].getAttribute("data-entry-id")) > entry.id) { after = children[i]; break; }
    }
    var nearBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
    transcript.insertBefore(node, after);
    var empty = transcript.querySelector(".empty");
    if (empty) empty.remove();
    if (nearBottom || entry.from === "user") transcript.scrollTop = transcript.scrollHeight;
  }

  function buildEntry(entry) {
    var fromBot = entry.from === "bot";
    var kind = fromBot ? (entry.message && entry.message.kind) || "unknown" : entry.kind || "text";
    var who = fromBot ? "strategy-bot" : personName(entry.actor);
    var body;
    try {
      body = fromBot ? (entry.view ? renderView(entry.view) : cannotShow(kind)) : renderUser(entry);
    } catch (err) {
      body = el("div", { className: "notice error" }, "This message could not be shown: " + err.message);
    }
    return el("article", {
      className: "entry from-" + (fromBot ? "bot" : "user") + " kind-" + kind,
      testid: "entry",
      "data-entry-id": entry.id,
      "data-from": fromBot ? "bot" : "user",
      "data-kind": kind,
    },
      el("div", { className: "avatar", "aria-hidden": "true" }, fromBot ? "◆" : who.charAt(0).toUpperCase()),
      el("div", { className: "entry-main" },
        el("div", { className: "meta" },
          el("span", { className: "who" }, who),
          el("time", { datetime: entry.at }, formatTime(entry.at))),
        body));
  }

  function cannotShow(kind) {
    return el("div", { className: "card notice" }, "(a " + String(kind) + " message this console cannot show)");
  }

  function renderUser(entry) {
    var cls = "user-text" + (entry.kind === "command" ? " command" : "") +
      (entry.kind === "action" || entry.kind === "form" ? " action" : "");
    return el("div", { className: cls, testid: "user-text" }, entry.text || "");
  }

  // ---------------------------------------------------------------- views

  function bar(fraction, testid) {
    var fill = el("span", { className: "bar-fill" });
    fill.style.width = Math.max(0, Math.min(1, fraction || 0)) * 100 + "%";
    return el("span", { className: "bar", testid: testid || "bar" }, fill);
  }

  function setData(node, data) {
    Object.keys(data || {}).forEach(function (key) { node.setAttribute("data-" + key, String(data[key])); });
    return node;
  }

  /** A bot message, laid out from the sections of its view. */
  function renderView(view) {
    var isForm = view.kind === "form";
    var root = el(isForm ? "form" : "div", {
      className: "card " + view.kind + (view.tone ? " level-" + view.tone : ""),
      testid: VIEW_TESTIDS[view.kind] || "view",
      novalidate: isForm ? "novalidate" : null,
    });
    setData(root, view.data);
    (view.sections || []).forEach(function (section) { append(root, renderSection(section)); });
    if (view.kind === "file" && view.data) {
      // An export: built by the server when followed, for the person it was made for only.
      var href = "/console/api/file?as=" + encodeURIComponent(view.data["for"] || "") +
        "&token=" + encodeURIComponent(view.data.token || "");
      append(root, el("div", { className: "actions" },
        el("a", { className: "button primary", href: href, download: view.data.filename || "", testid: "file-download" },
          view.data.download || "Download")));
    }
    if (isForm) {
      root.addEventListener("submit", function (ev) {
        ev.preventDefault();
        submitForm(root, view);
      });
    }
    return root;
  }

  function renderSection(s) {
    switch (s.type) {
      case "heading":
        return el("h" + (Number(s.level) + 1), { className: "heading level-" + s.level, testid: s.role }, s.text);
      case "context":
        return el("div", { className: "context", testid: s.role }, joined((s.parts || []).map(inline), " · "));
      case "badges":
        return el("div", { className: "badges" }, (s.items || []).map(function (b) {
          return el("span", { className: "badge tone-" + b.tone, testid: b.role }, b.text);
        }));
      case "paragraph":
        return el("p", { className: "paragraph" + (s.tone ? " note tone-" + s.tone : ""), testid: s.role }, inline(s.text));
      case "bars": return renderBars(s);
      case "quote":
        return el("div", { className: "quote-row", testid: s.role },
          el("span", { className: "quote" }, s.text),
          s.who ? el("span", { className: "author" }, " — " + s.who) : null);
      case "facts": return renderFacts(s);
      case "actions":
        return el("div", { className: "actions", testid: s.role }, (s.buttons || []).map(function (b) { return renderButton(b); }));
      case "inputs": return renderInputs(s);
      case "field": return renderField(s);
      case "submit":
        return el("div", { className: "actions" },
          el("button", { type: "submit", className: "primary", testid: "form-submit" }, s.label));
      case "divider": return el("hr", { className: "divider" });
      case "group":
        return setData(el(s.separator ? "section" : "div", { className: "group role-" + (s.role || "none"), testid: s.role },
          (s.sections || []).map(renderSection)), s.data);
      case "chart": return renderChart(s);
      case "table": return renderTable(s);
      case "details":
        // Closed by default: the one-screen summary first, the long part on demand.
        return el("details", { className: "details", testid: s.role || "details" },
          el("summary", { testid: "details-toggle" }, s.label),
          el("div", { className: "details-body" }, (s.sections || []).map(renderSection)));
      default: return null; // a section this page does not know yet: nothing to show
    }
  }

  /** A chart (`charts.js` draws the SVG), its title, and its figures in words under it. */
  function renderChart(s) {
    var drawn = window.StrategyCharts ? window.StrategyCharts.draw(s) : [];
    return el("figure", { className: "chart", testid: s.role || "chart", "data-kind": s.kind },
      el("figcaption", { className: "chart-title" }, s.title),
      drawn,
      (s.described || []).length
        // The map's figures are the summary table's Internal and External columns, and each
        // point tells its own on hover: there the words are for screen readers only.
        ? el("ul", { className: "chart-figures" + (s.kind === "map" ? " sr-only" : ""), testid: "chart-figures" }, s.described.map(function (d) {
          return el("li", null, inline(d));
        }))
        : null);
  }

  /** A table of figures: the summary's one row per conversation. */
  function renderTable(s) {
    var head = el("thead", null, el("tr", null, (s.columns || []).map(function (c) {
      return el("th", { scope: "col" }, c);
    })));
    var body = el("tbody", null, (s.rows || []).map(function (r) {
      return setData(el("tr", { testid: (s.role || "table") + "-row" }, (r.cells || []).map(function (c, i) {
        return el(i ? "td" : "th", i ? null : { scope: "row" }, inline(c.text),
          c.sub ? el("span", { className: "cell-sub" }, inline(c.sub)) : null);
      })), r.data);
    }));
    return el("div", { className: "table-wrap" }, el("table", { className: "figures", testid: s.role }, head, body));
  }

  /** Inline text: spans (plain, strong, subtle, a change arrow) and moments. */
  function inline(parts) {
    return (parts || []).map(function (p) {
      if (p.type === "moment") return el("time", { datetime: p.at }, formatTime(p.at, true));
      var cls = (p.style === "subtle" ? "sub" : "") + (p.change ? " delta " + p.change : "");
      if (p.style !== "strong" && !cls && !p.role) return p.text;
      return el(p.style === "strong" ? "strong" : "span", { className: cls.trim() || null, testid: p.role }, p.text);
    });
  }

  function joined(pieces, separator) {
    var out = [];
    pieces.forEach(function (piece, i) {
      if (i) out.push(separator);
      out.push(piece);
    });
    return out;
  }

  function renderBars(s) {
    return el("div", { className: "bars", testid: s.role }, (s.rows || []).map(function (r) {
      return el("div", { className: "bar-row", testid: r.role },
        el("span", { className: "bar-label" }, r.label),
        bar(r.whole ? r.part / r.whole : 0, s.role ? s.role + "-bar" : "bar"),
        el("span", { className: "bar-value" }, inline(r.value)),
        r.note ? el("span", { className: "missing" }, inline(r.note)) : null);
    }));
  }

  function renderFacts(s) {
    return el("dl", { className: "answers", testid: s.role }, (s.rows || []).map(function (f) {
      return setData(el("div", { className: "answer-row", testid: f.role },
        el("dt", null, f.label),
        el("dd", null,
          el("span", { className: "answer-text" + (f.quoted ? " quoted" : "") }, inline(f.value)),
          f.button ? renderButton(f.button, "link") : null)), f.data);
    }));
  }

  /** A button names the round (and question) it was shown with; the server acts on those. */
  function renderButton(b, cls) {
    var node = el("button", {
      type: "button",
      className: cls || (b.primary ? "primary" : "secondary"),
      testid: b.action === "edit" ? "edit-" + b.value : "action-" + b.action,
      onclick: function () {
        var group = node.closest(".actions") || node.closest(".answers") || node.closest(".card");
        busy(group, sendAction(b.action, b.round_id, b.value, b.question_id));
      },
    }, b.label);
    return node;
  }

  function renderInputs(s) {
    var box = el("div", { className: "answer-inputs", testid: "answer-inputs", "data-type": s.question_type });
    var answer = function (text) { busy(box, sendAnswer(s.round_id, s.question_id, text)); };
    var options = s.options || [];
    if (s.widget === "text") {
      if (s.hint) append(box, el("p", { className: "hint", testid: "reply-hint" }, s.hint));
    } else if (s.widget === "number") {
      var figure = el("input", { type: "number", step: "any", className: "figure", testid: "number-input", placeholder: s.placeholder || "" });
      append(box, figure);
      append(box, el("button", {
        type: "button", className: "primary", testid: "number-send",
        onclick: function () { if (figure.value !== "") answer(figure.value); },
      }, s.submit));
    } else if (s.widget === "scale") {
      options.forEach(function (o) {
        append(box, el("button", {
          type: "button", className: "rating", testid: "rating-button-" + o.short, title: o.caption,
          onclick: function () { answer(o.answer); },
        }, el("span", { className: "rating-n" }, o.short),
          o.caption ? el("span", { className: "rating-label" }, o.caption) : null));
      });
    } else if (s.widget === "one") {
      options.forEach(function (o) {
        append(box, el("button", {
          type: "button", className: "choice", "data-index": o.number,
          testid: s.question_type === "yes_no" ? o.answer + "-button" : "choice-button",
          onclick: function () { answer(o.answer); },
        }, o.label));
      });
    } else if (s.widget === "many") {
      var list = el("div", { className: "checks" });
      options.forEach(function (o) {
        append(list, el("label", { className: "check" },
          el("input", { type: "checkbox", value: String(o.number), testid: "choice-checkbox", "data-option": o.answer }),
          " ", o.label));
      });
      append(box, list);
      append(box, el("button", {
        type: "button", className: "primary", testid: "multi-send",
        onclick: function () {
          var picked = Array.prototype.filter.call(list.querySelectorAll("input"), function (c) { return c.checked; });
          if (!picked.length) { showStatus(s.choose_first, true); return; }
          var names = picked.map(function (c) { return c.getAttribute("data-option"); });
          // The engine splits on commas; options that contain one are sent by number.
          var needNumbers = names.some(function (n) { return n.indexOf(",") >= 0; });
          answer(needNumbers ? picked.map(function (c) { return c.value; }).join(", ") : names.join(", "));
        },
      }, s.submit));
    }
    return box;
  }

  function renderField(s) {
    return el("fieldset", { className: "field" + (s.error ? " has-error" : ""), testid: "form-field", "data-question-id": s.question_id },
      el("legend", null, s.label, s.required ? el("span", { className: "req", title: s.required_message }, " *") : null),
      s.help ? el("p", { className: "help" }, s.help) : null,
      fieldInputs(s),
      s.error ? el("p", { className: "field-error", testid: "field-error-" + s.question_id }, s.error) : null);
  }

  function fieldInputs(s) {
    var name = "q-" + s.question_id;
    var inputs = el("div", { className: "field-inputs" });
    var chosen = function (o) { return (s.selected || []).indexOf(o.number) >= 0; };
    if (s.widget === "text") {
      append(inputs, el("textarea", { name: name, rows: 3, maxlength: 40000, testid: "field-" + s.question_id, value: s.text || "" }));
      return inputs;
    }
    if (s.widget === "number") {
      append(inputs, el("input", { type: "number", step: "any", name: name, testid: "field-" + s.question_id, value: s.text || "", placeholder: s.placeholder || "" }));
      return inputs;
    }
    (s.options || []).forEach(function (o) {
      var many = s.widget === "many";
      append(inputs, el("label", { className: many ? "check" : "radio" },
        el("input", {
          type: many ? "checkbox" : "radio", name: name, value: o.answer, checked: chosen(o),
          testid: "field-" + s.question_id + "-" + (many ? "option" : o.answer),
        }),
        " ", o.label));
    });
    return inputs;
  }

  /** A field's value as the engine takes it: text, a list, a number (rating) or a bool. */
  function readField(form, s) {
    var name = "q-" + s.question_id;
    var nodes = Array.prototype.filter.call(form.elements, function (e) { return e.name === name; });
    if (s.widget === "text" || s.widget === "number") {
      var t = nodes.length ? nodes[0].value : "";
      return t.trim() ? t : null;
    }
    if (s.widget === "many") {
      return nodes.filter(function (n) { return n.checked; }).map(function (n) { return n.value; });
    }
    var picked = nodes.filter(function (n) { return n.checked; })[0];
    if (!picked) return null;
    if (s.question_type === "rating") return Number(picked.value);
    if (s.question_type === "yes_no") return picked.value === "yes";
    return picked.value;
  }

  function submitForm(form, view) {
    var out = {};
    var roundId = null;
    (view.sections || []).forEach(function (s) {
      if (s.type === "field") out[s.question_id] = readField(form, s);
      if (s.type === "submit") roundId = s.round_id;
    });
    busy(form, post("form", { round_id: roundId, values: out }));
  }

  // ---------------------------------------------------------------- sidebar and polling

  function renderSidebar() {
    var channels = $("channel-list");
    var dms = $("dm-list");
    channels.textContent = "";
    dms.textContent = "";
    var item = function (address, label, sub, testid) {
      var unread = (state.latest[address] || 0) > (state.seen[address] || 0) && address !== state.current;
      return el("li", null, el("button", {
        type: "button",
        className: "conv" + (address === state.current ? " active" : "") + (unread ? " unread" : ""),
        testid: testid, "data-address": address,
        "aria-current": address === state.current ? "true" : null,
        onclick: function () { openConversation(address); },
      }, el("span", { className: "conv-name" }, label),
        sub ? el("span", { className: "conv-sub" }, sub) : null,
        unread ? el("span", { className: "dot", testid: "unread-dot", "aria-label": "unread" }) : null));
    };
    (state.channels.length ? state.channels : [{ address: CIO_CHANNEL, name: "#cio" }]).forEach(function (c) {
      append(channels, item(c.address, c.name + " channel", null, "channel-" + c.address.replace(/^console:#?/, "")));
    });
    state.people.forEach(function (p) {
      append(dms, item(p.address, p.name, p.role, "dm-" + p.address.replace(/^console:/, "")));
    });
  }

  function openConversation(address) {
    if (address !== CIO_CHANNEL && address !== state.person) {
      // A DM is between the bot and one person: opening it means acting as them.
      setPerson(address);
      return;
    }
    state.current = address;
    state.lastId = 0;
    state.generation++;
    var transcript = $("transcript");
    transcript.textContent = "";
    append(transcript, el("p", { className: "empty", testid: "empty" }, "Nothing here yet."));
    $("conversation-title").textContent = address === CIO_CHANNEL ? "#cio channel" : "Direct messages · " + conversationName(address);
    $("conversation-sub").textContent = address === CIO_CHANNEL
      ? "Digests for the CIO; " + personName(state.person) + " is typing here."
      : "Between strategy-bot and " + conversationName(address) + ".";
    showStatus("");
    try { localStorage.setItem("console.current", address); } catch (e) { /* private mode */ }
    renderSidebar();
    poll();
    $("message-input").focus();
  }

  function setPerson(address) {
    state.person = address;
    $("person-select").value = address;
    try { localStorage.setItem("console.person", address); } catch (e) { /* private mode */ }
    openConversation(address);
  }

  function poll() {
    if (!state.current || state.polling) return;
    state.polling = true;
    var generation = state.generation;
    var address = state.current;
    Promise.all([
      getJSON(API + "feed?address=" + encodeURIComponent(address) + "&after=" + state.lastId),
      getJSON(API + "latest"),
    ]).then(function (results) {
      if (generation !== state.generation) return;
      var entries = results[0].entries || [];
      entries.forEach(function (e) {
        renderEntry(e);
        state.lastId = Math.max(state.lastId, e.id);
      });
      state.latest = results[1].latest || {};
      state.seen[address] = Math.max(state.seen[address] || 0, state.latest[address] || 0, state.lastId);
      renderSidebar();
      if ($("status").classList.contains("offline")) showStatus("");
      if (entries.length >= 500) setTimeout(poll, 0); // more pages waiting
    }).catch(function () {
      var box = $("status");
      showStatus("The console server is not answering; retrying…", true);
      box.classList.add("offline");
    }).then(function () {
      state.polling = false;
    });
  }

  // ---------------------------------------------------------------- composer

  function submitComposer() {
    var input = $("message-input");
    var text = input.value;
    if (!text.trim()) { showStatus("Type a message first.", true); return; }
    var asCommand = $("command-toggle").checked || /^\/strategy(\s|$)/.test(text.trim());
    var button = $("send-button");
    button.disabled = true;
    sendText(text, asCommand).then(function () {
      input.value = "";
    }, function () { /* the error is shown; keep the text so nothing is lost */ }).then(function () {
      button.disabled = false;
      input.focus();
    });
  }

  function init() {
    $("composer").addEventListener("submit", function (ev) { ev.preventDefault(); submitComposer(); });
    $("message-input").addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submitComposer(); }
    });
    $("person-select").addEventListener("change", function (ev) { setPerson(ev.target.value); });
    getJSON(API + "people").then(function (body) {
      state.people = body.people || [];
      state.channels = body.channels || [];
      var select = $("person-select");
      state.people.forEach(function (p) {
        append(select, el("option", { value: p.address }, p.name + (p.role ? " — " + p.role : "")));
      });
      var saved = null;
      try { saved = localStorage.getItem("console.person"); } catch (e) { saved = null; }
      var known = state.people.some(function (p) { return p.address === saved; });
      if (!state.people.length) { showStatus("No people are configured for the console.", true); return; }
      setPerson(known ? saved : state.people[0].address);
      setInterval(poll, POLL_MS);
    }).catch(function (err) {
      showStatus("Could not load the console: " + err.message, true);
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
