// Slack mrkdwn → DOM nodes. Safe by construction: every piece of text becomes a
// text node (textContent), never HTML. Entities (&lt; &gt; &amp;) are decoded
// for display only after the markup has been parsed, so "&lt;b&gt;" shows as
// "<b>" and is never re-read as a tag, a mention or a link.
const EMOJI = {
  warning: "⚠️", white_check_mark: "✅", no_entry_sign: "🚫", no_entry: "⛔", x: "❌", tada: "🎉",
  hourglass_flowing_sand: "⏳", hourglass: "⌛", alarm_clock: "⏰", writing_hand: "✍️",
  spiral_note_pad: "🗒️", repeat: "🔁", raised_hand: "✋", pencil2: "✏️", memo: "📝", mag: "🔍",
  mag_right: "🔎", gear: "⚙️", rotating_light: "🚨", leftwards_arrow_with_hook: "↩️",
  information_source: "ℹ️", home: "🏠", grey_question: "❔", eyes: "👀", clipboard: "📋",
  arrows_counterclockwise: "🔄", heavy_check_mark: "✔️", thumbsup: "👍", "+1": "👍", wave: "👋",
  robot_face: "🤖", bell: "🔔", lock: "🔒", page_facing_up: "📄", speech_balloon: "💬",
  hammer_and_wrench: "🛠️", mega: "📣", bar_chart: "📊", octagonal_sign: "🛑",
  rocket: "🚀", raising_hand: "🙋", arrow_right: "➡️", palm_tree: "🌴",
};

export function decode(s) {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

export function emojify(s) {
  return s.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// One inline token at a time: `code`, <angle>, *bold*, _italic_, ~strike~.
const INLINE = new RegExp(
  [
    "`([^`\\n]+)`",
    "<([^<>\\n]+)>",
    "(?<![\\p{L}\\p{N}*])\\*(?=\\S)([^*\\n]*?\\S)\\*(?![\\p{L}\\p{N}*])",
    "(?<![\\p{L}\\p{N}_])_(?=\\S)([^_\\n]*?\\S)_(?![\\p{L}\\p{N}_])",
    "(?<![\\p{L}\\p{N}~])~(?=\\S)([^~\\n]*?\\S)~(?![\\p{L}\\p{N}~])",
  ].join("|"),
  "gu",
);

function text(parent, raw, opts) {
  parent.appendChild(document.createTextNode(opts.emoji === false ? decode(raw) : emojify(decode(raw))));
}

function inline(parent, raw, ctx) {
  let last = 0;
  INLINE.lastIndex = 0;
  const matches = [...raw.matchAll(INLINE)];
  for (const m of matches) {
    if (m.index > last) text(parent, raw.slice(last, m.index), ctx);
    if (m[1] !== undefined) parent.appendChild(el("code", "inline-code", decode(m[1])));
    else if (m[2] !== undefined) parent.appendChild(angle(m[2], ctx));
    else if (m[3] !== undefined) inline(parent.appendChild(el("b")), m[3], ctx);
    else if (m[4] !== undefined) inline(parent.appendChild(el("i")), m[4], ctx);
    else if (m[5] !== undefined) inline(parent.appendChild(el("s")), m[5], ctx);
    last = m.index + m[0].length;
  }
  if (last < raw.length) text(parent, raw.slice(last), ctx);
}

// <@U123>, <#C123>, <!subteam^S123>, <!here>, <https://x|label>
function angle(body, ctx) {
  const bar = body.indexOf("|");
  const target = bar >= 0 ? body.slice(0, bar) : body;
  const label = bar >= 0 ? decode(body.slice(bar + 1)) : null;
  if (target.startsWith("@")) {
    const id = target.slice(1);
    const user = ctx.users && ctx.users[id];
    const node = el("span", "mention", "@" + (user ? user.real_name : label || id));
    node.dataset.testid = "mention";
    node.dataset.userId = id;
    if (ctx.me === id) node.classList.add("mention-me");
    return node;
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    const channel = ctx.channels && ctx.channels[id];
    return el("span", "mention", "#" + (channel ? channel.name : label || id));
  }
  if (target.startsWith("!subteam^")) {
    const id = target.slice("!subteam^".length);
    const group = ctx.usergroups && ctx.usergroups[id];
    const node = el("span", "mention", group ? "@" + group.handle : (label || "@" + id));
    node.dataset.testid = "mention";
    return node;
  }
  if (target.startsWith("!")) {
    const word = target.slice(1).split("^")[0];
    if (["here", "channel", "everyone"].includes(word)) return el("span", "mention", "@" + word);
    return el("span", null, label || decode(target));
  }
  const url = decode(target);
  if (/^(https?:|mailto:)/i.test(url)) {
    const a = el("a", null, label || url);
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }
  return el("span", null, label || url);
}

// A whole mrkdwn string: ```pre``` blocks, "> " quotes, then inline markup.
export function render(raw, ctx) {
  const root = el("div", "mrkdwn");
  const parts = String(raw || "").split(/```/);
  parts.forEach((part, i) => {
    if (i % 2 === 1 && i < parts.length - 1) {
      root.appendChild(el("pre", "pre", decode(part.replace(/^\n/, ""))));
      return;
    }
    if (i % 2 === 1) part = "```" + part; // unbalanced fence: plain text
    else if (i > 0) part = part.replace(/^\n/, ""); // the line break after a closing fence
    if (!part) return;
    let quote = null;
    let lines = [];
    const flush = () => {
      if (!lines.length) return;
      const target = quote ? root.appendChild(el("blockquote")) : root.appendChild(el("span", "lines"));
      inline(target, lines.join("\n"), ctx);
      lines = [];
    };
    for (const line of part.split("\n")) {
      const q = /^(&gt;|>) ?/.exec(line);
      const isQuote = Boolean(q);
      if (isQuote !== quote) {
        flush();
        quote = isQuote;
      }
      lines.push(isQuote ? line.slice(q[0].length) : line);
    }
    flush();
  });
  return root;
}

export function plain(raw, emoji) {
  return el("span", "plain", emoji === false ? String(raw || "") : emojify(String(raw || "")));
}
