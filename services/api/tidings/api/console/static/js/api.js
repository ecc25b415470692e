// The REST client: every call carries Client-ID and the session's credentials, and every
// refusal becomes an ApiError whose message is the API's own title and description.

import { currentSession } from "./session.js";

export class ApiError extends Error {
  constructor(status, title, description) {
    super(description ? `${title}: ${description}` : title);
    this.status = status;
    this.title = title;
    this.description = description;
  }
}

export const PATCH_TYPE = "application/openstack-messaging-v2.0-json-patch";

export function authHeaders(session = currentSession()) {
  const headers = { "Client-ID": session.clientId };
  if (session.token) headers["X-Auth-Token"] = session.token;
  if (session.project) headers["X-Project-ID"] = session.project;
  if (session.roles) headers["X-Roles"] = session.roles;
  return headers;
}

async function errorFrom(response) {
  let title = `${response.status} ${response.statusText}`.trim();
  let description = null;
  try {
    const body = await response.json();
    // REST bodies are {title, description}; WebSocket-style bodies {error, exception}.
    title = body.title || body.error || title;
    description = body.description || body.exception || null;
  } catch {
    // not JSON: the status line is all we have
  }
  return new ApiError(response.status, title, description);
}

// path is relative to the API root ("v2/queues"), so the console works under any prefix.
export async function request(method, path, { body, contentType, query } = {}) {
  const url = new URL(path, document.baseURI);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = authHeaders();
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = contentType || "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new ApiError(0, "Network error", String(error.message || error));
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

// The href of a "next" link, made relative to the API root (hrefs start with /v2/...).
export function nextHref(document) {
  const link = (document && document.links || []).find((l) => l.rel === "next");
  return link ? link.href.replace(/^\//, "") : null;
}

export const q = encodeURIComponent;
