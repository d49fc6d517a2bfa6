// The forms that send commands (playground/_forms.html), and the selects and hints
// they take from the sandbox: its devices, its sockets, its limits. One plain ES module.
//
// Rules:
// - What the server would refuse (too many bytes, a port out of its range: hello's
//   limits) is refused here first, next to the form's button, with the same words'
//   sense; no port number of the server's is written in the page.
// - A socket list offers the socket the learner made or used last, once; after that
//   their own choice stays.
// - A box that cuts what is typed or pasted (its maxlength) says so, and how much.
// - A form makes its command by its op's inputs, from the server (vocabulary.js);
//   this module knows no op.

import { byId, count } from "./dom.js";
import { OPS } from "./vocabulary.js";

// How a form input is read into its field (playground.wire.ui.Input.read); undefined
// leaves the field out ("number_or_default": an empty box, for the server's default).
const READ = {
  text: (raw) => raw,
  number: (raw) => Number(raw),
  ticked: (raw) => raw === "on",
  unticked: (raw) => raw !== "on",
  number_or_default: (raw) => (raw === null || raw === "" ? undefined : Number(raw)),
};

// The command a form makes: its op's inputs (the server's, vocabulary.js), each read
// into its field's path ("to.port").
function commandFrom(form) {
  const data = new FormData(form);
  const command = { op: form.dataset.op };
  for (const input of OPS[command.op]?.form || []) {
    const value = READ[input.read](data.get(input.name));
    if (value === undefined) continue;
    const path = input.field.split(".");
    let at = command;
    for (const key of path.slice(0, -1)) at = at[key] ??= {};
    at[path.at(-1)] = value;
  }
  return command;
}

// "s2 · laptop client 127.77.0.2:41234 → 127.77.0.3:3000": its role and 5-tuple.
function socketLabel(row) {
  const local = `${row.local.ip}:${row.local.port}`;
  const peer = row.remote ? ` → ${row.remote.ip}:${row.remote.port}` : " (no remote address)";
  const role = row.role === "udp" ? "UDP socket" : row.role;
  return `${row.id} · ${row.device} ${role} ${local}${peer}`;
}

/**
 * ctx: the mount ($, $$, options, signal, store, send, log, refusals).
 * Wires the forms; returns {renderDevices(), renderSocketSelects()}.
 */
export function createForms(ctx) {
  const { $, $$, options, signal, send, log } = ctx;
  const state = ctx.store.state;

  // What the server would say of text to send: it counts bytes (UTF-8), not characters.
  function tooLong(text) {
    const most = state.limits.send_bytes;
    const bytes = new TextEncoder().encode(text).length;
    if (!most || bytes <= most) return "";
    return `That text is ${count(bytes)} bytes (in UTF-8 a letter such as “é” takes 2, an emoji 4), and one send takes at most ${count(most)}: shorten it by ${count(bytes - most)} bytes. Nothing was sent.`;
  }

  // A port the server takes for this input (playground.wire.limits, from hello): one to
  // bind may be 0 (the system picks a free one); one to reach may not.
  function checkPort(input) {
    const first = state.limits.first_port;
    const last = state.limits.last_port;
    if (first === undefined) return;
    const binding = input.dataset.port === "bind";
    input.min = binding ? "0" : String(first);
    input.max = String(last);
    const port = input.valueAsNumber;
    let problem = "";
    if (input.value !== "" && Number.isInteger(port) && !(port >= first && port <= last) && !(binding && port === 0)) {
      if (port === 0) problem = `Use a port from ${first} to ${last}: 0 is no port to reach.`;
      else if (port > 0 && port < first) problem = `Ports 1 to ${first - 1} need a privilege the sandbox leaves out: use ${binding ? "0 (the system picks a free port) or " : ""}a port from ${first} to ${last}.`;
      else problem = `Use ${binding ? "0 (the system picks a free port) or " : ""}a port from ${first} to ${last}.`;
    }
    input.setCustomValidity(problem);
  }

  function renderDevices() {
    const facts = $("[data-devices]");
    if (facts) facts.textContent = state.devices.map((d) => `${d.name} ${d.ip}`).join(" · ");
    for (const select of $$("[data-device-select]")) {
      const current = select.value || select.dataset.default;
      const label = (d) => (options.compact ? d.name : `${d.name} (${d.ip})`);
      select.replaceChildren(...state.devices.map((d) => new Option(label(d), d.name)));
      select.value = state.devices.some((d) => d.name === current) ? current : select.dataset.default;
    }
    for (const input of $$("form[data-op] input[name=data]")) {
      if (state.limits.send_bytes) input.maxLength = state.limits.send_bytes;
    }
    for (const input of $$("form[data-op] input[data-port]")) checkPort(input);
    for (const hint of $$("[data-port-range]")) {
      if (state.limits.first_port !== undefined) hint.textContent = `; any other from ${state.limits.first_port} to ${state.limits.last_port}`;
    }
    for (const hint of $$("[data-send-hint]")) {
      if (state.limits.send_bytes) hint.textContent = `At most ${count(state.limits.send_bytes)} bytes a send.`;
    }
    // Inputs bounded by a limit of the server's (hello.limits), such as the backlog.
    for (const input of $$("form[data-op] input[data-limit-max]")) {
      const most = state.limits[input.dataset.limitMax];
      if (most !== undefined) {
        input.max = String(most);
        input.placeholder = `default ${most}`;
      }
    }
  }

  function renderSocketSelects() {
    for (const select of $$("[data-socket-select]")) {
      const wanted = select.dataset.socketSelect;
      const current = select.value;
      // "connected": what send works on, a TCP connection or a UDP socket with a peer.
      const fits = (row) => (wanted === "connected"
        ? (row.protocol === "tcp" && row.role !== "listener") || (row.protocol === "udp" && row.remote)
        : row.protocol === wanted && (wanted === "udp" || row.role !== "listener"));
      const usable = [...state.sockets.values()].filter((row) => !row.closed_by_program && fits(row)).sort(byId);
      // An empty list says so (its value "" is refused with a word before sending).
      select.replaceChildren(...(usable.length ? usable.map((row) => new Option(socketLabel(row), row.id)) : [new Option("No socket yet", "")]));
      // The socket the learner made or used last, once; after that their own choice.
      if (Number(select.dataset.acted || 0) !== state.acted.seq && usable.some((row) => row.id === state.acted.id)) {
        select.value = state.acted.id;
        select.dataset.acted = String(state.acted.seq);
      } else if (usable.some((row) => row.id === current)) {
        select.value = current;
      }
    }
  }

  for (const form of $$("form[data-op]")) {
    const key = `form:${form.dataset.op}`;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const command = commandFrom(form);
      // Refused here, with a word, what the server would refuse.
      let problem = "";
      if ("socket" in command && !command.socket) {
        problem = "Choose a socket first: there is none of the right kind yet.";
      } else if (typeof command.data === "string") {
        problem = tooLong(command.data);
      }
      if (problem) {
        log("error", problem);
        ctx.refusals.refuse(key, problem);
        return;
      }
      send(command, key);
    }, { signal });
    // A port out of the server's range is said next to it, in words, before sending.
    form.addEventListener("invalid", (event) => {
      const input = event.target;
      if (input.name) ctx.refusals.refuse(key, `${input.closest("label")?.firstChild?.textContent.trim() || input.name}: ${input.validationMessage}`);
    }, { signal, capture: true });
    for (const input of form.querySelectorAll("input[data-port]")) {
      input.addEventListener("input", () => checkPort(input), { signal });
    }
    for (const input of form.querySelectorAll("input[name=data]")) {
      // maxlength cuts what is typed or pasted past it: say so, and how much.
      input.addEventListener("beforeinput", (event) => {
        const adding = event.data ?? event.dataTransfer?.getData("text/plain") ?? "";
        if (!adding || input.maxLength < 0) return;
        const selected = (input.selectionEnd ?? 0) - (input.selectionStart ?? 0);
        const wanted = input.value.length - selected + adding.length;
        if (wanted <= input.maxLength) return;
        const cut = wanted - input.maxLength;
        ctx.refusals.tell(key, `Only the first ${count(input.maxLength)} characters fit in the box; ${count(cut)} were cut. One send takes at most ${count(state.limits.send_bytes)} bytes.`);
      }, { signal });
    }
  }

  return { renderDevices, renderSocketSelects };
}
