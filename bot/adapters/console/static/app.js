/*
 * strategy-bot local console: a chat page in vanilla JavaScript.
 *
 * Why vanilla: no build step and no CDN, because the console is the default on an offline
 * machine and ships inside the Python package as three static files.
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
  var ACTION_LABELS = {
    answer_now: "Answer now",
    answer_all: "Answer all in a form",
    skip_question: "Skip question",
    skip_round: "Skip round",
    snooze: "Snooze 2h",
    review: "Review my answers",
  };

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

  function fmtNumber(x, digits) {
    if (x === null || x === undefined) return "–";
    return Number(x).toFixed(digits === undefined ? 1 : digits);
  }

  /** ▲/▼ against a previous value; `null` when there is nothing to compare. */
  function change(now, before, digits, unit) {
    if (now === null || now === undefined || before === null || before === undefined) return null;
    var delta = now - before;
    var text = Math.abs(delta).toFixed(digits === undefined ? 1 : digits) + (unit || "");
    if (Math.abs(delta) < 1e-9) return el("span", { className: "delta same", testid: "delta" }, "= " + text);
    return el("span", {
      className: "delta " + (delta > 0 ? "up" : "down"),
      testid: "delta",
      title: "compared with the previous round",
    }, (delta > 0 ? "▲ " : "▼ ") + text);
  }

  function bar(fraction, testid) {
    var fill = el("span", { className: "bar-fill" });
    fill.style.width = Math.max(0, Math.min(1, fraction || 0)) * 100 + "%";
    return el("span", { className: "bar", testid: testid || "bar" }, fill);
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
      body = fromBot ? renderMessage(entry.message || {}) : renderUser(entry);
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

  function renderUser(entry) {
    var cls = "user-text" + (entry.kind === "command" ? " command" : "") +
      (entry.kind === "action" || entry.kind === "form" ? " action" : "");
    return el("div", { className: cls, testid: "user-text" }, entry.text || "");
  }

  function renderMessage(message) {
    switch (message.kind) {
      case "notice": return renderNotice(message);
      case "prompt": return renderPrompt(message);
      case "form": return renderForm(message);
      case "summary": return renderSummary(message);
      case "digest": return renderDigest(message.digest || {});
      default: return el("div", { className: "notice" }, "(a " + String(message.kind) + " message this console cannot show)");
    }
  }

  function renderNotice(m) {
    return el("div", { className: "card notice level-" + (m.level || "info"), testid: "notice", "data-level": m.level || "info" },
      m.title ? el("div", { className: "notice-title", testid: "notice-title" }, m.title) : null,
      (m.lines || []).map(function (line) { return el("p", { className: "notice-line" }, line); }));
  }

  function roundHeader(title, roundNumber, deadline) {
    return el("div", { className: "card-head" },
      el("span", { className: "conv-title", testid: "conversation-name" }, title),
      roundNumber ? el("span", { className: "pill", testid: "round-number" }, "Round " + roundNumber) : null,
      deadline ? el("span", { className: "deadline", testid: "deadline" }, "Due " + formatTime(deadline, true)) : null);
  }

  function renderPrompt(m) {
    var q = m.question || {};
    var card = el("div", { className: "card prompt", testid: "prompt", "data-round-id": m.round_id, "data-question-id": q.id });
    append(card, roundHeader(m.conversation_title, m.round_number, m.deadline));
    var badges = el("div", { className: "badges" },
      m.opening ? el("span", { className: "badge new", testid: "opening-badge" }, "New round") : null,
      m.reminder ? el("span", { className: "badge reminder", testid: "reminder-badge" }, "Reminder") : null);
    if (badges.childNodes.length) append(card, badges);
    if (m.opening && m.purpose) append(card, el("p", { className: "purpose", testid: "purpose" }, m.purpose));
    if (m.note) append(card, el("p", { className: "note", testid: "prompt-note" }, m.note));
    if (m.waiting_for) {
      // Announced while another round is answered: buttons, but no question to reply to.
      append(card, el("p", { className: "note waiting", testid: "waiting-note" },
        "You're answering " + m.waiting_for + " first; this round's questions come when you finish it." +
        " Press Answer now to switch, or answer everything at once in the form."));
      append(card, promptActions(m, q));
      return card;
    }
    append(card, el("div", { className: "q-index" },
      "Question " + q.index + " of " + q.total + (q.required ? "" : " · optional")));
    append(card, el("p", { className: "question", testid: "question-text" }, q.text || ""));
    if (q.help) append(card, el("p", { className: "help" }, q.help));
    append(card, questionInputs(m, q));
    var actions = promptActions(m, q);
    if (actions.childNodes.length) append(card, actions);
    return card;
  }

  function promptActions(m, q) {
    var actions = el("div", { className: "actions", testid: "prompt-actions" });
    (m.actions || []).forEach(function (a) {
      if (a === "skip_question" && q.required) return;
      var button = el("button", {
        type: "button", className: "secondary", testid: "action-" + a,
        onclick: function () {
          busy(actions, sendAction(a, m.round_id, a === "snooze" ? "2h" : null,
            a === "skip_question" ? q.id : null));
        },
      }, ACTION_LABELS[a] || a);
      append(actions, button);
    });
    return actions;
  }

  function questionInputs(m, q) {
    var box = el("div", { className: "answer-inputs", testid: "answer-inputs", "data-type": q.type });
    var answer = function (text) { busy(box, sendAnswer(m.round_id, q.id, text)); };
    if (q.type === "rating") {
      var labels = q.labels || {};
      for (var n = 1; n <= 5; n++) {
        (function (value) {
          var label = labels[value] || labels[String(value)];
          append(box, el("button", {
            type: "button", className: "rating", testid: "rating-button-" + value, title: label || null,
            onclick: function () { answer(String(value)); },
          }, el("span", { className: "rating-n" }, String(value)),
            label ? el("span", { className: "rating-label" }, label) : null));
        })(n);
      }
    } else if (q.type === "single_choice") {
      (q.options || []).forEach(function (option, i) {
        append(box, el("button", {
          type: "button", className: "choice", testid: "choice-button", "data-index": i + 1,
          onclick: function () { answer(option); },
        }, option));
      });
    } else if (q.type === "multiple_choice") {
      var list = el("div", { className: "checks" });
      (q.options || []).forEach(function (option, i) {
        append(list, el("label", { className: "check" },
          el("input", { type: "checkbox", value: String(i + 1), testid: "choice-checkbox", "data-option": option }),
          " ", option));
      });
      append(box, list);
      append(box, el("button", {
        type: "button", className: "primary", testid: "multi-send",
        onclick: function () {
          var picked = Array.prototype.filter.call(list.querySelectorAll("input"), function (c) { return c.checked; });
          if (!picked.length) { showStatus("Tick at least one option, then Send.", true); return; }
          var names = picked.map(function (c) { return c.getAttribute("data-option"); });
          // The engine splits on commas; options that contain one are sent by number.
          var needNumbers = names.some(function (n) { return n.indexOf(",") >= 0; });
          answer(needNumbers ? picked.map(function (c) { return c.value; }).join(", ") : names.join(", "));
        },
      }, "Send"));
    } else if (q.type === "yes_no") {
      append(box, el("button", { type: "button", className: "choice", testid: "yes-button", onclick: function () { answer("yes"); } }, "Yes"));
      append(box, el("button", { type: "button", className: "choice", testid: "no-button", onclick: function () { answer("no"); } }, "No"));
    } else {
      append(box, el("p", { className: "hint", testid: "reply-hint" }, "Reply in the message box below."));
    }
    return box;
  }

  function fieldFor(q, current) {
    var name = "q-" + q.id;
    var inputs = el("div", { className: "field-inputs" });
    var radios = function (choices) {
      choices.forEach(function (c) {
        append(inputs, el("label", { className: "radio" },
          el("input", { type: "radio", name: name, value: c.value, checked: current !== null && current !== undefined && String(current) === String(c.value), testid: "field-" + q.id + "-" + c.value }),
          " ", c.label));
      });
    };
    if (q.type === "text") {
      append(inputs, el("textarea", { name: name, rows: 3, maxlength: 40000, testid: "field-" + q.id, value: current || "" }));
    } else if (q.type === "rating") {
      var labels = q.labels || {};
      radios([1, 2, 3, 4, 5].map(function (n) {
        var l = labels[n] || labels[String(n)];
        return { value: n, label: l ? n + " · " + l : String(n) };
      }));
    } else if (q.type === "single_choice") {
      radios((q.options || []).map(function (o) { return { value: o, label: o }; }));
    } else if (q.type === "yes_no") {
      var yn = current === true ? "yes" : current === false ? "no" : null;
      current = yn;
      radios([{ value: "yes", label: "Yes" }, { value: "no", label: "No" }]);
    } else if (q.type === "multiple_choice") {
      var chosen = Array.isArray(current) ? current : [];
      (q.options || []).forEach(function (o) {
        append(inputs, el("label", { className: "check" },
          el("input", { type: "checkbox", name: name, value: o, checked: chosen.indexOf(o) >= 0, testid: "field-" + q.id + "-option" }),
          " ", o));
      });
    }
    return inputs;
  }

  function readField(form, q) {
    var name = "q-" + q.id;
    var nodes = Array.prototype.filter.call(form.elements, function (e) { return e.name === name; });
    if (q.type === "text") {
      var t = nodes.length ? nodes[0].value : "";
      return t.trim() ? t : null;
    }
    if (q.type === "multiple_choice") {
      return nodes.filter(function (n) { return n.checked; }).map(function (n) { return n.value; });
    }
    var picked = nodes.filter(function (n) { return n.checked; })[0];
    if (!picked) return null;
    if (q.type === "rating") return Number(picked.value);
    if (q.type === "yes_no") return picked.value === "yes";
    return picked.value;
  }

  function renderForm(m) {
    var values = m.values || {};
    var errors = m.errors || {};
    var form = el("form", { className: "card form", testid: "answer-form", "data-round-id": m.round_id, novalidate: "novalidate" });
    append(form, roundHeader(m.conversation_title, null, m.deadline));
    append(form, el("p", { className: "hint" }, "Answer every question at once; you can change answers until the round closes."));
    (m.questions || []).forEach(function (q) {
      var fs = el("fieldset", { className: "field" + (errors[q.id] ? " has-error" : ""), testid: "form-field", "data-question-id": q.id },
        el("legend", null, q.index + ". " + q.text, q.required ? el("span", { className: "req", title: "required" }, " *") : null),
        q.help ? el("p", { className: "help" }, q.help) : null,
        fieldFor(q, values[q.id]),
        errors[q.id] ? el("p", { className: "field-error", testid: "field-error-" + q.id }, errors[q.id]) : null);
      append(form, fs);
    });
    var submit = el("button", { type: "submit", className: "primary", testid: "form-submit" }, "Submit answers");
    append(form, el("div", { className: "actions" }, submit));
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var out = {};
      (m.questions || []).forEach(function (q) { out[q.id] = readField(form, q); });
      busy(form, post("form", { round_id: m.round_id, values: out }));
    });
    return form;
  }

  function renderSummary(m) {
    var card = el("div", { className: "card summary", testid: "summary", "data-round-id": m.round_id });
    append(card, roundHeader(m.conversation_title, null, m.deadline));
    append(card, el("div", { className: "badges" },
      el("span", { className: "badge " + (m.done ? "done" : "progress"), testid: "summary-status" }, m.done ? "Done" : "In progress")));
    var list = el("dl", { className: "answers" });
    (m.items || []).forEach(function (item) {
      var edit = m.editable ? el("button", {
        type: "button", className: "link", testid: "edit-" + item.question_id,
        onclick: function () { busy(card.querySelector(".answers"), sendAction("edit", m.round_id, item.question_id)); },
      }, "Edit") : null;
      append(list, el("div", { className: "answer-row", testid: "summary-item", "data-question-id": item.question_id },
        el("dt", null, item.question),
        el("dd", { className: item.skipped ? "skipped" : "" },
          el("span", { className: "answer-text" }, item.skipped ? "Skipped" : (item.answer === null || item.answer === undefined ? "(no answer)" : item.answer)),
          edit)));
    });
    append(card, list);
    if (m.editable) append(card, el("p", { className: "hint" }, "You can edit answers until the round closes."));
    return card;
  }

  // ---------------------------------------------------------------- digest

  function renderDigest(d) {
    var card = el("div", { className: "card digest", testid: "digest", "data-scope": d.scope });
    append(card, el("div", { className: "digest-head" },
      el("div", { className: "digest-title", testid: "digest-title" },
        "Strategy digest · " + (d.organisation || ""),
        el("span", { className: "pill" }, d.scope === "all" ? "All conversations" : d.scope),
        d.which === "previous" ? el("span", { className: "pill muted" }, "Previous round") : null),
      el("div", { className: "sub" }, "Generated " + formatTime(d.generated_at, true))));
    if (d.maturity) append(card, renderMaturity(d.maturity));
    (d.conversations || []).forEach(function (c) { append(card, renderConversationDigest(c)); });
    if (!(d.conversations || []).length) append(card, el("p", { className: "hint" }, "No conversations in this digest."));
    return card;
  }

  function renderMaturity(m) {
    var moved = m.previous_stage && m.previous_stage !== m.stage;
    return el("section", { className: "maturity", testid: "maturity" },
      el("div", { className: "maturity-stage" },
        el("span", { className: "label" }, "Social maturity"),
        el("strong", { testid: "maturity-stage" }, m.stage),
        moved ? el("span", { className: "sub" }, " (was " + m.previous_stage + ")") : null),
      el("div", { className: "maturity-axes" },
        "Internal " + fmtNumber(m.internal) + " / 5 · External " + fmtNumber(m.external) + " / 5"),
      el("div", { className: "next-move", testid: "next-move" }, el("span", { className: "label" }, "Next move: "), m.next_move));
  }

  function renderConversationDigest(c) {
    var sec = el("section", { className: "conv-digest", testid: "conversation-digest", "data-key": c.conversation_key });
    var rate = c.invited ? c.answered / c.invited : null;
    var prevRate = c.previous_invited ? c.previous_answered / c.previous_invited : null;
    append(sec, el("div", { className: "conv-digest-head" },
      el("h3", null, c.title),
      c.round_number ? el("span", { className: "pill" }, "Round " + c.round_number) : null,
      el("span", { className: "pill status-" + c.status }, c.status === "none" ? "no round yet" : c.status),
      c.anonymous ? el("span", { className: "pill muted", title: "Names are never shown" }, "anonymous") : null,
      c.deadline && c.status === "open" ? el("span", { className: "deadline" }, "Due " + formatTime(c.deadline, true)) : null));
    if (c.status !== "none") {
      append(sec, el("div", { className: "participation-total", testid: "participation-total" },
        c.answered + " of " + c.invited + " answered",
        rate !== null ? " (" + Math.round(rate * 100) + "%)" : "",
        c.partly ? ", " + c.partly + " partly" : "",
        " ", change(rate === null ? null : rate * 100, prevRate === null ? null : prevRate * 100, 0, " pts")));
    }
    if ((c.participation || []).length) {
      var table = el("div", { className: "participation", testid: "participation" });
      c.participation.forEach(function (g) {
        append(table, el("div", { className: "bar-row", testid: "group-participation" },
          el("span", { className: "bar-label" }, g.title),
          bar(g.invited ? g.answered / g.invited : 0, "participation-bar"),
          el("span", { className: "bar-value" }, g.answered + "/" + g.invited +
            (g.partly ? " · " + g.partly + " partly" : "") + (g.skipped ? " · " + g.skipped + " skipped" : "")),
          (g.missing || []).length ? el("span", { className: "missing" }, (c.status === "closed" ? "Did not answer: " : "Waiting on: ") + g.missing.join(", ")) : null));
      });
      append(sec, table);
    }
    (c.questions || []).forEach(function (q) { append(sec, renderRollup(q)); });
    return sec;
  }

  function renderRollup(q) {
    var box = el("div", { className: "rollup type-" + q.type, testid: "rollup", "data-question-id": q.question_id },
      el("div", { className: "rollup-q" }, q.text),
      el("div", { className: "sub" }, q.answered + " answered" + (q.skipped ? " · " + q.skipped + " skipped" : "")));
    if (q.rating) {
      var r = q.rating;
      append(box, el("div", { className: "rating-mean", testid: "rating-mean" },
        el("strong", null, fmtNumber(r.mean)), " / 5 mean",
        " ", change(r.mean, r.previous_mean, 1),
        r.previous_mean !== null && r.previous_mean !== undefined ? el("span", { className: "sub" }, " (was " + fmtNumber(r.previous_mean) + ")") : null));
      var dist = r.distribution || {};
      var max = 0;
      for (var i = 1; i <= 5; i++) max = Math.max(max, dist[i] || dist[String(i)] || 0);
      var bars = el("div", { className: "distribution", testid: "distribution" });
      for (var n = 1; n <= 5; n++) {
        var count = dist[n] || dist[String(n)] || 0;
        var label = (r.labels || {})[n] || (r.labels || {})[String(n)];
        append(bars, el("div", { className: "bar-row" },
          el("span", { className: "bar-label" }, n + (label ? " · " + label : "")),
          bar(max ? count / max : 0, "distribution-bar"),
          el("span", { className: "bar-value" }, String(count))));
      }
      append(box, bars);
    }
    if (q.choices) {
      var counts = q.choices.counts || {};
      var prev = q.choices.previous_counts;
      var keys = Object.keys(counts);
      var top = keys.reduce(function (acc, k) { return Math.max(acc, counts[k]); }, 0);
      var rows = el("div", { className: "choices", testid: "choice-counts" });
      keys.forEach(function (k) {
        append(rows, el("div", { className: "bar-row" },
          el("span", { className: "bar-label" }, q.type === "yes_no" ? (k === "yes" ? "Yes" : k === "no" ? "No" : k) : k),
          bar(top ? counts[k] / top : 0, "choice-bar"),
          el("span", { className: "bar-value" }, String(counts[k]), " ", prev ? change(counts[k], prev[k] || 0, 0) : null)));
      });
      append(box, rows);
    }
    if ((q.texts || []).length) {
      var quotes = el("ul", { className: "texts", testid: "text-answers" });
      q.texts.forEach(function (t) {
        append(quotes, el("li", { testid: "text-answer" },
          el("span", { className: "quote" }, t.text),
          t.author ? el("span", { className: "author" }, " — " + t.author) : null));
      });
      append(box, quotes);
    }
    return box;
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
