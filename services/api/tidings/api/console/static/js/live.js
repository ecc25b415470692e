// The live tail: one WebSocket per tail, subscribed to the queue with `subscription_create`
// without a subscriber; every message posted afterwards arrives as a notification frame.

import { currentSession } from "./session.js";

export function websocketUrl(config) {
  if (config.websocket_url) return config.websocket_url;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.hostname}:9000/`;
}

export class LiveTail {
  // onMessage(notification), onState(text), onError(text), onClosed(): the socket ended by
  // itself (server gone, token expired: close code 4003), not through stop().
  constructor(url, queue, { onMessage, onState, onError, onClosed }) {
    this.url = url;
    this.queue = queue;
    this.onMessage = onMessage;
    this.onState = onState;
    this.onError = onError;
    this.onClosed = onClosed;
    this.socket = null;
  }

  headers() {
    const session = currentSession();
    // The schema asks for X-Project-ID on every frame; in keystone mode the token decides.
    return { "Client-ID": session.clientId, "X-Project-ID": session.project || "keystone", ...(session.roles ? { "X-Roles": session.roles } : {}) };
  }

  send(action, body, extraHeaders = {}) {
    this.socket.send(JSON.stringify({ action, headers: { ...this.headers(), ...extraHeaders }, body }));
  }

  start() {
    this.onState("connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      const session = currentSession();
      if (session.token) this.send("authenticate", {}, { "X-Auth-Token": session.token });
      this.send("subscription_create", { queue_name: this.queue, ttl: 3600 });
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("error", () => this.onError(`The WebSocket API at ${this.url} could not be reached.`));
    socket.addEventListener("close", (event) => {
      if (this.socket === socket) {
        this.socket = null;
        this.onState(event.reason ? `closed: ${event.reason}` : `closed (code ${event.code})`);
        this.onClosed();
      }
    });
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.request) {
      const status = frame.headers && frame.headers.status;
      const action = frame.request.action;
      if (status >= 400) {
        const body = frame.body || {};
        this.onError(`${action}: ${body.error || status}${body.exception ? `: ${body.exception}` : ""}`);
      } else if (action === "subscription_create") {
        this.onState("live");
      }
      return;
    }
    if (frame.Message_Type === "Notification" && frame.queue_name === this.queue) this.onMessage(frame);
  }

  stop() {
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000, "tail stopped");
    this.onState("stopped");
  }
}
