// Who is signed in, for this browser tab only (sessionStorage: gone when the tab closes).

const KEY = "tidings-console-session";

export function currentSession() {
  const raw = sessionStorage.getItem(KEY);
  return raw ? JSON.parse(raw) : null;
}

export function saveSession({ project = null, roles = null, token = null, label }) {
  const session = { clientId: crypto.randomUUID(), project, roles, token, label };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

// Keystone password sign-in through the api's exchange (the browser need not reach Keystone).
export async function exchangePassword({ username, password, project, domain }) {
  const response = await fetch(new URL("console/token", document.baseURI), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      username, password, project, user_domain: domain, project_domain: domain,
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body.description ? `${body.title}: ${body.description}` : (body.title || `Sign-in failed (${response.status})`));
  }
  return body;
}
