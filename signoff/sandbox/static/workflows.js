// The sandbox's Workflow Builder page: start a run of the app's step, list the runs with their outputs.
// Every string from the server reaches the DOM through textContent (el's "text").
import { $, el } from "./page.js";

const params = new URLSearchParams(location.search);

function notice(text) {
  $("notice").hidden = !text;
  $("notice").textContent = text || "";
}

async function loadWorkspace() {
  const info = await (await fetch("/ui/api/workspace")).json();
  const people = info.users || [];
  for (const user of people) {
    $("run-user").appendChild(el("option", { value: user.id, text: `${user.name} (${user.id})` }));
    $("in-approvers").appendChild(el("label", { class: "approver" },
      el("input", { type: "checkbox", value: user.id, testid: `approver-${user.id}` }),
      el("span", { text: ` ${user.name}` })));
  }
  if (params.get("user")) $("run-user").value = params.get("user");
  for (const channel of info.channels || []) {
    if (channel.is_im) continue;
    $("in-channel").appendChild(el("option", { value: channel.id, text: `#${channel.name}` }));
  }
}

function renderRun(run) {
  const item = el("li", { class: "run", testid: `run-${run.function_execution_id}`, dataset: { status: run.status } },
    el("div", {}, el("strong", { text: run.inputs.title || run.callback_id }),
      el("span", { class: "topic", text: ` · ${run.function_execution_id} · ` }),
      el("span", { class: "run-status", testid: "run-status", text: run.status })));
  if (run.outputs) {
    const outputs = el("dl", { class: "run-outputs", testid: "run-outputs" });
    for (const [name, value] of Object.entries(run.outputs)) {
      outputs.appendChild(el("dt", { text: name }));
      outputs.appendChild(el("dd", { testid: `output-${name}`, text: Array.isArray(value) ? value.join(", ") : String(value) }));
    }
    item.appendChild(outputs);
  }
  if (run.error) item.appendChild(el("div", { class: "notice", testid: "run-error", text: run.error }));
  return item;
}

async function refreshRuns() {
  const data = await (await fetch("/ui/api/workflows")).json();
  $("runs").replaceChildren(...data.runs.map(renderRun));
}

async function run(event) {
  event.preventDefault();
  const approvers = [...$("in-approvers").querySelectorAll("input:checked")].map((box) => box.value);
  const inputs = {
    title: $("in-title").value, body: $("in-body").value, approvers,
    channel: $("in-channel").value, required_approvals: $("in-required").value, deadline_hours: $("in-deadline").value,
  };
  const response = await fetch("/ui/api/workflows", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: $("run-user").value, inputs }),
  });
  const answer = await response.json();
  notice(answer.ok ? (answer.delivered ? null : "The app did not acknowledge function_executed.") : answer.error);
  await refreshRuns();
}

$("run-form").addEventListener("submit", run);
await loadWorkspace();
await refreshRuns();
// A run ends when the app completes it, any time later: poll, as a workflow's activity log refreshes.
setInterval(refreshRuns, 1000);
