// The modal on top of the view stack: its form, Slack's required-field check, submit and close.
import { plainText, renderBlocks } from "./blocks.js";
import { $, api, el, refresh, state } from "./page.js";

function inputValue(control) {
  const kind = control.dataset.kind;
  if (kind === "checkboxes") return [...control.querySelectorAll("input:checked")].map((c) => c.value).join(",");
  if (kind === "plain_text_input" || kind === "static_select") return control.value;
  return null;
}

export function renderModal() {
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

export async function closeModal(view) {
  await api("/ui/api/close", { user: state.user, view_id: view.id });
  refresh();
}
