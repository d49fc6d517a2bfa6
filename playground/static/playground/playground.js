// The playground page: one WebSocket to /ws/playground/, the live socket table,
// the diagram, the event log, Python equivalents and the guided experiments.
// The server is the source of truth: after every (re)connect the page rebuilds
// itself from the `hello` snapshot. Protocol: docs/playground-protocol.md.

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

const state = {
  devices: [],
  sockets: new Map(),
  limits: {},
  deadline: null,
  errors: [], // codes seen, for the experiments
  received: new Map(),
};
const pending = new Map(); // ref -> command, to explain answers
let ws = null;
let nextRef = 1;
let retryDelay = 1000;

// Connection ------------------------------------------------------------

function setStatus(kind, text) {
  const box = $("[data-status]");
  box.dataset.status = kind;
  $("[data-status-text]").textContent = text;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${scheme}://${location.host}/ws/playground/`);
  setStatus("connecting", "Connecting…");
  ws.addEventListener("open", () => {
    retryDelay = 1000;
    setStatus("open", "Connected");
  });
  ws.addEventListener("message", (message) => handle(JSON.parse(message.data)));
  ws.addEventListener("close", (event) => {
    if (event.code === 4401) {
      setStatus("closed", "No session: reload the page");
      return;
    }
    if (event.code === 4429 || event.code === 4503) {
      // A quota or a full playground: the error event said why; waiting longer helps.
      retryDelay = Math.max(retryDelay, 15000);
    }
    const seconds = Math.round(retryDelay / 1000);
    setStatus("closed", `Disconnected; retrying in ${seconds} s`);
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  });
}

function send(command) {
  if (!ws || ws.readyState !== WebSocket.OPEN) {
    log("error", "Not connected yet; the page reconnects by itself.");
    return;
  }
  command.ref = String(nextRef++);
  pending.set(command.ref, command);
  ws.send(JSON.stringify(command));
  if (state.deadline) state.idleDeadline = Date.now() + state.limits.idle_timeout * 1000;
}

// Events ----------------------------------------------------------------

function handle(event) {
  switch (event.type) {
    case "hello":
      state.devices = event.devices;
      state.limits = event.limits;
      state.sockets = new Map(event.sockets.map((row) => [row.id, row]));
      state.received = new Map(event.data.map((d) => [d.socket, d.data]));
      state.deadline = Date.now() + event.expires.lifetime_left * 1000;
      state.idleDeadline = Date.now() + event.expires.idle_left * 1000;
      renderDevices();
      $("[data-rows]").replaceChildren();
      renderAll();
      log("info", event.kernel_states
        ? "Connected. Socket states come from the kernel's own table."
        : `Connected. ${event.kernel_states_note} States shown are the ones the playground knows itself.`);
      log("info", event.network_namespace
        ? "Your sockets live in a network of their own: nothing else on this server is in it, so every socket you see is yours."
        : `Your sockets share this server's network here (${event.network_namespace_note || "no network namespace"}); the playground's own rules still keep other programs and visitors out.`);
      break;
    case "socket":
      state.sockets.set(event.socket.id, event.socket);
      renderAll(event.socket.id);
      break;
    case "socket.gone":
      state.sockets.delete(event.socket);
      renderAll();
      log("info", `${event.socket} is gone: ${event.reason}.`);
      break;
    case "data": {
      const text = event.eof ? "(end of stream: the other side shut down its sending side)" : `“${event.data}”`;
      const from = event.from ? ` from ${event.from.device} port ${event.from.port}` : "";
      if (!event.eof) state.received.set(event.socket, (state.received.get(event.socket) || "") + event.data);
      // Kept data re-sent after a reconnect (hello chunks) was logged when it first arrived.
      if (!event.kept) log("data", `${event.socket} received ${text}${from}.`);
      renderExperiment();
      break;
    }
    case "ok":
      answered(event);
      break;
    case "error":
      failed(event);
      break;
    case "sandbox.closed":
      log("error", event.message);
      break;
    case "sandbox.lost":
      // A fresh sandbox's hello follows on this same connection.
      log("error", event.message);
      break;
  }
}

function answered(event) {
  const command = pending.get(event.ref);
  pending.delete(event.ref);
  if (event.socket && typeof event.socket === "object") {
    state.sockets.set(event.socket.id, event.socket);
    renderAll(event.socket.id);
  }
  if (command) {
    log("ok", describe(command, event));
    showCode(command, event);
  }
}

// Every error code the server can send (docs/playground-protocol.md), to the glossary
// entry that names and explains it (tests/test_playground_texts.py checks both ways).
const GLOSSARY = {
  EADDRINUSE: "eaddrinuse",
  ECONNREFUSED: "econnrefused",
  EPIPE: "epipe",
  no_receiver: "datagram",
  wrong_protocol: "udp",
  not_connected: "listening-socket",
  socket_closed: "file-descriptor",
  limit_descriptors: "file-descriptor",
  bad_port: "sandbox",
  unknown_device: "sandbox",
  unknown_socket: "sandbox",
  not_allowed: "sandbox",
  network_restarting: "sandbox",
  limit_sockets: "sandbox",
  limit_send_bytes: "sandbox",
  limit_message_bytes: "sandbox",
  limit_commands_per_second: "sandbox",
  limit_sandboxes: "sandbox",
  limit_addresses: "sandbox",
  limit_sandboxes_per_address: "sandbox",
  limit_websockets_per_session: "sandbox",
  bad_json: "playground-message",
  not_an_object: "playground-message",
  unknown_op: "playground-message",
  missing_field: "playground-message",
  wrong_type: "playground-message",
  bad_ref: "playground-message",
  binary_not_supported: "playground-message",
  bad_data: "playground-message",
  no_session: "playground-message",
  internal_error: "playground-message",
};
// Any other operating-system error arrives under its errno name (EADDRNOTAVAIL, …).
const ERRNO_NAME = /^E[A-Z0-9]+$/;

function glossaryFor(code) {
  if (GLOSSARY[code]) return GLOSSARY[code];
  return ERRNO_NAME.test(code || "") ? "errno" : null;
}

function failed(event) {
  pending.delete(event.ref);
  state.errors.push(event.code);
  const term = glossaryFor(event.code);
  log("error", event.message, term ? `/glossary/#${term}` : null, event.code);
  renderExperiment();
}

function describe(command, event) {
  const s = event.socket && typeof event.socket === "object" ? event.socket : null;
  switch (command.op) {
    case "tcp.listen": return `${s.id} listens at ${s.device} ${s.local.ip}:${s.local.port}.`;
    case "tcp.connect": return `${s.id} on ${s.device} (${s.local.ip}:${s.local.port}) connected to ${s.remote.ip}:${s.remote.port}.`;
    case "udp.bind": return `${s.id} is a UDP socket at ${s.device} ${s.local.ip}:${s.local.port}.`;
    case "send": return `${command.socket} sent ${event.bytes} bytes.`;
    case "udp.sendto": return `${command.socket} sent a ${event.bytes}-byte datagram to ${command.to.device} port ${command.to.port}.`;
    case "shutdown": return `${command.socket} shut down its sending side.`;
    case "close": return `${command.socket} was closed by the program.`;
    case "reset": return "The sandbox was reset: every socket closed.";
  }
  return `${command.op} done.`;
}

// Python equivalents ----------------------------------------------------

const names = new Map(); // socket id -> Python variable name

function varName(id) {
  if (!names.has(id)) names.set(id, `s${id.slice(1)}`);
  return names.get(id);
}

function ipOf(device) {
  const found = state.devices.find((d) => d.name === device);
  return found ? found.ip : device;
}

function pythonFor(command, event) {
  const s = event.socket && typeof event.socket === "object" ? event.socket : null;
  switch (command.op) {
    case "tcp.listen": {
      const v = varName(s.id);
      const reuse = command.reuse_address ? `\n${v}.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)` : "";
      return `${v} = socket.socket(socket.AF_INET, socket.SOCK_STREAM)${reuse}\n${v}.bind(("${s.local.ip}", ${command.port}))\n${v}.listen()\n# accepted connections: conn, addr = ${v}.accept()`;
    }
    case "tcp.connect": {
      const v = varName(s.id);
      return `${v} = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n${v}.bind(("${s.local.ip}", 0))  # the laptop's address; the system picks port ${s.local.port}\n${v}.connect(("${s.remote.ip}", ${s.remote.port}))`;
    }
    case "udp.bind": {
      const v = varName(s.id);
      return `${v} = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n${v}.bind(("${s.local.ip}", ${command.port}))`;
    }
    case "send": return `${varName(command.socket)}.sendall(${JSON.stringify(command.data)}.encode())`;
    case "udp.sendto": return `${varName(command.socket)}.sendto(${JSON.stringify(command.data)}.encode(), ("${ipOf(command.to.device)}", ${command.to.port}))`;
    case "shutdown": return `${varName(command.socket)}.shutdown(socket.SHUT_WR)`;
    case "close": return `${varName(command.socket)}.close()`;
    case "reset": return "# close every socket\nfor s in all_sockets:\n    s.close()";
  }
  return "";
}

function showCode(command, event) {
  const code = pythonFor(command, event);
  if (!code) return;
  const box = $("[data-code]");
  box.textContent = `${box.textContent}\n\n${code}`.split("\n").slice(-40).join("\n");
}

// Log -------------------------------------------------------------------

function log(kind, text, link = null, code = null) {
  const item = document.createElement("li");
  item.className = `log-${kind}`;
  const label = document.createElement("span");
  label.className = "log-kind";
  label.textContent = { ok: "Done", error: "Error", data: "Data", info: "Note" }[kind] || kind;
  item.append(label, " ", text);
  if (link) {
    const a = document.createElement("a");
    a.href = link;
    a.textContent = code ? `What ${code} means` : "Learn more";
    item.append(" ", a);
  }
  const list = $("[data-log]");
  list.prepend(item);
  while (list.children.length > 100) list.lastElementChild.remove();
}

// Table -----------------------------------------------------------------

function cell(text, className = "", title = "") {
  const td = document.createElement("td");
  if (className) td.className = className;
  if (title) td.title = title;
  td.textContent = text;
  return td;
}

function actionButtons(row) {
  const td = document.createElement("td");
  td.className = "actions";
  if (row.closed_by_program) {
    const note = document.createElement("span");
    note.className = "closed-note";
    note.textContent = "closed by the program; the kernel still holds it";
    td.append(note);
    return td;
  }
  const buttons = [];
  if (row.protocol === "tcp" && row.role !== "listener" && !row.write_shutdown) buttons.push(["shutdown", "Shut down sending"]);
  buttons.push(["close", "Close"]);
  for (const [op, label] of buttons) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "button button-small";
    b.textContent = label;
    b.setAttribute("aria-label", `${label} ${row.id}`);
    b.addEventListener("click", () => send({ op, socket: row.id }));
    td.append(b);
  }
  return td;
}

function rowFor(row) {
  const tr = document.createElement("tr");
  tr.dataset.id = row.id;
  tr.dataset.state = row.state;
  tr.classList.toggle("is-lingering", row.closed_by_program);
  const remote = row.remote || { ip: "—", port: "—" };
  const noRemote = row.role === "listener"
    ? "A listening socket never has a remote address; the sockets it accepts do."
    : "Not connected: no remote address.";
  const state = row.closed_by_program ? `${row.state} (closed)` : row.state;
  tr.append(
    cell(row.id, "mono"),
    cell(row.local.ip, "five mono"), cell(String(row.local.port), "five mono"),
    cell(remote.ip, "five mono", row.remote ? "" : noRemote),
    cell(String(remote.port), "five mono", row.remote ? "" : noRemote),
    cell(row.protocol.toUpperCase(), "five"),
    cell(row.device), cell(row.role + (row.listener ? ` (by ${row.listener})` : "")),
    cell(state, `state state-${row.state.toLowerCase()}`),
    cell(`${row.recv_queue} / ${row.send_queue}`, "mono"),
    cell(`${row.bytes_received} / ${row.bytes_sent}`, "mono"),
    actionButtons(row),
  );
  return tr;
}

function renderTable(changedId) {
  const body = $("[data-rows]");
  const existing = new Map($$("tr", body).map((tr) => [tr.dataset.id, tr]));
  const rows = [...state.sockets.values()].sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)));
  for (const row of rows) {
    const fresh = rowFor(row);
    const old = existing.get(row.id);
    if (old) {
      old.replaceWith(fresh);
      existing.delete(row.id);
    } else {
      body.append(fresh);
    }
  }
  for (const tr of existing.values()) tr.remove();
  // Keep the order by id after inserts.
  for (const row of rows) body.append(body.querySelector(`tr[data-id="${row.id}"]`));
  $("[data-empty]").hidden = rows.length > 0;
  if (changedId && state.sockets.has(changedId)) {
    const r = state.sockets.get(changedId);
    $("[data-table-news]").textContent = `${r.id} ${r.role} on ${r.device}: ${r.state}${r.closed_by_program ? ", closed by the program" : ""}.`;
  }
}

// The kernel's state names (as the table and the protocol give them) as ss(8) prints
// them: hyphenated like RFC 793's, ESTABLISHED shortened, CLOSE as UNCONN.
const SS_STATES = {
  ESTABLISHED: "ESTAB",
  SYN_SENT: "SYN-SENT",
  SYN_RECV: "SYN-RECV",
  NEW_SYN_RECV: "SYN-RECV",
  FIN_WAIT1: "FIN-WAIT-1",
  FIN_WAIT2: "FIN-WAIT-2",
  TIME_WAIT: "TIME-WAIT",
  CLOSE: "UNCONN",
  CLOSE_WAIT: "CLOSE-WAIT",
  LAST_ACK: "LAST-ACK",
  LISTEN: "LISTEN",
  CLOSING: "CLOSING",
  UNCONN: "UNCONN",
};

function ssState(name) {
  return SS_STATES[name] || name.replaceAll("_", "-");
}

function renderSs() {
  const lines = ["Netid State       Recv-Q Send-Q Local Address:Port     Peer Address:Port"];
  for (const row of state.sockets.values()) {
    const local = `${row.local.ip}:${row.local.port}`;
    const peer = row.remote ? `${row.remote.ip}:${row.remote.port}` : "0.0.0.0:*";
    const st = ssState(row.state);
    lines.push(`${row.protocol.padEnd(5)} ${st.padEnd(11)} ${String(row.recv_queue).padStart(6)} ${String(row.send_queue).padStart(6)} ${local.padEnd(22)} ${peer}`);
  }
  $("[data-ss]").textContent = lines.join("\n");
}

// Selects ----------------------------------------------------------------

function renderDevices() {
  $("[data-devices]").textContent = state.devices.map((d) => `${d.name} ${d.ip}`).join(" · ");
  for (const select of $$("[data-device-select]")) {
    const current = select.value || select.dataset.default;
    select.replaceChildren(...state.devices.map((d) => new Option(`${d.name} (${d.ip})`, d.name)));
    select.value = state.devices.some((d) => d.name === current) ? current : select.dataset.default;
  }
}

function renderSocketSelects() {
  for (const select of $$("[data-socket-select]")) {
    const wanted = select.dataset.socketSelect;
    const current = select.value;
    const usable = [...state.sockets.values()].filter((row) => !row.closed_by_program && row.protocol === wanted
      && (wanted === "udp" || row.role !== "listener")).sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)));
    select.replaceChildren(...usable.map((row) => new Option(`${row.id} ${row.role} on ${row.device}`, row.id)));
    if (usable.some((row) => row.id === current)) select.value = current;
  }
}

// Diagram ----------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderDiagram() {
  const width = 640;
  const rows = [...state.sockets.values()];
  const ports = new Map(); // device -> sorted ports
  for (const d of state.devices) ports.set(d.name, new Set());
  for (const row of rows) ports.get(row.device)?.add(`${row.protocol}:${row.local.port}`);
  const deviceX = { 0: 40, 1: 380 };
  const maxPorts = Math.max(1, ...[...ports.values()].map((p) => p.size));
  const height = 110 + maxPorts * 70;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "pg-diagram" });
  root.append(svg("title", {}, "Devices, their ports as loading docks, and the sockets living at them"));
  const where = new Map(); // socket id -> {x, y}
  state.devices.forEach((device, index) => {
    const x = deviceX[index] ?? 40 + index * 300;
    const group = svg("g", { class: "device" });
    group.append(svg("rect", { x, y: 20, width: 220, height: height - 40, rx: 12, class: "device-box" }));
    group.append(svg("text", { x: x + 12, y: 46, class: "device-name" }, `${device.name}`));
    group.append(svg("text", { x: x + 12, y: 64, class: "device-ip" }, device.ip));
    const list = [...ports.get(device.name)].sort();
    list.forEach((key, i) => {
      const [protocol, port] = key.split(":");
      const y = 90 + i * 70;
      const dockX = index === 0 ? x + 220 - 70 : x;
      group.append(svg("rect", { x: dockX, y, width: 70, height: 50, rx: 6, class: `dock dock-${protocol}` }));
      group.append(svg("text", { x: dockX + 35, y: y + 14, class: "dock-label", "text-anchor": "middle" }, `${protocol.toUpperCase()} ${port}`));
      const here = rows.filter((r) => r.device === device.name && `${r.protocol}:${r.local.port}` === key);
      here.forEach((row, j) => {
        const cx = dockX + 14 + (j % 4) * 14;
        const cy = y + 30 + Math.floor(j / 4) * 12;
        where.set(row.id, { x: cx, y: cy });
        const circle = svg("circle", { cx, cy, r: 6, class: `worker role-${row.role}${row.closed_by_program ? " lingering" : ""}` });
        circle.append(svg("title", {}, `${row.id}: ${row.role}, ${row.state}`));
        group.append(circle);
      });
    });
    if (!list.length) group.append(svg("text", { x: x + 12, y: 100, class: "device-ip" }, "no sockets: every port is an empty dock"));
    root.append(group);
  });
  for (const row of rows) {
    if (!row.remote || row.role === "accepted") continue;
    const peer = rows.find((r) => r.remote && r.local.ip === row.remote.ip && r.local.port === row.remote.port
      && r.remote.ip === row.local.ip && r.remote.port === row.local.port);
    const a = where.get(row.id);
    const b = peer && where.get(peer.id);
    if (a && b) root.append(svg("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: `link${row.closed_by_program || peer.closed_by_program ? " link-closing" : ""}` }));
  }
  $("[data-diagram]").replaceChildren(root);
}

// Experiments -------------------------------------------------------------

const experiments = JSON.parse($("#experiments-data").textContent);
const rowsOf = () => [...state.sockets.values()];
const live = () => rowsOf().filter((r) => !r.closed_by_program);
const at = (device, port, protocol = "tcp") => (r) => r.device === device && r.local.port === port && r.protocol === protocol;

const CHECKS = {
  "port-before-socket": [
    () => !live().some(at("server", 3000)),
    () => live().some((r) => at("server", 3000)(r) && r.role === "listener"),
    () => live().some((r) => at("server", 3000)(r) && r.role === "listener" && r.state === "LISTEN" && r.remote === null),
  ],
  "connection-refused": [
    () => !live().some(at("server", 3000)),
    () => state.errors.includes("ECONNREFUSED"),
    () => live().some((r) => at("server", 3000)(r) && r.role === "listener"),
    () => live().some((r) => r.role === "client" && r.device === "laptop" && r.remote?.port === 3000),
  ],
  "same-port-tcp-udp": [
    () => live().some((r) => at("server", 3000)(r) && r.role === "listener"),
    () => live().some(at("server", 3000, "udp")),
    () => live().some((r) => at("server", 3000)(r) && r.role === "listener") && live().some(at("server", 3000, "udp")),
  ],
  "three-sockets": [
    () => live().some((r) => at("server", 3000)(r) && r.role === "listener"),
    () => live().some((r) => r.role === "client" && r.device === "laptop" && r.remote?.port === 3000),
    () => live().some((c) => c.role === "client" && live().some((a) => a.role === "accepted"
      && a.remote?.ip === c.local.ip && a.remote?.port === c.local.port)),
  ],
  "two-clients": [
    () => live().some((r) => at("server", 3000)(r) && r.role === "listener"),
    () => live().filter((r) => r.role === "client" && r.remote?.port === 3000).length >= 1,
    () => live().filter((r) => r.role === "client" && r.remote?.port === 3000).length >= 2,
    () => new Set(live().filter((r) => r.role === "accepted" && r.local.port === 3000).map((r) => r.remote.port)).size >= 2,
  ],
  "udp-no-connection": [
    () => live().some(at("server", 5353, "udp")),
    () => live().some((r) => r.device === "laptop" && r.protocol === "udp"),
    () => live().some((r) => r.device === "laptop" && r.protocol === "udp" && r.bytes_sent > 0),
    () => live().some((r) => at("server", 5353, "udp")(r) && r.bytes_received > 0 && r.remote === null),
  ],
  "ports-stay": [
    () => rowsOf().some((r) => r.role === "accepted" && r.local.port === 3000),
    () => rowsOf().some((r) => r.role === "accepted" && r.local.port === 3000 && r.closed_by_program),
    () => rowsOf().some((r) => r.local.port === 3000 && r.device === "server" && r.state === "TIME_WAIT"),
    () => !live().some((r) => at("server", 3000)(r) && r.role === "listener"),
    () => state.errors.includes("EADDRINUSE"),
  ],
};
const progress = new Map(); // experiment id -> steps done, never undone

function renderExperiment() {
  const id = $("[data-experiment-select]").value;
  const box = $("[data-experiment]");
  const experiment = experiments.find((e) => e.id === id);
  if (!experiment) {
    box.replaceChildren();
    return;
  }
  let done = progress.get(id) || 0;
  const checks = CHECKS[id];
  while (done < checks.length && checks[done]()) done += 1;
  progress.set(id, done);
  const list = document.createElement("ol");
  list.className = "steps";
  experiment.steps.forEach((text, i) => {
    const item = document.createElement("li");
    item.className = i < done ? "step-done" : i === done ? "step-current" : "step-todo";
    item.textContent = `${i < done ? "✓ Done: " : i === done ? "Now: " : ""}${text}`;
    list.append(item);
  });
  const summary = document.createElement("p");
  summary.className = "step-summary";
  summary.dataset.complete = String(done === checks.length);
  summary.textContent = done === checks.length ? "Experiment complete. Well done!" : `Step ${done + 1} of ${checks.length}.`;
  // Back to the lesson section that teaches what the experiment shows.
  const [lesson, section] = experiment.teaches.split("#");
  const back = document.createElement("p");
  const link = document.createElement("a");
  link.href = `/lessons/${lesson}/${section ? `#${section}` : ""}`;
  link.dataset.lessonLink = "";
  link.textContent = "Read the lesson section this experiment belongs to";
  back.append(link);
  box.replaceChildren(list, summary, back);
}

// Wiring -----------------------------------------------------------------

function renderAll(changedId) {
  renderTable(changedId);
  renderSs();
  renderSocketSelects();
  renderDiagram();
  renderExperiment();
}

function commandFrom(form) {
  const data = new FormData(form);
  const op = form.dataset.op;
  const number = (name) => Number(data.get(name));
  switch (op) {
    case "tcp.listen": return { op, device: data.get("device"), port: number("port"), reuse_address: data.get("reuse_address") === "on" };
    case "tcp.connect": return { op, device: data.get("device"), to: { device: data.get("to_device"), port: number("to_port") } };
    case "udp.bind": return { op, device: data.get("device"), port: number("port") };
    case "udp.sendto": return { op, socket: data.get("socket"), to: { device: data.get("to_device"), port: number("to_port") }, data: data.get("data") };
    case "send": return { op, socket: data.get("socket"), data: data.get("data") };
  }
  return { op };
}

for (const form of $$("form[data-op]")) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const command = commandFrom(form);
    if ("socket" in command && !command.socket) {
      log("error", "Choose a socket first: there is none of the right kind yet.");
      return;
    }
    send(command);
  });
}
$("[data-reset]").addEventListener("click", () => send({ op: "reset" }));
$("[data-experiment-select]").addEventListener("change", (event) => {
  const url = new URL(location.href);
  if (event.target.value) url.searchParams.set("experiment", event.target.value);
  else url.searchParams.delete("experiment");
  history.replaceState(null, "", url);
  renderExperiment();
});

setInterval(() => {
  if (!state.deadline) return;
  const left = Math.max(0, Math.min(state.deadline, state.idleDeadline) - Date.now()) / 1000;
  $("[data-time-left]").textContent = `${Math.floor(left / 60)} min ${String(Math.floor(left % 60)).padStart(2, "0")} s`;
}, 1000);

connect();
renderExperiment();
