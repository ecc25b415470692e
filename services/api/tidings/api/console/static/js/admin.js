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
    block.replaceChildren(el("p", { class: "api-answer" }, `The API answered ${error.status || ""} ${error.message}`));
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
