// Block Kit → DOM: blocks, their buttons (with Slack's confirm dialog) and input elements.
import * as Mrkdwn from "./mrkdwn.js";
import { $, api, el, notice, state, textCtx, userName } from "./page.js";

function textObject(obj) {
  if (!obj) return el("span");
  if (obj.type === "mrkdwn") return Mrkdwn.render(obj.text, textCtx());
  return Mrkdwn.plain(obj.text, obj.emoji);
}

export function plainText(obj) {
  return obj ? Mrkdwn.emojify(String(obj.text || "")) : "";
}

export function renderBlocks(blocks, ctx) {
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
    case "markdown":
      return el("div", { testid: "block-markdown" }, Mrkdwn.render(block.text || "", textCtx()));
    case "task_card":
      return taskCard(block);
    case "plan":
      return el("div", { testid: "block-plan" },
        el("div", { class: "plan-title", testid: "plan-title", text: block.title || "" }),
        ...(block.tasks || []).map(taskCard));
    default:
      return el("div", { class: "unsupported", text: `[unsupported block: ${block.type}]` });
  }
}

// A streamed task: its status as Slack's client marks it, its title, details and output.
const TASK_MARKS = { pending: "○", in_progress: "◌", complete: "✓", error: "✗" };

function taskCard(task) {
  return el("div", { class: "task-card task-" + task.status, testid: "task-card", dataset: { status: task.status } },
    el("span", { class: "task-mark", "aria-label": task.status, text: TASK_MARKS[task.status] || "?" }),
    el("span", { class: "task-title", testid: "task-title", text: task.title || "" }),
    task.details ? el("div", { class: "task-details", text: richText(task.details) }) : null,
    task.output ? el("div", { class: "task-output", text: richText(task.output) }) : null);
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
