// Pools and flavors (admin): each list shows what the API answered, refusals included, in
// its own block (a deployment without pooling answers 404 here, and that is worth seeing).

import { request } from "./api.js";
import { $, el } from "./dom.js";

async function showList(path, key, target) {
  const block = $(target);
  try {
    const page = await request("GET", path, { query: { detailed: "true" } });
    const items = page ? page[key] || [] : [];
    if (!items.length) {
      block.replaceChildren(el("p", {}, `No ${key}.`));
      return;
    }
    block.replaceChildren(el("ul", {}, ...items.map((item) =>
      el("li", {}, el("strong", {}, item.name), " ", el("code", {}, JSON.stringify(item))))));
  } catch (error) {
    // REST titles of protocol errors already start with the status ("404 Not Found").
    const status = error.status && !error.message.startsWith(String(error.status)) ? `${error.status} ` : "";
    block.replaceChildren(el("p", { class: "api-answer" }, `The API answered ${status}${error.message}`));
  }
}

export class AdminView {
  constructor() {
    $("#admin-refresh").addEventListener("click", () => this.show());
  }

  show() {
    showList("v2/pools", "pools", "#pools");
    showList("v2/flavors", "flavors", "#flavors");
  }

  hide() {}
}
