// The queues list: names with their stats, refreshed on a timer while the list is shown.

import { request, nextHref, q } from "./api.js";
import { $, el, fill, guarded, showStatus } from "./dom.js";

export const REFRESH_SECONDS = 5;

export class QueuesView {
  constructor({ openQueue }) {
    this.openQueue = openQueue;
    this.page = "v2/queues";
    this.next = null;
    this.timer = null;
    $("#refresh-seconds").textContent = String(REFRESH_SECONDS);
    $("#form-create-queue").addEventListener("submit", (event) => {
      event.preventDefault();
      this.create($("#new-queue-name").value.trim());
    });
    $("#queues-first").addEventListener("click", () => { this.page = "v2/queues"; this.refresh(); });
    $("#queues-next").addEventListener("click", () => {
      if (this.next) { this.page = this.next; this.refresh(); }
    });
  }

  show() {
    this.refresh();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(), REFRESH_SECONDS * 1000);
  }

  hide() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async refresh() {
    await guarded(async () => {
      const page = await request("GET", this.page, { query: { limit: 20 } });
      const queues = page ? page.queues : [];
      this.next = queues.length ? nextHref(page) : null;
      $("#queues-next").disabled = !this.next;
      const stats = await Promise.all(
        queues.map((queue) => request("GET", `v2/queues/${q(queue.name)}/stats`).catch(() => null)),
      );
      const rows = queues.map((queue, i) => this.row(queue.name, stats[i]));
      fill($("#queues-table tbody"), rows, "No queues yet.", 6);
    });
  }

  row(name, stats) {
    const m = stats ? stats.messages : {};
    const oldest = m.oldest ? m.oldest.age : "";
    return el("tr", { "data-queue": name },
      el("th", { scope: "row" }, el("button", { type: "button", class: "link", onclick: () => this.openQueue(name) }, name)),
      el("td", { "data-stat": "free" }, m.free ?? "?"),
      el("td", { "data-stat": "claimed" }, m.claimed ?? "?"),
      el("td", { "data-stat": "total" }, m.total ?? "?"),
      el("td", { "data-stat": "oldest" }, oldest),
      el("td", {},
        el("button", { type: "button", "aria-label": `Purge ${name}`, onclick: () => this.purge(name) }, "Purge"),
        el("button", { type: "button", class: "danger", "aria-label": `Delete ${name}`, onclick: () => this.remove(name) }, "Delete")),
    );
  }

  async create(name) {
    await guarded(async () => {
      await request("PUT", `v2/queues/${q(name)}`, { body: {} });
      $("#new-queue-name").value = "";
      showStatus(`Queue ${name} created.`);
      await this.refresh();
    });
  }

  async purge(name) {
    if (!confirm(`Purge every message of ${name}?`)) return;
    await guarded(async () => {
      await request("POST", `v2/queues/${q(name)}/purge`, { body: { resource_types: ["messages"] } });
      showStatus(`Queue ${name} purged.`);
      await this.refresh();
    });
  }

  async remove(name) {
    if (!confirm(`Delete queue ${name} and everything in it?`)) return;
    await guarded(async () => {
      await request("DELETE", `v2/queues/${q(name)}`);
      showStatus(`Queue ${name} deleted.`);
      await this.refresh();
    });
  }
}
