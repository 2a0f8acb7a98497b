// The sandbox page: a Slack-like channel over the sandbox's JSON API, live via SSE.
// Every string from the server reaches the DOM through textContent (see mrkdwn.js).
// One file on purpose (it is long): a dependency-free page with no build step, so no modules.
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  info: null,          // /ui/api/workspace
  user: null,          // who the page acts as
  place: "C0GENERAL",  // a channel id, or "home"
  thread: null,        // ts of the open thread, or null
  channelData: null,
  threadData: null,
  views: { modals: [], home: null },
  modalKey: null,      // id+hash of the modal on screen (re-render only when it changes)
  homeRequested: {},   // user → app_home_opened sent for this page load
  generation: 0,
};

// -- small helpers ------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "testid") node.dataset.testid = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child) node.appendChild(child);
  return node;
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (e) { data = { ok: false, error: `HTTP ${response.status}` }; }
  if (!response.ok && data && data.ok === undefined) data.ok = false;
  return data;
}

function notice(message) {
  const box = $("notice");
  if (!message) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = message;
  box.hidden = false;
}

function textCtx() {
  const channels = {};
  for (const c of state.info.channels) channels[c.id] = c;
  return { users: state.info.all_users, channels, usergroups: state.info.usergroups, me: state.user };
}

function userName(id) {
  const user = state.info.all_users[id];
  return user ? (user.is_bot ? "signoff" : user.real_name) : id;
}

function timeOf(ts) {
  const date = new Date(parseFloat(ts) * 1000);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function channelById(id) {
  return state.info.channels.find((c) => c.id === id);
}

function myIm() { return state.info.ims[state.user]; }

// -- URL and navigation ------------------------------------------------------------------

function saveLocation() {
  const params = new URLSearchParams();
  params.set("user", state.user);
  params.set("channel", state.place);
  if (state.thread) params.set("thread", state.thread);
  history.replaceState(null, "", "?" + params.toString());
}

function visibleChannels() {
  return state.info.channels.filter((c) => c.members.includes(state.user));
}

function canSee(place) {
  if (place === "home" || place === myIm()) return true;
  return visibleChannels().some((c) => c.id === place);
}

function go(place, thread) {
  state.place = canSee(place) ? place : "C0GENERAL";
  state.thread = thread || null;
  state.channelData = null;
  state.threadData = null;
  saveLocation();
  renderChrome();
  renderMessages();
  renderThread();
  if (state.place === "home") openHome();
  refresh();
}

function setUser(user) {
  state.user = user;
  state.modalKey = null;
  state.views = { modals: [], home: null };
  notice(null);
  $("user-switch").value = user;
  const stays = state.place === "home" || canSeeAs(user, state.place);
  // Someone else looking at the same channel keeps the open thread, as a shared screen would.
  go(stays ? state.place : "C0GENERAL", stays ? state.thread : null);
}

function canSeeAs(user, place) {
  if (place === "home") return true;
  if (place.startsWith("D")) return false;
  const channel = channelById(place);
  return Boolean(channel && channel.members.includes(user));
}

// -- chrome: sidebar, header, tabs ------------------------------------------------------------------

function renderChrome() {
  const list = $("channel-list");
  list.replaceChildren();
  for (const channel of visibleChannels()) {
    const active = state.place === channel.id;
    list.appendChild(el("li", {},
      el("button", {
        type: "button", class: "sidebar-item" + (active ? " active" : ""), testid: `channel-${channel.name}`,
        "aria-current": active ? "page" : null, onclick: () => go(channel.id),
      }, el("span", { class: "hash", text: channel.is_private ? "🔒" : "#" }), el("span", { text: channel.name }))));
  }
  const inApp = state.place === "home" || state.place === myIm();
  $("app-home").classList.toggle("active", inApp);
  $("app-tabs").hidden = !inApp;
  $("tab-home").classList.toggle("active", state.place === "home");
  $("tab-home").setAttribute("aria-selected", String(state.place === "home"));
  $("tab-messages").classList.toggle("active", state.place === myIm());
  $("tab-messages").setAttribute("aria-selected", String(state.place === myIm()));
  const channel = channelById(state.place);
  $("channel-title").textContent = inApp ? "signoff" : (channel.is_private ? "🔒 " : "#") + channel.name;
  $("channel-topic").textContent = inApp ? "App" : channel.topic || "";
  $("home").hidden = state.place !== "home";
  $("messages").hidden = state.place === "home";
  $("composer").hidden = state.place === "home";
  $("composer-input").placeholder = inApp ? "Message signoff" : `Message #${channel.name}`;
}

// -- data ------------------------------------------------------------------

let refreshing = null;
let refreshAgain = false;

function refresh() {
  if (refreshing) { refreshAgain = true; return refreshing; }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      await load();
    } while (refreshAgain);
    refreshing = null;
  })();
  return refreshing;
}

async function load() {
  const generation = ++state.generation;
  const user = encodeURIComponent(state.user);
  const wants = [api(`/ui/api/views?user=${user}`)];
  if (state.place !== "home") wants.push(api(`/ui/api/channels/${state.place}?user=${user}`));
  else wants.push(Promise.resolve(null));
  if (state.thread && state.place !== "home") {
    wants.push(api(`/ui/api/channels/${state.place}/threads/${state.thread}?user=${user}`));
  } else wants.push(Promise.resolve(null));
  let views, channelData, threadData;
  try {
    [views, channelData, threadData] = await Promise.all(wants);
  } catch (e) {
    return; // the sandbox is restarting; the event stream's reconnect triggers a new load
  }
  if (generation !== state.generation) return; // the user or the place changed meanwhile
  if (views && views.modals) state.views = views;
  if (channelData && channelData.messages) state.channelData = channelData;
  if (threadData && threadData.messages) state.threadData = threadData;
  renderMessages();
  renderThread();
  renderHome();
  renderModal();
}

function relevant(event) {
  if (event.kind === "message") return event.channel === state.place;
  if (event.kind === "ephemeral") return event.recipient === state.user;
  if (event.kind === "view") return event.user === state.user;
  return true;
}

async function reloadInfo() {
  const info = await api("/ui/api/workspace");
  if (!info || !info.channels) return;
  state.info = info;
  renderChrome();
}

function connect() {
  const live = $("live");
  const source = new EventSource("/ui/events");
  source.addEventListener("hello", () => {
    live.dataset.state = "open";
    live.textContent = "live";
    refresh();
  });
  source.addEventListener("change", (e) => {
    const event = JSON.parse(e.data);
    if (event.kind === "channel") reloadInfo(); // a topic changed
    else if (relevant(event)) refresh();
  });
  source.onerror = () => {
    live.dataset.state = "reconnecting";
    live.textContent = "reconnecting…";
  };
}

// -- messages ------------------------------------------------------------------

function renderMessages() {
  const box = $("messages");
  if (state.place === "home") return;
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const data = state.channelData;
  box.replaceChildren();
  if (!data) return;
  const items = [
    ...data.messages.map((m) => ({ m, ephemeral: false })),
    ...data.ephemerals.map((m) => ({ m, ephemeral: true })),
  ].sort((a, b) => parseFloat(a.m.ts) - parseFloat(b.m.ts));
  if (!items.length) box.appendChild(el("div", { class: "empty", text: "No messages yet." }));
  for (const { m, ephemeral } of items) box.appendChild(renderMessage(m, { ephemeral, channel: data.channel }));
  if (atBottom || !box.dataset.rendered) box.scrollTop = box.scrollHeight;
  box.dataset.rendered = "1";
}

function renderMessage(m, { ephemeral, channel, inThread }) {
  const isBot = Boolean(m.bot_id);
  const author = userName(m.user);
  const node = el("div", {
    class: "msg" + (ephemeral ? " ephemeral" : "") + (m.subtype ? " system" : "")
      + (state.thread === m.ts && !inThread ? " selected" : ""),
    testid: ephemeral ? "ephemeral" : "message", dataset: { ts: m.ts, user: m.user },
  });
  node.appendChild(el("div", { class: "avatar" + (isBot ? " bot" : ""), text: isBot ? "S" : author.slice(0, 1), "aria-hidden": "true" }));
  const body = el("div", { class: "msg-body" });
  const meta = el("div", { class: "meta" },
    el("span", { class: "author", testid: "message-author", text: author }),
    isBot ? el("span", { class: "badge", text: "APP" }) : null,
    el("span", { class: "time", text: timeOf(m.ts) }),
    m.edited ? el("span", { class: "edited", testid: "edited", text: "(edited)" }) : null);
  body.appendChild(meta);
  if (ephemeral) body.appendChild(el("div", { class: "only-you", testid: "only-you", text: "👁 Only visible to you" }));
  const content = el("div", { class: "content", testid: "message-content" });
  const ctx = { channel, ts: m.ts, ephemeral };
  if (m.blocks && m.blocks.length) content.appendChild(renderBlocks(m.blocks, ctx));
  else content.appendChild(Mrkdwn.render(m.text || "", textCtx()));
  for (const file of m.files || []) {
    content.appendChild(el("div", { class: "file", testid: "file" }, el("span", { text: "📄 " + (file.title || file.name) })));
  }
  body.appendChild(content);
  if (!inThread && !ephemeral && m.reply_count) {
    const names = (m.reply_users || []).map(userName).join(", ");
    body.appendChild(el("button", {
      type: "button", class: "replies", testid: "reply-count", onclick: () => openThread(m.ts),
      title: names,
    }, el("span", { text: `${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}` }),
    el("span", { class: "last-reply", text: m.latest_reply ? ` · last reply ${timeOf(m.latest_reply)}` : "" })));
  }
  node.appendChild(body);
  return node;
}

function openThread(ts) {
  state.thread = ts;
  state.threadData = null;
  saveLocation();
  renderThread();
  refresh();
}

function renderThread() {
  const panel = $("thread");
  const open = Boolean(state.thread) && state.place !== "home";
  panel.hidden = !open;
  if (!open) return;
  const channel = channelById(state.place);
  $("thread-channel").textContent = channel ? "#" + channel.name : "signoff";
  const box = $("thread-messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren();
  const data = state.threadData;
  if (!data || data.thread_ts !== state.thread) return;
  const [parent, ...replies] = data.messages[0] && data.messages[0].ts === state.thread
    ? data.messages : [null, ...data.messages];
  if (parent) box.appendChild(renderMessage(parent, { ephemeral: false, channel: data.channel, inThread: true }));
  box.appendChild(el("div", { class: "reply-divider", testid: "thread-reply-count",
    text: `${replies.length} ${replies.length === 1 ? "reply" : "replies"}` }));
  const items = [
    ...replies.map((m) => ({ m, ephemeral: false })),
    ...data.ephemerals.map((m) => ({ m, ephemeral: true })),
  ].sort((a, b) => parseFloat(a.m.ts) - parseFloat(b.m.ts));
  for (const { m, ephemeral } of items) {
    box.appendChild(renderMessage(m, { ephemeral, channel: data.channel, inThread: true }));
  }
  if (atBottom || !box.dataset.rendered) box.scrollTop = box.scrollHeight;
  box.dataset.rendered = "1";
}

// -- Block Kit ------------------------------------------------------------------

function textObject(obj) {
  if (!obj) return el("span");
  if (obj.type === "mrkdwn") return Mrkdwn.render(obj.text, textCtx());
  return Mrkdwn.plain(obj.text, obj.emoji);
}

function plainText(obj) {
  return obj ? Mrkdwn.emojify(String(obj.text || "")) : "";
}

function renderBlocks(blocks, ctx) {
  const box = el("div", { class: "blocks" });
  for (const block of blocks) {
    const node = renderBlock(block, ctx);
    if (node) {
      node.classList.add("block", "block-" + block.type);
      node.dataset.blockId = block.block_id || "";
      box.appendChild(node);
    }
  }
  return box;
}

function renderBlock(block, ctx) {
  switch (block.type) {
    case "header":
      return el("h3", { testid: "block-header", text: plainText(block.text) });
    case "divider":
      return el("hr", { testid: "block-divider" });
    case "section": {
      const node = el("div", { testid: "block-section" });
      const main = el("div", { class: "section-main" });
      if (block.text) main.appendChild(textObject(block.text));
      if (block.fields) {
        const fields = el("div", { class: "fields" });
        for (const field of block.fields) fields.appendChild(el("div", { class: "field" }, textObject(field)));
        main.appendChild(fields);
      }
      node.appendChild(main);
      if (block.accessory) node.appendChild(el("div", { class: "accessory" }, renderElement(block.accessory, block, ctx)));
      return node;
    }
    case "context": {
      const node = el("div", { testid: "block-context" });
      for (const element of block.elements || []) {
        if (element.type === "image") node.appendChild(el("img", { class: "context-image", src: element.image_url, alt: element.alt_text || "" }));
        else node.appendChild(textObject(element));
      }
      return node;
    }
    case "actions": {
      const node = el("div", { testid: "block-actions" });
      for (const element of block.elements || []) node.appendChild(renderElement(element, block, ctx));
      return node;
    }
    case "image":
      return el("figure", {}, el("img", { src: block.image_url, alt: block.alt_text || "" }),
        block.title ? el("figcaption", { text: plainText(block.title) }) : null);
    case "input":
      return renderInput(block, ctx);
    case "rich_text":
      return el("div", { testid: "block-rich-text", text: richText(block) });
    default:
      return el("div", { class: "unsupported", text: `[unsupported block: ${block.type}]` });
  }
}

function richText(block) {
  const out = [];
  const walk = (node) => {
    if (!node || typeof node !== "object") return;
    if (typeof node.text === "string") out.push(node.text);
    if (node.type === "user") out.push("@" + userName(node.user_id));
    for (const child of node.elements || []) walk(child);
  };
  walk(block);
  return out.join("");
}

function renderElement(element, block, ctx) {
  if (element.type === "button") {
    const button = el("button", {
      type: "button",
      class: "bk-button" + (element.style ? " " + element.style : ""),
      dataset: { actionId: element.action_id || "", testid: "block-button" },
      text: plainText(element.text),
    });
    if (element.url) button.title = element.url;
    button.addEventListener("click", () => pressButton(button, element, block, ctx));
    return button;
  }
  if (element.type === "image") return el("img", { class: "accessory-image", src: element.image_url, alt: element.alt_text || "" });
  const label = element.placeholder ? plainText(element.placeholder) : element.type;
  return el("span", { class: "unsupported", text: `[${label}]` });
}

function pressButton(button, element, block, ctx) {
  const send = async () => {
    button.disabled = true;
    button.classList.add("busy");
    try {
      const body = { user: state.user, action_id: element.action_id, block_id: block.block_id, value: element.value };
      if (ctx.viewId) body.view_id = ctx.viewId;
      else Object.assign(body, { channel: ctx.channel, ts: ctx.ts });
      const result = await api("/ui/api/click", body);
      if (!result.ok) notice(`The click did not reach the app: ${result.error}`);
      else notice(null);
    } finally {
      button.disabled = false;
      button.classList.remove("busy");
    }
  };
  if (element.confirm) confirmDialog(element.confirm).then((yes) => yes && send());
  else send();
}

function confirmDialog(confirm) {
  return new Promise((resolve) => {
    const root = $("confirm-root");
    const done = (answer) => { root.replaceChildren(); resolve(answer); };
    const yes = el("button", {
      type: "button", class: "bk-button " + (confirm.style === "danger" ? "danger" : "primary"),
      testid: "confirm-yes", text: plainText(confirm.confirm) || "Yes", onclick: () => done(true),
    });
    const dialog = el("div", { class: "overlay" },
      el("div", { class: "dialog confirm", role: "alertdialog", "aria-modal": "true", testid: "confirm-dialog",
        "aria-label": plainText(confirm.title) || "Are you sure?" },
      el("h2", { text: plainText(confirm.title) || "Are you sure?" }),
      el("div", { class: "dialog-body" }, textObject(confirm.text)),
      el("div", { class: "dialog-actions" },
        el("button", { type: "button", class: "bk-button", testid: "confirm-no",
          text: plainText(confirm.deny) || "Cancel", onclick: () => done(false) }),
        yes)));
    root.replaceChildren(dialog);
    yes.focus();
  });
}

// -- inputs and modals ------------------------------------------------------------------

function renderInput(block, ctx) {
  const element = block.element || {};
  const id = `input-${block.block_id}-${element.action_id}`;
  const node = el("div", { testid: "block-input", class: "input-block" });
  node.appendChild(el("label", { for: id, class: "input-label" },
    el("span", { text: plainText(block.label) }),
    block.optional ? el("span", { class: "optional", text: " (optional)" }) : null));
  const common = { id, dataset: { blockId: block.block_id, actionId: element.action_id || "", kind: element.type } };
  let control;
  if (element.type === "plain_text_input") {
    control = el(element.multiline ? "textarea" : "input", {
      ...common, type: element.multiline ? null : "text", rows: element.multiline ? 4 : null,
      placeholder: element.placeholder ? plainText(element.placeholder) : null,
      maxlength: element.max_length || null,
    });
    control.value = element.initial_value || "";
  } else if (element.type === "static_select") {
    control = el("select", common, el("option", { value: "", text: element.placeholder ? plainText(element.placeholder) : "Select an option" }));
    for (const option of element.options || []) control.appendChild(el("option", { value: option.value, text: plainText(option.text) }));
    if (element.initial_option) control.value = element.initial_option.value;
  } else if (element.type === "checkboxes") {
    control = el("div", { ...common, role: "group" });
    for (const option of element.options || []) {
      const box = el("input", { type: "checkbox", value: option.value });
      control.appendChild(el("label", { class: "checkbox" }, box, el("span", { text: " " + plainText(option.text) })));
    }
  } else {
    control = el("span", { ...common, class: "unsupported", text: `[${element.type}]` });
  }
  node.appendChild(control);
  if (block.hint) node.appendChild(el("div", { class: "hint", text: plainText(block.hint) }));
  node.appendChild(el("div", { class: "input-error", testid: "input-error", role: "alert", hidden: true }));
  return node;
}

function inputValue(control) {
  const kind = control.dataset.kind;
  if (kind === "checkboxes") return [...control.querySelectorAll("input:checked")].map((c) => c.value).join(",");
  if (kind === "plain_text_input" || kind === "static_select") return control.value;
  return null;
}

function renderModal() {
  const root = $("modal-root");
  const top = state.views.modals[state.views.modals.length - 1];
  const key = top ? `${top.id}:${top.hash}` : null;
  if (key === state.modalKey) return;
  state.modalKey = key;
  if (!top) { root.replaceChildren(); return; }
  const form = el("form", { class: "dialog modal", role: "dialog", "aria-modal": "true", testid: "modal",
    "aria-label": plainText(top.title), dataset: { viewId: top.id, callbackId: top.callback_id || "" } });
  form.appendChild(el("div", { class: "dialog-title" },
    el("h2", { testid: "modal-title", text: plainText(top.title) }),
    el("button", { type: "button", class: "icon", "aria-label": "Close", onclick: () => closeModal(top) , text: "×"})));
  form.appendChild(el("div", { class: "dialog-body" }, renderBlocks(top.blocks || [], { viewId: top.id })));
  form.appendChild(el("div", { class: "modal-error", testid: "modal-error", role: "alert", hidden: true }));
  const actions = el("div", { class: "dialog-actions" },
    el("button", { type: "button", class: "bk-button", testid: "modal-close",
      text: plainText(top.close) || "Cancel", onclick: () => closeModal(top) }));
  if (top.submit) actions.appendChild(el("button", { type: "submit", class: "bk-button primary", testid: "modal-submit", text: plainText(top.submit) }));
  form.appendChild(actions);
  form.addEventListener("submit", (e) => { e.preventDefault(); submitModal(top, form); });
  root.replaceChildren(el("div", { class: "overlay" }, form));
  const first = form.querySelector("input, textarea, select");
  if (first) first.focus();
}

function showInputErrors(form, errors) {
  for (const box of form.querySelectorAll("[data-testid=input-error]")) { box.hidden = true; box.textContent = ""; }
  for (const [blockId, message] of Object.entries(errors || {})) {
    const block = [...form.querySelectorAll(".block-input")].find((b) => b.dataset.blockId === blockId);
    const box = block ? block.querySelector("[data-testid=input-error]") : null;
    if (box) { box.textContent = message; box.hidden = false; block.classList.add("has-error"); }
  }
}

async function submitModal(view, form) {
  const values = {};
  const missing = {};
  for (const block of form.querySelectorAll(".block-input")) {
    block.classList.remove("has-error");
    const control = block.querySelector("[data-kind]");
    if (!control) continue;
    const value = inputValue(control);
    if (value === null) continue;
    const blockId = control.dataset.blockId;
    (values[blockId] = values[blockId] || {})[control.dataset.actionId] = value;
    const spec = (view.blocks || []).find((b) => b.block_id === blockId);
    if (spec && !spec.optional && value === "") missing[blockId] = "Please fill out this field.";
  }
  if (Object.keys(missing).length) { showInputErrors(form, missing); return; }
  const submit = form.querySelector("[data-testid=modal-submit]");
  submit.disabled = true;
  try {
    const result = await api("/ui/api/submit", { user: state.user, view_id: view.id, values });
    const errorBox = form.querySelector("[data-testid=modal-error]");
    if (!result.ok) {
      errorBox.textContent = `We had some trouble connecting: ${result.error}`;
      errorBox.hidden = false;
      return;
    }
    errorBox.hidden = true;
    const ack = result.payload || {};
    if (ack.response_action === "errors") showInputErrors(form, ack.errors);
    else refresh();
  } finally {
    submit.disabled = false;
  }
}

async function closeModal(view) {
  await api("/ui/api/close", { user: state.user, view_id: view.id });
  refresh();
}

// -- App Home ------------------------------------------------------------------

async function openHome() {
  const result = await api("/ui/api/home", { user: state.user });
  if (!result.ok) notice(`The app did not answer app_home_opened: ${result.error}`);
}

function renderHome() {
  const box = $("home");
  if (state.place !== "home") return;
  const view = state.views.home;
  box.replaceChildren();
  if (!view) {
    box.appendChild(el("div", { class: "empty", testid: "home-empty", text: "The app has not published a Home tab for you yet." }));
    return;
  }
  box.appendChild(renderBlocks(view.blocks || [], { viewId: view.id }));
}

// -- composers ------------------------------------------------------------------

function wireComposer(form, input, threadTs) {
  const send = async () => {
    const text = input.value.trim();
    if (!text) return;
    const body = { user: state.user, channel: state.place, text };
    const thread = threadTs();
    if (thread) body.thread_ts = thread;
    input.value = "";
    const result = await api("/ui/api/post", body);
    if (!result.ok) {
      notice(text.startsWith("/") ? `${text.split(" ")[0]} failed: ${result.error}` : `Could not send: ${result.error}`);
      if (!input.value) input.value = text;
    } else notice(null);
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); send(); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
}

// -- start ------------------------------------------------------------------

async function main() {
  state.info = await api("/ui/api/workspace");
  const params = new URLSearchParams(location.search);
  const switcher = $("user-switch");
  for (const user of state.info.users) switcher.appendChild(el("option", { value: user.id, text: user.real_name }));
  state.user = state.info.users.some((u) => u.id === params.get("user")) ? params.get("user") : state.info.users[0].id;
  switcher.value = state.user;
  switcher.addEventListener("change", () => setUser(switcher.value));
  $("app-home").addEventListener("click", () => go("home"));
  $("tab-home").addEventListener("click", () => go("home"));
  $("tab-messages").addEventListener("click", () => go(myIm()));
  $("thread-close").addEventListener("click", () => { state.thread = null; saveLocation(); renderThread(); renderMessages(); });
  wireComposer($("composer"), $("composer-input"), () => null);
  wireComposer($("thread-composer"), $("thread-input"), () => state.thread);
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    if ($("confirm-root").firstChild) { $("confirm-root").querySelector("[data-testid=confirm-no]").click(); return; }
    const top = state.views.modals[state.views.modals.length - 1];
    if (top) closeModal(top);
  });
  go(params.get("channel") || "C0GENERAL", params.get("thread"));
  connect();
}

main();
