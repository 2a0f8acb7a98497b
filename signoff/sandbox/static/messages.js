// The channel's messages and the open thread, ephemerals included.
import { renderBlocks } from "./blocks.js";
import * as Mrkdwn from "./mrkdwn.js";
import { $, channelById, el, refresh, saveLocation, state, textCtx, timeOf, userName } from "./page.js";

export function renderMessages() {
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
  // An open stream: Slack's client shows the app as still typing until the stream is stopped.
  if (m.streaming) body.appendChild(el("div", { class: "streaming", testid: "streaming", text: "typing…" }));
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

export function renderThread() {
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
