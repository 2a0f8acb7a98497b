// The App Home tab: app_home_opened on the way in, the published view on the way out.
import { renderBlocks } from "./blocks.js";
import { $, api, el, notice, state } from "./page.js";

export async function openHome() {
  const result = await api("/ui/api/home", { user: state.user });
  if (!result.ok) notice(`The app did not answer app_home_opened: ${result.error}`);
}

export function renderHome() {
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
