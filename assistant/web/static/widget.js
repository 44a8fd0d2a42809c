/*
 * Lotse chat widget - embeddable, no dependencies, no build step (ES2019).
 * The file is pure ASCII (non-ASCII text as \u escapes), so it works on host pages in any encoding.
 *
 *   <script src="https://host/widget.js" data-lotse-url="https://host"
 *           data-title="Lotse" data-lang="de" data-token="optional"></script>
 *
 * Everything lives in a Shadow DOM, so host page CSS cannot reach it. Server text is
 * only ever inserted as text nodes (never innerHTML).
 */
(function () {
  "use strict";
  if (window.__lotseWidget) return;
  window.__lotseWidget = true;

  var script = document.currentScript || document.querySelector("script[data-lotse-url], script[src*='widget.js']");
  function attr(name) { return ((script && script.getAttribute(name)) || "").trim(); }

  function resolveBase() {
    var explicit = attr("data-lotse-url");
    if (explicit) return explicit.replace(/\/+$/, "");
    try {
      var origin = new URL((script && script.src) || location.href, location.href).origin;
      if (origin && origin !== "null") return origin;
    } catch (e) { /* fall through */ }
    return location.origin;
  }

  var BASE = resolveBase();
  var LANG = attr("data-lang").toLowerCase().indexOf("en") === 0 ? "en" : "de";
  var TITLE = attr("data-title") || "Lotse";
  var TOKEN = attr("data-token");
  var MAX_CHARS = Number("__LOTSE_MAX_CHARS__") || 1000;
  var STORE_KEY = "lotse.conversation", HISTORY_KEY = "lotse.history";

  var STRINGS = {
    de: {
      open: "Lotse \u00f6ffnen", close: "Schlie\u00dfen", newChat: "Neues Gespr\u00e4ch", question: "Ihre Frage",
      placeholder: "Fragen Sie zu Leitf\u00e4den, Checklisten, Vorlagen \u2026", send: "Frage senden",
      greeting: "Hallo! Ich beantworte Fragen aus den Leitf\u00e4den, Checklisten und Vorlagen des Programms \u2013 mit Quellenangabe.",
      examplesLabel: "Zum Beispiel:",
      examples: ["Wie starte ich einen kommunalen Digitalen Zwilling?", "Wann ist eine Datenschutz-Folgenabsch\u00e4tzung n\u00f6tig?"],
      thinking: "Lotse sucht in den Unterlagen \u2026", sources: "Quellen", closest: "N\u00e4chstliegende Quellen",
      page: "S.", source: "Quelle", newTab: "\u00f6ffnet in neuem Tab",
      wasHelpful: "War die Antwort hilfreich?", helpful: "Hilfreich", notHelpful: "Nicht hilfreich",
      commentLabel: "Was hat gefehlt? (optional)", commentPlaceholder: "Was hat gefehlt? (optional)",
      commentSend: "Senden", thanks: "Danke f\u00fcr Ihre R\u00fcckmeldung!",
      feedbackFailed: "Die R\u00fcckmeldung konnte nicht gesendet werden. Bitte erneut versuchen.",
      connection: "Verbindung fehlgeschlagen. Bitte pr\u00fcfen Sie Ihre Verbindung und versuchen Sie es erneut.",
      interrupted: "Die Antwort wurde unterbrochen. Bitte versuchen Sie es erneut.",
      httpError: "Der Dienst hat einen Fehler gemeldet", retryAfter: "Bitte in {s} s erneut versuchen.",
      disclaimer: "Antworten stammen aus den Programmunterlagen \u2013 bitte pr\u00fcfen Sie die Quellen.",
      chars: "Zeichen", you: "Sie:", bot: "Lotse:", copy: "Text kopieren", copied: "Kopiert", web: "Web"
    },
    en: {
      open: "Open Lotse", close: "Close", newChat: "New conversation", question: "Your question",
      placeholder: "Ask about guides, checklists, templates \u2026", send: "Send question",
      greeting: "Hello! I answer questions from the programme's guides, checklists and templates \u2013 with sources.",
      examplesLabel: "For example:",
      examples: ["How do I start a municipal digital twin?", "When is a data protection impact assessment required?"],
      thinking: "Lotse is searching the documents \u2026", sources: "Sources", closest: "Closest sources",
      page: "p.", source: "Source", newTab: "opens in a new tab",
      wasHelpful: "Was this answer helpful?", helpful: "Helpful", notHelpful: "Not helpful",
      commentLabel: "What was missing? (optional)", commentPlaceholder: "What was missing? (optional)",
      commentSend: "Send", thanks: "Thanks for your feedback!",
      feedbackFailed: "Your feedback could not be sent. Please try again.",
      connection: "Connection failed. Please check your connection and try again.",
      interrupted: "The answer was interrupted. Please try again.",
      httpError: "The service reported an error", retryAfter: "Please try again in {s} s.",
      disclaimer: "Answers come from the programme's documents \u2013 please check the sources.",
      chars: "characters", you: "You:", bot: "Lotse:", copy: "Copy text", copied: "Copied", web: "Web"
    }
  };
  var T = STRINGS[LANG];

  var CSS = [
    ":host{all:initial}",
    ".root{all:initial;font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;font-size:15px;line-height:1.5;color:#1c2430;-webkit-font-smoothing:antialiased}",
    ".root *,.root *::before,.root *::after{box-sizing:border-box}",
    ".sr{position:absolute!important;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}",
    "button,textarea,input{font:inherit;color:inherit}",
    "button{cursor:pointer}",
    ":focus{outline:none}",
    ":focus-visible{outline:3px solid #f0a30a;outline-offset:2px}",
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:60px;height:60px;border:0;border-radius:50%;background:#0b4f8a;color:#fff;box-shadow:0 6px 20px rgba(11,38,66,.35);display:flex;align-items:center;justify-content:center;transition:transform .15s ease,background .15s ease}",
    ".launcher:hover{background:#093f6e;transform:translateY(-1px)}",
    ".launcher svg{width:28px;height:28px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}",
    ".launcher .i-close{display:none}.launcher[aria-expanded=true] .i-chat{display:none}.launcher[aria-expanded=true] .i-close{display:block}",
    ".panel{position:fixed;right:20px;bottom:92px;z-index:2147483001;width:400px;height:min(640px,calc(100vh - 116px));min-height:320px;display:flex;flex-direction:column;background:#fff;border-radius:16px;overflow:hidden;box-shadow:0 18px 50px rgba(11,38,66,.28),0 2px 6px rgba(11,38,66,.12);border:1px solid #d5dce5;animation:lotse-in .18s ease-out}",
    ".panel[hidden]{display:none}",
    "@keyframes lotse-in{from{opacity:0;transform:translateY(12px)}to{opacity:1;transform:none}}",
    "@media (prefers-reduced-motion:reduce){.panel{animation:none}.launcher{transition:none}}",
    "header{display:flex;align-items:center;gap:8px;padding:12px 12px 12px 18px;background:#0b4f8a;color:#fff}",
    "header h2{all:unset;flex:1;font-size:17px;font-weight:650;letter-spacing:.01em;display:flex;align-items:center;gap:8px}",
    "header h2 svg{width:20px;height:20px;fill:none;stroke:currentColor;stroke-width:2}",
    ".hbtn{border:0;background:transparent;color:#fff;border-radius:8px;height:34px;min-width:34px;padding:0 8px;display:flex;align-items:center;justify-content:center;font-size:13px}",
    ".hbtn:hover{background:rgba(255,255,255,.16)}.hbtn svg{width:20px;height:20px;fill:none;stroke:currentColor;stroke-width:2.2;stroke-linecap:round}",
    ".hbtn:focus-visible{outline-color:#ffd166}",
    ".log{position:relative;flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:12px;background:#f5f7fa;overscroll-behavior:contain}",
    ".msg{max-width:88%;padding:10px 14px;border-radius:14px;word-wrap:break-word;overflow-wrap:anywhere}",
    ".user{align-self:flex-end;background:#0b4f8a;color:#fff;border-bottom-right-radius:4px;white-space:pre-wrap}",
    ".bot{align-self:flex-start;background:#fff;border:1px solid #dde3ea;border-bottom-left-radius:4px;max-width:94%}",
    ".bot p{margin:0 0 8px}.bot p:last-child{margin-bottom:0}",
    ".bot ul,.bot ol{margin:4px 0 8px;padding-left:20px}.bot li{margin:3px 0}",
    ".bot blockquote{margin:6px 0 8px;padding:6px 10px;border-left:3px solid #8fb3d6;background:#f1f6fb;color:#263445;border-radius:0 6px 6px 0}",
    ".bot .copy{font:inherit;font-size:12px;margin:0 0 8px;padding:3px 10px;border:1px solid #8fb3d6;border-radius:12px;background:#fff;color:#0b5cad;cursor:pointer}",
    ".cites .web{display:block;font-size:12px;margin-left:22px} .cites .web a{margin-right:6px}",
    ".bot a{color:#0b5cad;text-decoration:underline;text-underline-offset:2px}",
    "a.mark{display:inline-block;min-width:20px;padding:0 5px;margin:0 1px;border-radius:10px;background:#e3eefa;color:#0b4f8a;font-size:12px;font-weight:650;line-height:18px;text-align:center;text-decoration:none;vertical-align:1px}",
    "a.mark:hover{background:#0b4f8a;color:#fff}",
    ".error .body{color:#9b1c1c}",
    ".typing{display:inline-flex;gap:4px;align-items:center;height:20px}.typing i{width:7px;height:7px;border-radius:50%;background:#7b8a9c;animation:lotse-dot 1s infinite ease-in-out}",
    ".typing i:nth-child(2){animation-delay:.15s}.typing i:nth-child(3){animation-delay:.3s}",
    "@keyframes lotse-dot{0%,80%,100%{opacity:.3;transform:translateY(0)}40%{opacity:1;transform:translateY(-3px)}}",
    ".cites{margin-top:10px;padding-top:8px;border-top:1px solid #e6ebf0}",
    ".cites h3{all:unset;display:block;font-size:12px;font-weight:650;text-transform:uppercase;letter-spacing:.05em;color:#526070;margin-bottom:4px}",
    ".cites ol{list-style:none;margin:0;padding:0}.cites li{margin:4px 0;font-size:13.5px;line-height:1.4}",
    ".cites a{display:flex;gap:8px;text-decoration:none;color:#0b5cad;border-radius:6px;padding:3px 4px}",
    ".cites a:hover{background:#eef4fb}.cites a:hover .sec{text-decoration:underline}",
    ".cites .n{flex:none;min-width:20px;height:20px;border-radius:10px;background:#e3eefa;color:#0b4f8a;font-size:12px;font-weight:650;display:flex;align-items:center;justify-content:center}",
    ".cites .pg{color:#526070;white-space:nowrap}",
    ".notes{margin:8px 0 0;padding:0;list-style:none;font-size:12px;color:#526070}",
    ".fb{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-top:10px;font-size:12.5px;color:#526070}",
    ".fb .q{margin-right:2px}",
    ".fbtn{border:1px solid #cfd8e2;background:#fff;color:#3d4b5c;border-radius:16px;height:30px;min-width:40px;padding:0 10px;display:flex;align-items:center;justify-content:center}",
    ".fbtn svg{width:16px;height:16px;fill:none;stroke:currentColor;stroke-width:1.9;stroke-linejoin:round;stroke-linecap:round}",
    ".fbtn[aria-pressed=true] svg{fill:#cfe0f3}",
    ".fbtn:hover:not(:disabled){background:#eef4fb;border-color:#9db6cf}.fbtn[aria-pressed=true]{background:#e3eefa;border-color:#0b4f8a;color:#0b4f8a}",
    ".fbtn:disabled{cursor:default;opacity:.65}.fbtn[aria-pressed=true]:disabled{opacity:1}",
    ".cform{display:flex;gap:6px;width:100%;margin-top:4px}",
    ".cform input{flex:1;min-width:0;height:32px;border:1px solid #b7c3d0;border-radius:8px;padding:0 10px;font-size:13.5px;background:#fff}",
        ".cform button{border:0;border-radius:8px;background:#0b4f8a;color:#fff;padding:0 12px;height:32px;font-size:13px;font-weight:600}",
    ".status{width:100%;color:#1d6b3a;font-weight:600}.status.bad{color:#9b1c1c}",
    ".examples{display:flex;flex-direction:column;align-items:flex-start;gap:6px;font-size:13px;color:#526070}",
    ".chip{border:1px solid #b9cde2;background:#fff;color:#0b4f8a;border-radius:16px;padding:5px 12px;text-align:left;font-size:13.5px}",
    ".chip:hover{background:#eef4fb}",
    "form.ask{display:flex;align-items:flex-end;gap:8px;padding:10px 12px 6px;border-top:1px solid #dde3ea;background:#fff}",
    "textarea{flex:1;resize:none;min-height:42px;max-height:140px;border:1px solid #b7c3d0;border-radius:12px;padding:10px 12px;line-height:1.4;background:#fff;color:#1c2430}",
    "textarea::placeholder{color:#6b7785}",
    "textarea:focus-visible,.cform input:focus-visible{outline:none;border-color:#0b4f8a;box-shadow:0 0 0 3px rgba(11,79,138,.28)}",
    ".send{flex:none;width:42px;height:42px;border:0;border-radius:12px;background:#0b4f8a;color:#fff;display:flex;align-items:center;justify-content:center}",
    ".send:hover:not(:disabled){background:#093f6e}.send:disabled{background:#9aabbd;cursor:not-allowed}",
    ".send svg{width:20px;height:20px;fill:none;stroke:currentColor;stroke-width:2.2;stroke-linecap:round;stroke-linejoin:round}",
    ".foot{display:flex;justify-content:space-between;gap:8px;padding:0 14px 8px;background:#fff;font-size:11.5px;color:#5b6675}",
    ".count.warn{color:#9b1c1c;font-weight:600}",
    "@media (max-width:479.98px){.panel{inset:0;width:100%;height:100%;max-height:none;min-height:0;border-radius:0;border:0}",
    ".launcher[aria-expanded=true]{display:none}.msg{max-width:94%}}"
  ].join("\n");

  var ICON_CHAT = '<svg class="i-chat" viewBox="0 0 24 24" aria-hidden="true"><path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/><path d="M8.5 10.5h7M8.5 13.5h4.5"/></svg>';
  var ICON_CLOSE = '<svg class="i-close" viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>';
  var ICON_SEND = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 12l16-8-6 16-2.5-6.5z"/><path d="M11.5 13.5L20 4"/></svg>';
  var ICON_NEW = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 5v14M5 12h14"/></svg>';
  var ICON_UP = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M7 10v11H4V10zM7 10l4-7c1.7 0 2.6 1.2 2.2 2.8L12.5 9H19a2 2 0 0 1 2 2.3l-1.4 7.5A2.5 2.5 0 0 1 17.1 21H7"/></svg>';
  var ICON_DOWN = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M17 14V3h3v11zM17 14l-4 7c-1.7 0-2.6-1.2-2.2-2.8l.7-3.2H5a2 2 0 0 1-2-2.3l1.4-7.5A2.5 2.5 0 0 1 6.9 3H17"/></svg>';
  var ICON_COMPASS = '<svg viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="9"/><path d="M15.5 8.5l-2 5-5 2 2-5z"/></svg>';

  // ---------- small helpers ----------
  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") node.textContent = v;
        else if (k === "className") node.className = v;
        else node.setAttribute(k, v === true ? "" : String(v));
      });
    }
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function safeUrl(url) {
    try {
      var u = new URL(String(url), BASE + "/");
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (e) { return null; }
  }

  // per browser tab: the conversation id and the visible turns (restored after navigating)
  var memoryStore = {};
  function load(key) {
    try { return window.sessionStorage.getItem(key); } catch (e) { return memoryStore[key] || null; }
  }
  function save(key, value) {
    try {
      if (value) window.sessionStorage.setItem(key, value); else window.sessionStorage.removeItem(key);
    } catch (e) { memoryStore[key] = value || null; }
  }
  function storeGet() { return load(STORE_KEY); }
  function storeSet(value) { save(STORE_KEY, value); }
  function turns() {
    try { var t = JSON.parse(load(HISTORY_KEY) || "[]"); return Array.isArray(t) ? t : []; } catch (e) { return []; }
  }
  function remember(question, a) {
    var keep = { answer_id: a.answer_id, text: a.text, citations: a.citations, sources: a.sources, refused: a.refused, language: a.language, notes: a.notes };
    save(HISTORY_KEY, JSON.stringify(turns().concat([{ q: question, a: keep }]).slice(-10)));
  }

  // ---------- rendering answer text (escaped: text nodes only) ----------
  var INLINE = /\[(\d+(?:\s*[,;]\s*\d+)*)\]|(https?:\/\/[^\s<>"'\]]+)|\*\*([^*\n]+)\*\*/g;

  function citationLink(n, cites) {
    var c = null;
    for (var i = 0; i < cites.length; i++) if (Number(cites[i].n) === n) { c = cites[i]; break; }
    if (!c && cites[n - 1] && cites[n - 1].n === undefined) c = cites[n - 1];
    var href = c && safeUrl(c.url);
    if (!href) return null;
    return el("a", {
      className: "mark", href: href, target: "_blank", rel: "noopener", "data-testid": "lotse-marker",
      "aria-label": T.source + " " + n + ": " + (c.section || c.title || "") + " (" + T.newTab + ")",
      title: c.quote || c.section || ""
    }, [String(n)]);
  }

  function renderInline(parent, text, cites) {
    var last = 0, m;
    INLINE.lastIndex = 0;
    while ((m = INLINE.exec(text))) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      last = INLINE.lastIndex;
      if (m[1]) {
        var nums = m[1].split(/\s*[,;]\s*/).map(Number);
        var links = nums.map(function (n) { return citationLink(n, cites); });
        if (links.every(Boolean)) links.forEach(function (a) { parent.appendChild(a); });
        else parent.appendChild(document.createTextNode(m[0]));
      } else if (m[2]) {
        var url = m[2], trail = (/[.,;:!?)]+$/.exec(url) || [""])[0];
        url = url.slice(0, url.length - trail.length);
        var href = safeUrl(url);
        parent.appendChild(href ? el("a", { href: href, target: "_blank", rel: "noopener" }, [url]) : document.createTextNode(url));
        if (trail) parent.appendChild(document.createTextNode(trail));
      } else {
        parent.appendChild(el("strong", { text: m[3] }));
      }
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderText(container, text, cites) {
    container.textContent = "";
    var lines = String(text || "").replace(/\r\n?/g, "\n").split("\n");
    var block = null, kind = null, m;
    function open(tag, k) { block = el(tag); container.appendChild(block); kind = k; }
    lines.forEach(function (raw) {
      var line = raw.replace(/\s+$/, "");
      if (!line.trim()) { block = null; kind = null; return; }
      if ((m = /^\s*[-\u2022]\s+(.*)$/.exec(line))) {
        if (kind !== "ul") open("ul", "ul");
        var li = el("li"); renderInline(li, m[1], cites); block.appendChild(li);
      } else if ((m = /^\s*(\d+)[.)]\s+(.*)$/.exec(line))) {
        if (kind !== "ol") open("ol", "ol");
        var oli = el("li", { value: m[1] }); renderInline(oli, m[2], cites); block.appendChild(oli);
      } else if ((m = /^\s*>\s?(.*)$/.exec(line))) {
        if (kind !== "quote") { open("blockquote", "quote"); container.appendChild(copyButton(block)); } else block.appendChild(el("br"));
        renderInline(block, m[1], cites);
      } else if ((kind === "ul" || kind === "ol") && /^\s{2,}/.test(raw) && block.lastChild) {
        renderInline(block.lastChild, " " + line.trim(), cites);
      } else {
        if (kind !== "p") open("p", "p"); else block.appendChild(el("br"));
        renderInline(block, line, cites);
      }
    });
  }

  // ---------- SSE parsing (fetch + reader; handles \n, \r\n and \r) ----------
  function sseParser(onEvent) {
    var buf = "", name = "", data = [];
    function line(l) {
      if (l === "") {
        if (data.length) onEvent(name || "message", data.join("\n"));
        name = ""; data = [];
        return;
      }
      if (l.charAt(0) === ":") return;
      var i = l.indexOf(":");
      var field = i < 0 ? l : l.slice(0, i);
      var value = i < 0 ? "" : l.slice(i + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    return function feed(text, final) {
      buf += text;
      var re = /\r\n|\r|\n/g, pos = 0, m;
      while ((m = re.exec(buf))) {
        if (m[0] === "\r" && m.index === buf.length - 1 && !final) break;
        line(buf.slice(pos, m.index));
        pos = re.lastIndex;
      }
      buf = buf.slice(pos);
      if (final) { if (buf) line(buf); line(""); buf = ""; }
    };
  }

  // ---------- DOM ----------
  var host = document.createElement("lotse-widget");
  var shadow = host.attachShadow({ mode: "open" });
  var root = el("div", { className: "root", lang: LANG });
  root.innerHTML = ( // static markup only; nothing from the server or the page
    '<button type="button" class="launcher" data-testid="lotse-launcher" aria-expanded="false" aria-controls="lotse-panel">' + ICON_CHAT + ICON_CLOSE + "</button>" +
    '<section class="panel" id="lotse-panel" data-testid="lotse-panel" role="dialog" aria-labelledby="lotse-title" hidden>' +
    '<header><h2 id="lotse-title">' + ICON_COMPASS + '<span class="t"></span></h2>' +
    '<button type="button" class="hbtn new">' + ICON_NEW + '</button><button type="button" class="hbtn close">' + ICON_CLOSE.replace(' class="i-close"', "") + "</button></header>" +
    '<div class="log" role="log" aria-live="polite" aria-relevant="additions text" tabindex="-1"></div>' +
    '<form class="ask" novalidate><label class="sr" for="lotse-input"></label>' +
    '<textarea id="lotse-input" data-testid="lotse-input" rows="1" maxlength="' + MAX_CHARS + '" autocomplete="off" enterkeyhint="send"></textarea>' +
    '<button type="submit" class="send" data-testid="lotse-send">' + ICON_SEND + "</button></form>" +
    '<div class="foot"><span class="disc"></span><span class="count"></span></div></section>'
  );
  var style = el("style", { text: CSS });
  shadow.appendChild(style);
  shadow.appendChild(root);

  function $(sel) { return root.querySelector(sel); }
  var launcher = $(".launcher"), panel = $(".panel"), log = $(".log"), form = $("form.ask");
  var input = $("textarea"), sendBtn = $(".send"), newBtn = $(".new"), closeBtn = $(".close"), counter = $(".count");
  launcher.setAttribute("aria-label", T.open);
  launcher.title = T.open;
  $(".t").textContent = TITLE;
  newBtn.setAttribute("aria-label", T.newChat); newBtn.title = T.newChat;
  closeBtn.setAttribute("aria-label", T.close); closeBtn.title = T.close;
  $("label").textContent = T.question;
  input.placeholder = T.placeholder;
  sendBtn.setAttribute("aria-label", T.send); sendBtn.title = T.send;
  $(".disc").textContent = T.disclaimer;

  var busy = false;

  function nearBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 60; }
  function scrollDown(force) { if (force || nearBottom()) log.scrollTop = log.scrollHeight; }

  function greet() {
    log.textContent = "";
    log.appendChild(el("div", { className: "msg bot greeting" }, [el("p", { text: T.greeting })]));
    var ex = el("div", { className: "examples" }, [el("span", { text: T.examplesLabel })]);
    T.examples.forEach(function (q) {
      var chip = el("button", { type: "button", className: "chip", text: q });
      chip.addEventListener("click", function () { ask(q); });
      ex.appendChild(chip);
    });
    log.appendChild(ex);
  }
  greet();

  function setBusy(state) {
    busy = state;
    sendBtn.disabled = state;
    newBtn.disabled = state;
    log.setAttribute("aria-busy", state ? "true" : "false");
  }

  function openPanel() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    scrollDown(true);
    autosize();
    setTimeout(function () { input.focus(); }, 0);
  }
  function closePanel() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) openPanel(); else closePanel(); });
  closeBtn.addEventListener("click", closePanel);
  newBtn.addEventListener("click", function () {
    if (busy) return;
    storeSet(null);
    save(HISTORY_KEY, null);
    greet();
    input.focus();
  });
  root.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !panel.hidden) { e.preventDefault(); e.stopPropagation(); closePanel(); }
  });

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 140) + "px";
    var n = input.value.length;
    counter.textContent = n >= MAX_CHARS - 100 ? n + "/" + MAX_CHARS + " " + T.chars : "";
    counter.className = "count" + (n >= MAX_CHARS ? " warn" : "");
  }
  input.addEventListener("input", autosize);
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (!busy) submit();
    }
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });

  function submit() {
    var q = input.value.trim();
    if (!q || busy) { input.focus(); return; }
    input.value = "";
    autosize();
    ask(q);
  }

  // ---------- asking ----------
  function addUser(text) {
    var ex = log.querySelector(".examples");
    if (ex) ex.remove();
    log.appendChild(el("div", { className: "msg user" }, [el("span", { className: "sr", text: T.you + " " }), text]));
  }

  function addBubble() {
    var body = el("div", { className: "body" });
    var bubble = el("div", { className: "msg bot", "data-testid": "lotse-answer", "data-state": "streaming", "aria-busy": "true" },
      [el("span", { className: "sr", text: T.bot + " " }), body]);
    showTyping(body);
    log.appendChild(bubble);
    scrollDown(true);
    return { bubble: bubble, body: body };
  }

  function showTyping(body) {
    body.textContent = "";
    body.appendChild(el("span", { className: "typing", role: "status" }, [el("i"), el("i"), el("i"), el("span", { className: "sr", text: T.thinking })]));
  }

  // a template block's text, without citation marks, onto the clipboard
  function copyButton(quote) {
    var button = el("button", { type: "button", className: "copy", "data-testid": "lotse-copy", text: T.copy });
    button.addEventListener("click", function () {
      var text = Array.prototype.filter.call(quote.childNodes, function (n) { return !(n.classList && n.classList.contains("mark")); })
        .map(function (n) { return n.nodeName === "BR" ? "\n" : n.textContent; }).join("").replace(/[ \t]+\n/g, "\n").trim();
      var done = function () { button.textContent = T.copied; };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, function () {});
      quote.setAttribute("data-copy", text);
    });
    return button;
  }

  function webLinks(c) {
    var links = (Array.isArray(c.links) ? c.links : []).map(safeUrl).filter(Boolean);
    if (!links.length) return null;
    return el("span", { className: "web" }, [T.web + ": "].concat(links.map(function (href, i) {
      return el("a", { href: href, target: "_blank", rel: "noopener", "data-testid": "lotse-web-link", text: new URL(href).host + (i < links.length - 1 ? " " : "") });
    })));
  }

  function sourceList(items, heading) {
    var ol = el("ol");
    items.forEach(function (c) {
      var href = safeUrl(c.url);
      var label = c.section || c.title || c.doc_id || "";
      var kids = [el("span", { className: "n", "aria-hidden": "true", text: String(c.n) }),
        el("span", {}, [el("span", { className: "sec", text: label }),
          c.page !== null && c.page !== undefined ? el("span", { className: "pg", text: " (" + T.page + " " + c.page + ")" }) : null])];
      var item = href
        ? el("a", { href: href, target: "_blank", rel: "noopener", "data-testid": heading === T.sources ? "lotse-citation" : "lotse-source",
          title: c.quote || "", "aria-label": c.n + " " + label + (c.page != null ? " (" + T.page + " " + c.page + ")" : "") + " \u2013 " + T.newTab }, kids)
        : el("span", {}, kids);
      ol.appendChild(el("li", {}, [item, webLinks(c)]));
    });
    return el("div", { className: "cites" }, [el("h3", { text: heading }), ol]);
  }

  function finish(view, state) {
    view.bubble.setAttribute("data-state", "done");
    view.bubble.removeAttribute("aria-busy");
    if (state === "error") view.bubble.classList.add("error");
    // show the start of the answer; the user scrolls on through it (and its sources)
    var top = view.bubble.offsetTop - 12;
    log.scrollTop = Math.max(0, Math.min(top, log.scrollHeight - log.clientHeight));
  }

  function showError(view, message) {
    view.body.textContent = "";
    view.body.appendChild(el("p", { text: message }));
    view.bubble.setAttribute("data-error", "true");
  }

  function showAnswer(view, a) {
    var cites = Array.isArray(a.citations) ? a.citations : [];
    if (a.language === "de" || a.language === "en") view.bubble.setAttribute("lang", a.language);
    renderText(view.body, a.text, cites);
    if (cites.length) view.bubble.appendChild(sourceList(cites, T.sources));
    if (a.refused && Array.isArray(a.sources) && a.sources.length) view.bubble.appendChild(sourceList(a.sources, T.closest));
    if (Array.isArray(a.notes) && a.notes.length) {
      view.bubble.appendChild(el("ul", { className: "notes" }, a.notes.map(function (n) { return el("li", { text: String(n) }); })));
    }
    if (a.answer_id) view.bubble.appendChild(feedbackBar(String(a.answer_id)));
  }

  async function ask(question) {
    if (busy) return;
    setBusy(true);
    addUser(question);
    if (!panel.hidden) input.focus(); // the send button (now disabled) or example chip (removed) had focus
    var view = addBubble();
    var streamed = "", answer = null, failed = false, frame = 0;
    function paint() { frame = 0; if (!answer && !failed) { if (streamed) renderText(view.body, streamed, []); else showTyping(view.body); scrollDown(false); } }
    function schedule() { if (!frame) frame = (window.requestAnimationFrame || setTimeout)(paint); }
    function onEvent(name, raw) {
      var data = {};
      try { data = raw ? JSON.parse(raw) : {}; } catch (e) { data = {}; }
      if (name === "meta" && data.conversation_id) storeSet(String(data.conversation_id));
      else if (name === "delta") { streamed += String(data.text || ""); schedule(); }
      else if (name === "reset") { streamed = ""; schedule(); }
      else if (name === "answer") { answer = data; if (data.conversation_id) storeSet(String(data.conversation_id)); }
      else if (name === "error") { failed = true; showError(view, String(data.message || T.interrupted)); }
    }
    try {
      // Accept-Language (CORS-safelisted): the server's own error messages then match the UI language
      var headers = { "Content-Type": "application/json", Accept: "text/event-stream", "Accept-Language": LANG };
      if (TOKEN) headers.Authorization = "Bearer " + TOKEN;
      var res = await fetch(BASE + "/api/chat/stream", {
        method: "POST", headers: headers, cache: "no-store",
        body: JSON.stringify({ question: question, conversation_id: storeGet(), lang: LANG })
      });
      if (!res.ok) {
        var message = "";
        try { var j = await res.json(); message = j && j.error && j.error.message; } catch (e) { /* not JSON */ }
        var retry = res.headers.get("Retry-After");
        if (!message) message = T.httpError + " (HTTP " + res.status + ").";
        if (res.status === 429 && retry && /^\d+$/.test(retry) && message.indexOf(retry) < 0) message += " " + T.retryAfter.replace("{s}", retry);
        failed = true;
        showError(view, message);
      } else {
        var feed = sseParser(onEvent);
        if (res.body && res.body.getReader) {
          var reader = res.body.getReader(), decoder = new TextDecoder("utf-8");
          for (;;) {
            var chunk = await reader.read();
            if (chunk.done) break;
            feed(decoder.decode(chunk.value, { stream: true }), false);
          }
          feed(decoder.decode(), true);
        } else {
          feed(await res.text(), true);
        }
        if (answer) { showAnswer(view, answer); remember(question, answer); }
        else if (!failed) { failed = true; showError(view, T.interrupted); }
      }
    } catch (e) {
      failed = true;
      showError(view, answer ? T.interrupted : T.connection);
    }
    finish(view, failed ? "error" : "ok");
    setBusy(false);
  }

  // ---------- feedback ----------
  async function postFeedback(answerId, rating, comment) {
    var res = await fetch(BASE + "/api/feedback", {
      method: "POST",
      headers: Object.assign({ "Content-Type": "application/json", "Accept-Language": LANG }, TOKEN ? { Authorization: "Bearer " + TOKEN } : {}),
      body: JSON.stringify({ answer_id: answerId, rating: rating, comment: comment || null })
    });
    if (!res.ok) throw new Error("HTTP " + res.status);
  }

  function feedbackBar(answerId) {
    // thumbs as inline SVG (\ud83d\udc4d/\ud83d\udc4e): emoji fonts are missing on many workstations
    var up = el("button", { type: "button", className: "fbtn", "data-testid": "lotse-up", "aria-label": T.helpful, title: T.helpful, "aria-pressed": "false" });
    var down = el("button", { type: "button", className: "fbtn", "data-testid": "lotse-down", "aria-label": T.notHelpful, title: T.notHelpful, "aria-pressed": "false" });
    up.innerHTML = ICON_UP; // static markup
    down.innerHTML = ICON_DOWN;
    var status = el("p", { className: "status", "data-testid": "lotse-thanks", role: "status", hidden: true });
    var bar = el("div", { className: "fb" }, [el("span", { className: "q", text: T.wasHelpful }), up, down, status]);
    var cform = null;

    function say(text, bad) { status.hidden = false; status.textContent = text; status.className = "status" + (bad ? " bad" : ""); }
    async function send(rating, comment, controls) {
      controls.forEach(function (c) { c.disabled = true; });
      try {
        await postFeedback(answerId, rating, comment);
        up.disabled = down.disabled = true;
        if (cform) cform.remove();
        say(T.thanks, false);
        scrollDown(false);
      } catch (e) {
        controls.forEach(function (c) { c.disabled = false; });
        say(T.feedbackFailed, true);
      }
    }
    up.addEventListener("click", function () {
      up.setAttribute("aria-pressed", "true"); down.setAttribute("aria-pressed", "false");
      if (cform) { cform.remove(); cform = null; }
      send("up", null, [up, down]);
    });
    down.addEventListener("click", function () {
      down.setAttribute("aria-pressed", "true"); up.setAttribute("aria-pressed", "false");
      if (cform) { cform.querySelector("input").focus(); return; }
      var field = el("input", { type: "text", maxlength: 2000, "data-testid": "lotse-comment", "aria-label": T.commentLabel, placeholder: T.commentPlaceholder });
      var btn = el("button", { type: "submit", "data-testid": "lotse-comment-send", text: T.commentSend });
      cform = el("form", { className: "cform" }, [field, btn]);
      cform.addEventListener("submit", function (e) {
        e.preventDefault();
        send("down", field.value.trim() || null, [field, btn, up, down]);
      });
      bar.insertBefore(cform, status);
      field.focus();
      scrollDown(false);
    });
    return bar;
  }

  if (storeGet()) {
    turns().forEach(function (t) {
      if (!t || !t.a) return;
      addUser(String(t.q || ""));
      var view = addBubble();
      showAnswer(view, t.a);
      finish(view, "ok");
    });
  }

  function mount() { (document.body || document.documentElement).appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  window.Lotse = { open: openPanel, close: closePanel, ask: function (q) { openPanel(); return ask(String(q)); } };
})();
