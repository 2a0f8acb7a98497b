// The sandbox page: a Slack-like channel over the sandbox's JSON API, live via SSE.
// Every string from the server reaches the DOM through textContent (see mrkdwn.js).
// The entry module: navigation, the sidebar and header, loading and live updates, the composers.
import { closeModal, renderModal } from "./modals.js";
import { openHome, renderHome } from "./home.js";
import { renderMessages, renderThread } from "./messages.js";
import {
  $, api, channelById, el, myIm, notice, refresh, saveLocation, setLoader, state, visibleChannels,
} from "./page.js";

// -- URL and navigation ------------------------------------------------------------------

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


setLoader(load);
main();
