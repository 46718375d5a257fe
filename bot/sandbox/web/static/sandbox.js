// The browser sandbox's page: sends what the person does to /api/…, and redraws the panes that changed.
// No framework and no build step: event delegation on the document, fetch, and a poll once a second.
"use strict";

const page = document.body.dataset;
const POLL_MS = 1000;
let busy = 0;

function where() {
  return { as: page.as, in: page.in, tab: page.tab, thread: page.thread };
}

function toast(text, isError) {
  const box = document.getElementById("toast");
  if (!text) return;
  box.textContent = text;
  box.classList.toggle("error", !!isError);
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, isError ? 9000 : 6000);
}

async function api(action, fields, formData) {
  const body = formData || new FormData();
  for (const [key, value] of Object.entries({ ...where(), ...fields })) {
    if (value !== undefined && value !== null) body.append(key, value);
  }
  busy += 1;
  document.body.classList.add("busy");
  try {
    const answer = await fetch(`/api/${action}`, { method: "POST", body, headers: { "X-Sandbox-Page": "1" } });
    const result = await answer.json().catch(() => ({ ok: false, error: `The sandbox answered ${answer.status}.` }));
    if (!result.ok) toast(result.error, true);
    else if (result.notice) toast(result.notice, false);
    return result.ok;
  } catch (error) {
    toast(`The sandbox did not answer (${error}). Is okr-bot still running?`, true);
    return false;
  } finally {
    busy -= 1;
    if (!busy) document.body.classList.remove("busy");
    await refresh();
  }
}

async function refresh() {
  const params = new URLSearchParams(where());
  for (const pane of document.querySelectorAll("[id^=pane-]")) params.append("v", pane.dataset.v || "");
  let answer;
  try {
    answer = await fetch(`/panes?${params}`);
  } catch (error) {
    return;
  }
  if (!answer.ok) return;
  const { panes } = await answer.json();
  for (const [name, pane] of Object.entries(panes)) {
    const element = document.getElementById(`pane-${name}`);
    if (!element) continue;
    const keep = name === "main" && element.scrollHeight - element.scrollTop - element.clientHeight < 40;
    const typing = name === "thread" ? replyBeingTyped() : null;
    element.innerHTML = pane.html;
    element.dataset.v = pane.v;
    if (typing) restoreReply(typing);
    if (keep || name === "thread") element.scrollTop = element.scrollHeight;
    if (name === "modal") focusForm();
    if (name === "main") openHomeIfEmpty();
  }
}

// the thread pane holds its reply box: what is being typed there outlives the thread changing under it
function replyBeingTyped() {
  const box = document.getElementById("reply-text");
  if (!box || (!box.value && document.activeElement !== box)) return null;
  return { value: box.value, focused: document.activeElement === box, start: box.selectionStart, end: box.selectionEnd };
}

function restoreReply(typing) {
  const box = document.getElementById("reply-text");
  if (!box) return;
  box.value = typing.value;
  if (typing.focused) {
    box.focus();
    box.setSelectionRange(typing.start, typing.end);
  }
}

function focusForm() {
  const form = document.getElementById("modal-form");
  if (!form) return;
  const wrong = form.querySelector(".bk-field-error");
  const target = wrong ? wrong.closest(".bk-input").querySelector("input, select, textarea")
    : form.querySelector("input, select, textarea, button[type=submit]");
  if (target) target.focus();
}

function openHomeIfEmpty() {
  const opener = document.querySelector("[data-auto-home]");
  if (opener && !opener.dataset.sent) {
    opener.dataset.sent = "1";
    api("home", {});
  }
}

// confirm dialogs, as Slack shows a button's `confirm` -------------------------------------------------------

function confirmed(element) {
  const raw = element.dataset.confirm;
  if (!raw) return Promise.resolve(true);
  const spec = JSON.parse(raw);
  const dialog = document.getElementById("confirm-dialog");
  dialog.querySelector("#confirm-title").textContent = spec.title || "Are you sure?";
  dialog.querySelector("#confirm-text").textContent = spec.text || "";
  dialog.querySelector("#confirm-yes").textContent = spec.confirm || "Yes";
  dialog.querySelector("#confirm-deny").textContent = spec.deny || "Cancel";
  dialog.querySelector("#confirm-yes").classList.toggle("danger", spec.style === "danger");
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

// Block Kit elements ------------------------------------------------------------------------------------------

function container(element) {
  const message = element.closest("[data-ts]");
  if (message) return { ts: message.dataset.ts };
  const view = element.closest("[data-view-id]");
  if (view) return { view_id: view.dataset.viewId };
  return {};
}

async function useElement(element, value) {
  const where = container(element);
  const fields = { action_id: element.dataset.actionId, block_id: element.dataset.blockId || "", value, ...where };
  const form = element.closest("#modal-form");
  return api("action", fields, form ? modalFields(form) : undefined);
}

// a form's fields as the sandbox reads them: each under `f:BLOCK_ID`, and every field listed in `fields`, so that
// one left empty (no box ticked) reads as empty rather than as untouched
function modalFields(form) {
  const data = new FormData();
  for (const [name, value] of new FormData(form)) data.append(`f:${name}`, value);
  for (const block of form.querySelectorAll(".bk-input[data-block-id]")) data.append("fields", block.dataset.blockId);
  return data;
}

document.addEventListener("click", async (event) => {
  const target = event.target;
  const button = target.closest("button[data-kind=button], a[data-kind=button]");
  if (button) {
    if (button.tagName === "A") { useElement(button, button.dataset.value || ""); return; }
    event.preventDefault();
    if (await confirmed(button)) useElement(button, button.dataset.value || "");
    return;
  }
  const item = target.closest(".bk-menu-item");
  if (item) {
    const menu = item.closest("[data-kind=overflow]");
    menu.open = false;
    if (await confirmed(menu)) useElement(menu, item.dataset.optionValue);
    return;
  }
  const reaction = target.closest("[data-react]");
  if (reaction) { api("react", { ts: reaction.closest("[data-ts]").dataset.ts, emoji: reaction.dataset.react }); return; }
  if (target.closest("[data-open-react]")) { pickReaction(target.closest("[data-ts]").dataset.ts); return; }
  if (target.closest("[data-shortcut]")) { api("shortcut", { ts: target.closest("[data-ts]").dataset.ts }); return; }
  const close = target.closest("[data-close]");
  if (close) { api("close", { view_id: close.closest("#modal-form").dataset.viewId }); return; }
  const time = target.closest("[data-time]");
  if (time) {
    const jump = time.closest("details");
    if (jump) jump.open = false;
    api("time", { to: time.dataset.time });
    return;
  }
  if (target.closest("[data-afresh]")) {
    const spec = { title: "Start afresh?", text: "Every team, OKR, backlog item and message of the sandbox goes, and the clock goes back to now.", confirm: "Start afresh", deny: "Keep it", style: "danger" };
    const holder = document.createElement("span");
    holder.dataset.confirm = JSON.stringify(spec);
    if (await confirmed(holder)) api("afresh", {});
  }
});

document.addEventListener("change", (event) => {
  const target = event.target;
  if (target.matches("[data-switch-person]")) { target.form.submit(); return; }
  if (target.matches("[data-upload]")) { upload(target); return; }
  const inModal = target.closest("#modal-form");
  const choices = target.closest(".bk-choices");
  if (target.matches("select.bk-select") && !inModal) { useElement(target, target.value); return; }
  if (choices && !inModal) { useElement(choices, target.value); return; }
  if (inModal && target.dataset.dispatch === "1") useElement(target, target.value);
});

async function upload(input) {
  const data = new FormData();
  data.append("file", input.files[0]);
  await api("upload", {}, data);
  input.value = "";
}

// forms: the message boxes, the modal, the people menu ------------------------------------------------------------

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form.id === "modal-form") {
    event.preventDefault();
    api("submit", { view_id: form.dataset.viewId }, modalFields(form));
    return;
  }
  const action = form.dataset.api;
  if (!action) return;
  event.preventDefault();
  const data = new FormData(form);
  const text = form.querySelector("textarea");
  if (text) text.value = "";
  hideCompletions();
  const ok = await api(action, {}, data);
  const box = text && (document.getElementById(text.id) || text);  // the thread's box may have been redrawn
  if (!ok && box && !box.value) box.value = data.get("text");  // nothing typed is lost
  if (ok && action === "person") {
    offerPerson(data.get("name"));
    form.reset();
  }
});

// a person just added is offered in the "You are" menu at once, in its order (the server's order: by name)
function offerPerson(typed) {
  const name = typed.trim().toLowerCase().replace(/^@+/, "");
  const menu = document.getElementById("who-as");
  if (!menu || [...menu.options].some((o) => o.value === name)) return;
  const option = new Option(name, name);
  menu.insertBefore(option, [...menu.options].find((o) => o.value > name) || null);
}

document.addEventListener("keydown", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLTextAreaElement) || !box.form || !box.form.dataset.api) return;
  const list = document.getElementById("completions");
  if (list && !list.hidden && (event.key === "Tab" || (event.key === "Enter" && list.querySelector("[aria-selected=true]")))) {
    event.preventDefault();
    complete(box, list.querySelector("[aria-selected=true]") || list.firstElementChild);
    return;
  }
  if (list && !list.hidden && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
    event.preventDefault();
    moveSelection(list, event.key === "ArrowDown" ? 1 : -1);
    return;
  }
  if (event.key === "Escape") { hideCompletions(); return; }
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    box.form.requestSubmit();
  }
});

// completion of /okr sub-commands, from the bot's own catalogue ---------------------------------------------------

const COMMANDS = JSON.parse(document.getElementById("commands").textContent);

document.addEventListener("input", (event) => {
  const box = event.target;
  if (box.id !== "composer-text") return;
  const match = /^\/okr\s+([a-z ]*)$/i.exec(box.value) || (/^\/okr$/i.test(box.value) ? [box.value, ""] : null);
  if (!match) { hideCompletions(); return; }
  const typed = match[1].toLowerCase();
  const found = COMMANDS.filter((c) => c.name.startsWith(typed.trimStart()) && c.name !== typed.trim()).slice(0, 8);
  const list = document.getElementById("completions");
  list.replaceChildren(...found.map((command, index) => {
    const option = document.createElement("li");
    option.setAttribute("role", "option");
    option.setAttribute("aria-selected", index === 0 ? "true" : "false");
    option.dataset.complete = command.name;
    const usage = document.createElement("code");
    usage.textContent = command.usage;
    const summary = document.createElement("span");
    summary.textContent = command.summary;
    option.append(usage, summary);
    return option;
  }));
  list.hidden = !found.length;
});

document.addEventListener("mousedown", (event) => {
  const option = event.target.closest("[data-complete]");
  if (!option) return;
  event.preventDefault();
  complete(document.getElementById("composer-text"), option);
});

function complete(box, option) {
  if (!option) return;
  box.value = `/okr ${option.dataset.complete} `;
  hideCompletions();
  box.focus();
}

function moveSelection(list, step) {
  const options = [...list.children];
  const index = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
  const next = (index + step + options.length) % options.length;
  options.forEach((o, i) => o.setAttribute("aria-selected", i === next ? "true" : "false"));
}

function hideCompletions() {
  const list = document.getElementById("completions");
  if (list) list.hidden = true;
}

// reactions ---------------------------------------------------------------------------------------------------------

function pickReaction(ts) {
  const dialog = document.getElementById("react-dialog");
  dialog.dataset.ts = ts;
  dialog.querySelector("#react-name").value = "";
  dialog.showModal();
}

document.getElementById("react-dialog").addEventListener("click", (event) => {
  const dialog = event.currentTarget;
  const pick = event.target.closest("[data-pick]");
  const typed = event.target.closest("[data-pick-typed]");
  const name = pick ? pick.dataset.pick : typed ? dialog.querySelector("#react-name").value.trim().replace(/:/g, "") : "";
  if (!name) return;
  dialog.close();
  api("react", { ts: dialog.dataset.ts, emoji: name });
});

// live: what the bot does by itself (a tally redrawn, a DM at the check-in hour) shows without reloading -------------

setInterval(() => { if (!busy && !document.hidden) refresh(); }, POLL_MS);
focusForm();
openHomeIfEmpty();
const main = document.getElementById("pane-main");
if (main) main.scrollTop = main.scrollHeight;
