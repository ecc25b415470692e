// The console's entry point: reads the deployment's configuration, signs in, switches views.

import { $, guarded, showError, showStatus } from "./dom.js";
import { clearSession, currentSession, exchangePassword, saveSession } from "./session.js";
import { QueuesView } from "./queues.js";
import { QueueView } from "./queue.js";
import { AdminView } from "./admin.js";

const VIEWS = ["sign-in", "queues", "queue", "admin"];

async function loadConfig() {
  const response = await fetch(new URL("console/config.json", document.baseURI));
  if (!response.ok) throw new Error(`The console configuration could not be read (${response.status}).`);
  return response.json();
}

function main(config) {
  let active = null;
  const views = {};

  function show(name, argument) {
    if (active && views[active]) views[active].hide();
    for (const view of VIEWS) $(`#view-${view}`).hidden = view !== name;
    for (const button of document.querySelectorAll("#nav [data-view]")) {
      if (button.dataset.view === name || (name === "queue" && button.dataset.view === "queues")) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
    active = name;
    if (views[name]) views[name].show(argument);
    $("#main").focus();
  }

  views.queues = new QueuesView({ openQueue: (queue) => show("queue", queue) });
  views.queue = new QueueView({ config, back: () => show("queues") });
  views.admin = new AdminView();

  function signedIn(session) {
    $("#nav").hidden = false;
    $("#who").textContent = session.label;
    show("queues");
  }

  function signIn() {
    $("#nav").hidden = true;
    const keystone = config.auth_strategy === "keystone";
    $("#sign-in-mode").textContent = keystone
      ? "This deployment authenticates with Keystone."
      : "This deployment runs without authentication (noauth): the project id is all it needs.";
    $("#form-noauth").hidden = keystone;
    $("#keystone-forms").hidden = !keystone;
    $("#form-password").hidden = !config.token_exchange;
    show("sign-in");
  }

  $("#form-noauth").addEventListener("submit", (event) => {
    event.preventDefault();
    const project = $("#noauth-project").value.trim();
    const roles = $("#noauth-roles").value.trim();
    signedIn(saveSession({ project, roles: roles || null, label: `project ${project}` }));
  });
  $("#form-token").addEventListener("submit", (event) => {
    event.preventDefault();
    signedIn(saveSession({ token: $("#keystone-token").value.trim(), label: "Keystone token" }));
    $("#keystone-token").value = "";
  });
  $("#form-password").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const issued = await exchangePassword({
        username: $("#keystone-user").value.trim(),
        password: $("#keystone-password").value,
        project: $("#keystone-project").value.trim(),
        domain: $("#keystone-domain").value.trim() || "Default",
      });
      $("#keystone-password").value = "";
      signedIn(saveSession({ token: issued.token, project: issued.project_id, label: `${$("#keystone-user").value.trim()} in ${$("#keystone-project").value.trim()}` }));
    });
  });
  $("#sign-out").addEventListener("click", () => {
    clearSession();
    showError(null);
    showStatus("Signed out.");
    signIn();
  });
  for (const button of document.querySelectorAll("#nav [data-view]")) {
    button.addEventListener("click", () => show(button.dataset.view));
  }

  const session = currentSession();
  if (session) signedIn(session);
  else signIn();
}

loadConfig().then(main, (error) => showError(error));
