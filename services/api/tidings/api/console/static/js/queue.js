// One queue: metadata, live tail, posting, browsing and peeking messages, subscriptions and
// their failed deliveries, purge and delete.

import { request, nextHref, q, PATCH_TYPE } from "./api.js";
import { $, el, fill, guarded, parseJson, showError, showStatus } from "./dom.js";
import { LiveTail, websocketUrl } from "./live.js";
import { REFRESH_SECONDS } from "./queues.js";

const TAIL_LIMIT = 200; // entries kept on screen

// JSON-patch operations turning `before` into `after` (top-level keys of the metadata).
export function metadataPatch(before, after) {
  const ops = [];
  for (const key of Object.keys(before)) {
    if (!(key in after)) ops.push({ op: "remove", path: `/metadata/${key}` });
  }
  for (const [key, value] of Object.entries(after)) {
    if (!(key in before)) ops.push({ op: "add", path: `/metadata/${key}`, value });
    else if (JSON.stringify(before[key]) !== JSON.stringify(value)) ops.push({ op: "replace", path: `/metadata/${key}`, value });
  }
  return ops;
}

function stateOf(message) {
  return message.href.includes("?claim_id=") ? "claimed" : "free";
}

function subscriberOf(kind, text) {
  if (kind === "email") return text.startsWith("mailto:") ? text : `mailto:${text}`;
  return text;
}

export class QueueView {
  constructor({ config, back }) {
    this.config = config;
    this.back = back;
    this.name = null;
    this.metadata = {};
    this.tail = null;
    this.page = null;
    this.next = null;
    this.timer = null;
    $("#back-to-queues").addEventListener("click", () => this.back());
    $("#form-metadata").addEventListener("submit", (e) => { e.preventDefault(); this.saveMetadata(); });
    $("#tail-toggle").addEventListener("click", () => (this.tail ? this.stopTail() : this.startTail()));
    $("#form-post").addEventListener("submit", (e) => { e.preventDefault(); this.post(); });
    $("#form-browse").addEventListener("submit", (e) => { e.preventDefault(); this.firstPage(); });
    $("#messages-first").addEventListener("click", () => this.firstPage());
    $("#messages-next").addEventListener("click", () => { if (this.next) { this.page = this.next; this.browse(); } });
    $("#form-peek").addEventListener("submit", (e) => { e.preventDefault(); this.peek($("#peek-id").value.trim()); });
    $("#form-subscription").addEventListener("submit", (e) => { e.preventDefault(); this.saveSubscription(); });
    $("#subscription-cancel").addEventListener("click", () => this.resetSubscriptionForm());
    $("#queue-purge").addEventListener("click", () => this.purge());
    $("#queue-delete").addEventListener("click", () => this.remove());
  }

  get base() {
    return `v2/queues/${q(this.name)}`;
  }

  show(name) {
    this.name = name;
    $("#queue-name").textContent = name;
    $("#tail").replaceChildren();
    $("#peeked").textContent = "";
    $("#deliveries").hidden = true;
    this.resetSubscriptionForm();
    this.loadMetadata();
    this.firstPage();
    this.loadSubscriptions();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.browse(), REFRESH_SECONDS * 1000);
  }

  hide() {
    clearInterval(this.timer);
    this.timer = null;
    this.stopTail();
  }

  // ---- metadata
  async loadMetadata() {
    await guarded(async () => {
      const queue = await request("GET", this.base);
      this.metadata = queue || {};
      $("#metadata").value = JSON.stringify(this.metadata, null, 2);
    });
  }

  async saveMetadata() {
    await guarded(async () => {
      const wanted = parseJson($("#metadata").value, "Metadata");
      if (typeof wanted !== "object" || wanted === null || Array.isArray(wanted)) throw new Error("Metadata must be a JSON object.");
      const ops = metadataPatch(this.metadata, wanted);
      if (!ops.length) { showStatus("Metadata unchanged."); return; }
      await request("PATCH", this.base, { body: ops, contentType: PATCH_TYPE });
      showStatus("Metadata saved.");
      await this.loadMetadata();
    });
  }

  // ---- live tail
  startTail() {
    const toggle = $("#tail-toggle");
    this.tail = new LiveTail(websocketUrl(this.config), this.name, {
      onMessage: (n) => this.tailed(n),
      onState: (text) => { $("#tail-state").textContent = text; },
      onError: (text) => showError(new Error(`Live tail: ${text}`)),
      onClosed: () => this.tailEnded(),
    });
    this.tail.start();
    toggle.textContent = "Stop live tail";
    toggle.setAttribute("aria-pressed", "true");
  }

  stopTail() {
    if (this.tail) this.tail.stop();
    this.tailEnded();
  }

  tailEnded() {
    this.tail = null;
    const toggle = $("#tail-toggle");
    toggle.textContent = "Start live tail";
    toggle.setAttribute("aria-pressed", "false");
  }

  tailed(notification) {
    const list = $("#tail");
    const time = new Date().toLocaleTimeString();
    list.prepend(el("li", { "data-message-id": notification.message_id || "" },
      el("time", {}, time), " ",
      el("code", {}, notification.message_id || ""), " ",
      el("span", { class: "body" }, JSON.stringify(notification.body))));
    while (list.children.length > TAIL_LIMIT) list.lastElementChild.remove();
  }

  // ---- posting
  async post() {
    await guarded(async () => {
      const lines = $("#post-bodies").value.split("\n").map((l) => l.trim()).filter(Boolean);
      const ttl = $("#post-ttl").value;
      const delay = $("#post-delay").value;
      const messages = lines.map((line, i) => {
        const message = { body: parseJson(line, `Line ${i + 1}`) };
        if (ttl) message.ttl = Number(ttl);
        if (delay) message.delay = Number(delay);
        return message;
      });
      if (!messages.length) throw new Error("Write at least one body.");
      const result = await request("POST", `${this.base}/messages`, { body: { messages } });
      $("#post-bodies").value = "";
      showStatus(`Posted ${result.resources.length} message(s).`);
      await this.browse();
    });
  }

  // ---- browsing
  firstPage() {
    this.page = `${this.base}/messages`;
    this.browse();
  }

  async browse() {
    if (!this.page) return;
    await guarded(async () => {
      const query = {
        echo: "true",
        include_claimed: $("#include-claimed").checked ? "true" : undefined,
        include_delayed: $("#include-delayed").checked ? "true" : undefined,
        limit: $("#browse-limit").value || 10,
      };
      const page = await request("GET", this.page, { query });
      const messages = page ? page.messages : [];
      this.next = messages.length ? nextHref(page) : null;
      $("#messages-next").disabled = !this.next;
      const rows = messages.map((m) => el("tr", { "data-message-id": m.id },
        el("th", { scope: "row" }, el("code", {}, m.id)),
        el("td", { "data-field": "state" }, stateOf(m)),
        el("td", {}, m.age),
        el("td", {}, m.ttl),
        el("td", { class: "body" }, JSON.stringify(m.body)),
        el("td", {},
          el("button", { type: "button", "aria-label": `Peek ${m.id}`, onclick: () => this.peek(m.id) }, "Peek"),
          el("button", { type: "button", class: "danger", "aria-label": `Delete message ${m.id}`, onclick: () => this.deleteMessage(m) }, "Delete"))));
      fill($("#messages-table tbody"), rows, "No messages on this page.", 6);
    });
  }

  async peek(id) {
    await guarded(async () => {
      const message = await request("GET", `${this.base}/messages/${q(id)}`);
      $("#peek-id").value = id;
      $("#peeked").textContent = JSON.stringify({ ...message, state: stateOf(message) }, null, 2);
    });
  }

  async deleteMessage(message) {
    await guarded(async () => {
      // A claimed message's href carries its claim id, which the delete needs.
      await request("DELETE", message.href.replace(/^\//, ""));
      showStatus(`Message ${message.id} deleted.`);
      await this.browse();
    });
  }

  // ---- subscriptions
  async loadSubscriptions() {
    await guarded(async () => {
      const page = await request("GET", `${this.base}/subscriptions`);
      const subscriptions = page ? page.subscriptions : [];
      const rows = subscriptions.map((s) => el("tr", { "data-subscription-id": s.id },
        el("th", { scope: "row" }, s.subscriber),
        el("td", {}, s.ttl),
        el("td", {}, s.age),
        el("td", {}, s.confirmed ? "yes" : "no"),
        el("td", {},
          el("button", { type: "button", "aria-label": `Deliveries of ${s.subscriber}`, onclick: () => this.deliveries(s) }, "Deliveries"),
          el("button", { type: "button", "aria-label": `Edit ${s.subscriber}`, onclick: () => this.editSubscription(s) }, "Edit"),
          el("button", { type: "button", class: "danger", "aria-label": `Delete subscription ${s.subscriber}`, onclick: () => this.deleteSubscription(s) }, "Delete"))));
      fill($("#subscriptions-table tbody"), rows, "No subscriptions.", 5);
    });
  }

  resetSubscriptionForm() {
    $("#subscription-id").value = "";
    $("#subscriber").value = "";
    $("#subscription-ttl").value = "3600";
    $("#subscription-options").value = "{}";
    $("#subscription-submit").textContent = "Create subscription";
    $("#subscription-cancel").hidden = true;
  }

  editSubscription(subscription) {
    const mail = subscription.subscriber.startsWith("mailto:");
    $("#subscription-id").value = subscription.id;
    $("#subscription-kind").value = mail ? "email" : "webhook";
    $("#subscriber").value = subscription.subscriber;
    $("#subscription-ttl").value = subscription.ttl;
    $("#subscription-options").value = JSON.stringify(subscription.options || {}, null, 2);
    $("#subscription-submit").textContent = "Save subscription";
    $("#subscription-cancel").hidden = false;
    $("#subscriber").focus();
  }

  async saveSubscription() {
    await guarded(async () => {
      const body = {
        subscriber: subscriberOf($("#subscription-kind").value, $("#subscriber").value.trim()),
        ttl: Number($("#subscription-ttl").value),
        options: parseJson($("#subscription-options").value || "{}", "Options"),
      };
      const id = $("#subscription-id").value;
      if (id) {
        await request("PATCH", `${this.base}/subscriptions/${q(id)}`, { body });
        showStatus("Subscription saved.");
      } else {
        await request("POST", `${this.base}/subscriptions`, { body });
        showStatus("Subscription created.");
      }
      this.resetSubscriptionForm();
      await this.loadSubscriptions();
    });
  }

  async deleteSubscription(subscription) {
    if (!confirm(`Delete the subscription of ${subscription.subscriber}?`)) return;
    await guarded(async () => {
      await request("DELETE", `${this.base}/subscriptions/${q(subscription.id)}`);
      showStatus("Subscription deleted.");
      $("#deliveries").hidden = true;
      await this.loadSubscriptions();
    });
  }

  async deliveries(subscription) {
    await guarded(async () => {
      const page = await request("GET", `${this.base}/subscriptions/${q(subscription.id)}/failed_deliveries`);
      const records = page ? page.failed_deliveries : [];
      $("#deliveries-of").textContent = subscription.subscriber;
      const rows = records.map((r) => el("tr", { "data-delivery-id": r.delivery_id },
        el("th", { scope: "row" }, el("code", {}, r.message_id)),
        el("td", {}, r.attempts),
        el("td", { class: "last-error" }, r.last_error),
        el("td", {}, r.failed)));
      fill($("#deliveries-table tbody"), rows, "No failed deliveries: every delivery so far was accepted or is still being tried.", 4);
      $("#deliveries").hidden = false;
    });
  }

  // ---- danger zone
  async purge() {
    if (!confirm(`Purge every message of ${this.name}?`)) return;
    await guarded(async () => {
      await request("POST", `${this.base}/purge`, { body: { resource_types: ["messages"] } });
      showStatus(`Queue ${this.name} purged.`);
      await this.firstPage();
    });
  }

  async remove() {
    if (!confirm(`Delete queue ${this.name} and everything in it?`)) return;
    await guarded(async () => {
      await request("DELETE", this.base);
      showStatus(`Queue ${this.name} deleted.`);
      this.back();
    });
  }
}
