// What every part of the sandbox page shares: its state, the DOM and API helpers, the lookups
// into the workspace, and the one refresh everything asks for (app.js says how to load).

export const $ = (id) => document.getElementById(id);

export const state = {
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

export function el(tag, attrs, ...children) {
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

export async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (e) { data = { ok: false, error: `HTTP ${response.status}` }; }
  if (!response.ok && data && data.ok === undefined) data.ok = false;
  return data;
}

export function notice(message) {
  const box = $("notice");
  if (!message) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = message;
  box.hidden = false;
}

export function textCtx() {
  const channels = {};
  for (const c of state.info.channels) channels[c.id] = c;
  return { users: state.info.all_users, channels, usergroups: state.info.usergroups, me: state.user };
}

export function userName(id) {
  const user = state.info.all_users[id];
  return user ? (user.is_bot ? "signoff" : user.real_name) : id;
}

export function timeOf(ts) {
  const date = new Date(parseFloat(ts) * 1000);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function channelById(id) {
  return state.info.channels.find((c) => c.id === id);
}

export function myIm() { return state.info.ims[state.user]; }

export function saveLocation() {
  const params = new URLSearchParams();
  params.set("user", state.user);
  params.set("channel", state.place);
  if (state.thread) params.set("thread", state.thread);
  history.replaceState(null, "", "?" + params.toString());
}

export function visibleChannels() {
  return state.info.channels.filter((c) => c.members.includes(state.user));
}

// -- refresh ------------------------------------------------------------------

// app.js sets what a refresh loads and renders; the rest of the page only asks for one.
let loader = async () => {};

export function setLoader(load) {
  loader = load;
}

let refreshing = null;
let refreshAgain = false;

export function refresh() {
  if (refreshing) { refreshAgain = true; return refreshing; }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      await loader();
    } while (refreshAgain);
    refreshing = null;
  })();
  return refreshing;
}
