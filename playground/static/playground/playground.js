// The playground in the browser: one plain ES module, no build step.
//
// `mount(root, options)` runs a playground inside `root`: one WebSocket to
// /ws/playground/, the live socket table, and whichever of the diagram, the ss view,
// the event log, the Python equivalents, the forms, the guided experiment and the
// packets panel (timeline.js, loaded from the URL its markup gives) the markup under
// `root` has. The playground page mounts it on its main element; a
// lesson's panel mounts a compact one (`compact: true`) on the panel.
//
// Rules:
// - The server is the source of truth. After every (re)connect the page rebuilds
//   itself from the `hello` snapshot: sockets, the experiments, the active one and
//   the session's progress in each. The page keeps no checks of its own: a step is
//   ticked when the server says so (`experiment.progress`), so progress survives a
//   reload and every tab of the sandbox shows the same.
// - A step that asks a prediction shows its question (a fieldset of choices) before
//   the step's action, and what the kernel said beside the learner's prediction only
//   once the server reveals it (the step done): the page never has the answer before.
//   A step that asks for a pick puts a "Pick this one" button on each socket row or
//   packet (timeline.js); the server judges the pick.
// - Everything a mount does lives under its root and ends with `close()`.
// - A lesson's "Try it" links (to the playground with `?experiment=`) open the panel
//   when the page has one; without JavaScript they still go to the playground.
// - Each progress report is also a `playground:progress` DOM event (bubbling from the
//   root; detail {experiment, done, steps, finished}) for the page around a panel.
// - A failed action is said next to the control that sent it (matched by the command's
//   `ref`), in the active experiment's current step, and aloud; the event log keeps
//   the history. What the server would refuse (too many bytes, a port out of its
//   range: hello's limits) is refused here first, with the same words' sense.
// - An experiment starts only on an explicit choice (Start, Enter, a link), never
//   as the list's value changes.
// Protocol: docs/playground-protocol.md.

// Every error code the server can send (docs/playground-protocol.md), to the glossary
// entry that names and explains it (tests/test_playground_texts.py checks both ways).
const GLOSSARY = {
  EADDRINUSE: "eaddrinuse",
  ECONNREFUSED: "econnrefused",
  EPIPE: "epipe",
  EAGAIN: "errno",
  ECONNRESET: "econnreset",
  no_receiver: "datagram",
  wrong_protocol: "udp",
  not_connected: "listening-socket",
  not_listening: "listening-socket",
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
  limit_listen_backlog: "sandbox",
  bad_json: "playground-message",
  not_an_object: "playground-message",
  unknown_op: "playground-message",
  missing_field: "playground-message",
  wrong_type: "playground-message",
  bad_ref: "playground-message",
  binary_not_supported: "playground-message",
  bad_data: "playground-message",
  no_session: "playground-message",
  unknown_experiment: "playground-message",
  no_prediction: "playground-message",
  bad_choice: "playground-message",
  already_predicted: "playground-message",
  step_done: "playground-message",
  prediction_needed: "playground-message",
  no_pick: "playground-message",
  unknown_packet: "playground-message",
  internal_error: "playground-message",
};
// Any other operating-system error arrives under its errno name (EADDRNOTAVAIL, …).
const ERRNO_NAME = /^E[A-Z0-9]+$/;

// The glossary's words for its entries (slug -> "address already in use
// (EADDRINUSE)"), rendered into the page from the glossary itself.
const GLOSSARY_WORDS = JSON.parse(document.querySelector("[data-glossary-words]")?.dataset.glossaryWords || "{}");

function glossaryFor(code) {
  if (GLOSSARY[code]) return GLOSSARY[code];
  return ERRNO_NAME.test(code || "") ? "errno" : null;
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

const byId = (a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1));

function describe(command, event, experiments) {
  const s = event.socket && typeof event.socket === "object" ? event.socket : null;
  switch (command.op) {
    case "tcp.listen": return `${s.id} listens at ${s.device} ${s.local.ip}:${s.local.port}${"backlog" in command ? ` with a backlog of ${command.backlog}` : ""}.${s.auto_accept === false ? " Connections wait in its accept queue until you accept one." : ""}`;
    case "tcp.connect": return s.state === "SYN_SENT"
      ? `${s.id} on ${s.device} (${s.local.ip}:${s.local.port}) sent its SYN to ${s.remote.ip}:${s.remote.port} and has no answer yet: it waits in SYN_SENT, and its kernel sends the SYN again.`
      : `${s.id} on ${s.device} (${s.local.ip}:${s.local.port}) connected to ${s.remote.ip}:${s.remote.port}.`;
    case "accept": return `${s.listener} accepted a connection: ${s.id}, from ${s.remote.ip}:${s.remote.port}.`;
    case "udp.bind": return `${s.id} is a UDP socket at ${s.device} ${s.local.ip}:${s.local.port}.`;
    case "udp.connect": return `${s.id} is connected to ${s.remote.ip}:${s.remote.port}: it sends there with send, and its kernel drops datagrams from anywhere else.`;
    case "recv": return event.bytes ? `${command.socket}'s recv() took ${event.bytes} bytes.` : `${command.socket}'s recv() returned nothing (b""), the end of data: the other side has finished sending (it closed its socket or shut down its sending side).`;
    case "send": return `${command.socket} sent ${event.bytes} bytes.`;
    case "udp.sendto": return `${command.socket} sent a ${event.bytes}-byte datagram to ${command.to.device} port ${command.to.port}.`;
    case "shutdown": return `${command.socket} shut down its sending side.`;
    case "close": return `${command.socket} was closed by the program.`;
    case "tcp.reset": return `${command.socket} was closed with SO_LINGER 0: the kernel resets the connection (RST) instead of ending it with FIN.`;
    case "reset": return "The sandbox was reset: every socket closed.";
    case "experiment.start": {
      const found = experiments.find((e) => e.id === event.experiment);
      return `Experiment started: ${found ? found.title : event.experiment}.`;
    }
    case "experiment.predict": return `Prediction locked in for step ${event.step}.`;
    case "experiment.pick": return event.matched ? "You picked the right one." : `Not that one: ${event.message}`;
  }
  return `${command.op} done.`;
}

function commandFrom(form) {
  const data = new FormData(form);
  const op = form.dataset.op;
  const number = (name) => Number(data.get(name));
  switch (op) {
    case "tcp.listen": {
      const command = { op, device: data.get("device"), port: number("port"), reuse_address: data.get("reuse_address") === "on" };
      // An empty backlog leaves the server's default (its listen_backlog).
      if (data.has("backlog") && data.get("backlog") !== "") command.backlog = number("backlog");
      return { ...command, auto_accept: data.get("manual_accept") !== "on", auto_read: data.get("manual_read") !== "on" };
    }
    case "tcp.connect": return { op, device: data.get("device"), to: { device: data.get("to_device"), port: number("to_port") }, auto_read: data.get("manual_read") !== "on" };
    case "udp.bind": return { op, device: data.get("device"), port: number("port"), auto_read: data.get("manual_read") !== "on" };
    case "udp.connect": return { op, socket: data.get("socket"), to: { device: data.get("to_device"), port: number("to_port") } };
    case "udp.sendto": return { op, socket: data.get("socket"), to: { device: data.get("to_device"), port: number("to_port") }, data: data.get("data") };
    case "send": return { op, socket: data.get("socket"), data: data.get("data") };
  }
  return { op };
}

// 1,024: a count as the page writes it.
const count = (n) => Number(n).toLocaleString("en-GB");

function cell(text, className = "", title = "", label = "") {
  const td = document.createElement("td");
  if (className) td.className = className;
  if (title) td.title = title;
  if (label) td.dataset.label = label; // a phone's card names each part
  td.textContent = text;
  return td;
}

const SVG = "http://www.w3.org/2000/svg";

// A row the kernel keeps for a while (TIME_WAIT): `expires_in` seconds from when it
// came, as a moment of this page's clock, for its countdown.
function timed(row) {
  row.expiresAt = typeof row.expires_in === "number" ? Date.now() + row.expires_in * 1000 : null;
  return row;
}

const secondsLeft = (at) => Math.max(0, Math.ceil((at - Date.now()) / 1000));

// The kernel state, and for a socket the program closed an hourglass drawn inline
// (an emoji needs a font many systems lack) and the seconds the kernel keeps it.
function stateCell(row, text, label = "") {
  const td = cell("", `state state-${row.state.toLowerCase()}`, "", label);
  if (row.closed_by_program) {
    const glass = svg("svg", { viewBox: "0 0 10 14", width: "10", height: "14", class: "hourglass", "aria-hidden": "true", focusable: "false" });
    glass.append(svg("path", { d: "M1 1h8M1 13h8M2 1c0 4 6 4 6 6s-6 2-6 6M8 1c0 4-6 4-6 6s6 2 6 6", fill: "none", stroke: "currentColor", "stroke-width": "1.2" }));
    td.append(glass, " ");
  }
  td.append(text);
  if (row.expiresAt !== null && row.expiresAt !== undefined) {
    const left = document.createElement("span");
    left.dataset.expiresAt = String(row.expiresAt);
    left.textContent = `, ${secondsLeft(row.expiresAt)} s left`;
    td.append(left);
  }
  return td;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// "You predicted ECONNREFUSED; the kernel said ECONNREFUSED. You were right." and the
// step's explanation: what a done step shows (the server's `revealed` entry).
function revealWords(experiment, shown) {
  const parts = [];
  const prediction = shown.prediction;
  const choices = experiment.predict?.[shown.step - 1]?.choices || [];
  if (prediction) {
    const said = choices[prediction.answer] ?? `choice ${prediction.answer + 1}`;
    if (prediction.choice === null || prediction.choice === undefined) {
      parts.push(`The kernel said: ${said}.`);
    } else {
      const guess = choices[prediction.choice] ?? `choice ${prediction.choice + 1}`;
      parts.push(`You predicted “${guess}”; the kernel said “${said}”. ${prediction.correct ? "You were right." : "Your prediction was wrong."}`);
    }
  }
  if (shown.explain) parts.push(shown.explain);
  return parts.join(" ");
}

// The link back to the lesson section that teaches what an experiment shows.
function lessonLink(experiment) {
  const [lesson, section] = experiment.teaches.split("#");
  const link = document.createElement("a");
  link.href = `/lessons/${lesson}/${section ? `#${section}` : ""}`;
  link.dataset.lessonLink = "";
  link.textContent = "Read the lesson section this experiment belongs to";
  return link;
}

/**
 * Runs a playground inside `root`.
 * options.experiment: an experiment id to show once connected (see choose).
 * options.compact: the panel's table (socket, state, 5-tuple, actions) instead of the page's.
 * options.syncUrl: keep `?experiment=` of the address bar on the chosen experiment.
 * options.ensureSession: async () => void, awaited before each connection (so a
 *   `no_session` close is retried): no GET makes a session (sessionMaker).
 * Returns {start(id), close()}.
 */
export function mount(root, options = {}) {
  const $ = (selector) => root.querySelector(selector);
  const $$ = (selector) => [...root.querySelectorAll(selector)];
  const listening = new AbortController();
  const signal = listening.signal;

  const state = {
    devices: [],
    sockets: new Map(),
    limits: {},
    deadline: null,
    idleDeadline: null,
    received: new Map(),
    experiments: [], // from hello: [{id, title, lesson, teaches, steps: [text], predict, pick}]
    // experiment id -> {done, steps, finished, revealed, predicted}, as the server reports it
    progress: {},
    active: null, // the sandbox's active experiment (all its tabs share it)
    shown: null, // the experiment this view shows
    canReset: false, // the server knows `tcp.reset`
    picking: null, // what the current step asks the learner to pick now: "packet", "socket"
    pickNote: "", // why the last pick was not the one
    stepFailure: null, // {key, text}: the last failed action, said in the current step
  };
  let wanted = options.experiment || null; // to show (see choose) on the first hello
  const pending = new Map(); // ref -> command, to explain answers
  // ref -> {key, done}: the key of the control that sent it ("form:<op>", "row:<socket
  // id>", "reset", "picker", "experiment"), where its failure is said (controlErrors),
  // and the active experiment's steps done when it was sent.
  const origins = new Map();
  const controlErrors = new Map(); // control key -> {text, link}, until it next succeeds
  const names = new Map(); // socket id -> Python variable name
  const awaitingAccept = new Map(); // "ip:port>ip:port" of a client -> its listener's id
  let acted = { id: null, seq: 0 }; // the socket the learner made or used last
  let ws = null;
  let nextRef = 1;
  let retryDelay = 1000;
  let retryTimer = null;
  let closed = false;
  let openedFormsFor = null;
  let openedPacketsFor = null;
  let renderedKey = null; // what the steps box shows
  let choicesKey = null; // what the experiment list shows

  // Connection ------------------------------------------------------------

  function setStatus(kind, text) {
    const box = $("[data-status]");
    if (!box) return;
    box.dataset.status = kind;
    $("[data-status-text]").textContent = text;
  }

  async function connect() {
    retryTimer = null;
    if (closed) return;
    setStatus("connecting", "Connecting…");
    if (options.ensureSession) {
      try {
        await options.ensureSession();
      } catch {
        retry();
        return;
      }
      if (closed) return;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/playground/`);
    ws = socket;
    socket.addEventListener("open", () => {
      retryDelay = 1000;
    });
    socket.addEventListener("message", (message) => handle(JSON.parse(message.data)));
    socket.addEventListener("close", (event) => {
      if (closed || socket !== ws) return;
      if (event.code === 4401 && !options.ensureSession) {
        setStatus("closed", "No session: reload the page");
        return;
      }
      if (event.code === 4429 || event.code === 4503) {
        // A quota or a full playground: the error event said why; waiting longer helps.
        retryDelay = Math.max(retryDelay, 15000);
      }
      retry();
    });
  }

  function retry() {
    const seconds = Math.round(retryDelay / 1000);
    setStatus("closed", `Disconnected; retrying in ${seconds} s`);
    retryTimer = setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  // Sends a command for a part of the page (the packets panel) that asks again by
  // itself after a reconnect: nothing is logged when not connected.
  function request(command) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    send(command);
    return true;
  }

  // `origin`: the key of the control that sent it (see origins), where its failure is said.
  function send(command, origin = null) {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      const text = "Not connected yet; the page reconnects by itself.";
      log("error", text);
      if (origin) refuse(origin, text);
      return;
    }
    command.ref = String(nextRef++);
    pending.set(command.ref, command);
    if (origin) origins.set(command.ref, { key: origin, done: stepsDone() });
    ws.send(JSON.stringify(command));
    if (state.deadline) state.idleDeadline = Date.now() + state.limits.idle_timeout * 1000;
  }

  // Events ----------------------------------------------------------------

  function handle(event) {
    switch (event.type) {
      case "hello":
        // Connected once the page knows the sandbox: the forms need its devices.
        setStatus("open", "Connected");
        state.devices = event.devices;
        state.limits = event.limits;
        state.sockets = new Map(event.sockets.map((row) => [row.id, timed(row)]));
        state.received = new Map(event.data.map((d) => [d.socket, d.data]));
        state.deadline = Date.now() + event.expires.lifetime_left * 1000;
        state.idleDeadline = Date.now() + event.expires.idle_left * 1000;
        state.experiments = event.experiments || [];
        state.progress = event.progress || {};
        state.active = event.experiment || null;
        state.canReset = "capture" in event;
        // A reconnect keeps the experiment in view; the first hello shows the active one.
        if (!state.experiments.some((e) => e.id === state.shown)) state.shown = state.active;
        renderDevices();
        renderExperimentChoices();
        $("[data-rows]")?.replaceChildren();
        renderAll();
        log("info", event.kernel_states
          ? "Connected. Socket states come from the kernel's own table."
          : `Connected. ${event.kernel_states_note} States shown are the ones the playground knows itself.`);
        if (!options.compact) {
          log("info", event.network_namespace
            ? "Your sockets live in a network of their own: nothing else on this server is in it, so every socket you see is yours."
            : `Your sockets share this server's network here (${event.network_namespace_note || "no network namespace"}); the playground's own rules still keep other programs and visitors out.`);
        }
        // The experiment asked for by the address or a "Try it" link, once: a reconnect
        // finds the sandbox's active one (maybe chosen in another tab) and keeps it.
        if (wanted) choose(wanted);
        wanted = null;
        toTimeline(event);
        break;
      case "socket":
        if (!state.sockets.has(event.socket.id)) acceptedCode(event.socket);
        state.sockets.set(event.socket.id, timed(event.socket));
        renderAll(event.socket.id);
        toTimeline(event);
        break;
      case "socket.gone":
        state.sockets.delete(event.socket);
        controlErrors.delete(`row:${event.socket}`);
        renderAll();
        log("info", `${event.socket} is gone: ${event.reason}.`);
        toTimeline(event);
        break;
      case "packet":
        toTimeline(event);
        break;
      case "data": {
        const text = event.eof ? "(end of stream: the other side shut down its sending side)" : `“${event.data}”`;
        const from = event.from ? ` from ${event.from.device} port ${event.from.port}` : "";
        if (!event.eof) state.received.set(event.socket, (state.received.get(event.socket) || "") + event.data);
        // Kept data re-sent after a reconnect (hello chunks) was logged when it first arrived.
        if (!event.kept) log("data", `${event.socket} received ${text}${from}.`);
        break;
      }
      case "experiment.progress":
        progressed(event);
        break;
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
        // Its process died (a fresh sandbox's hello follows) or is stopping (a close
        // follows, and the reconnect finds a fresh sandbox on another process).
        log("error", event.message);
        break;
    }
  }

  // The server's word on an experiment: the one started (by any tab) and its steps done.
  function progressed(event) {
    if (event.experiment !== state.active || state.shown === null) state.shown = event.experiment;
    state.active = event.experiment;
    const before = state.progress[event.experiment];
    state.progress[event.experiment] = {
      done: event.done,
      steps: event.steps,
      finished: event.finished,
      revealed: event.revealed || [],
      predicted: event.predicted || {},
    };
    if (!before || event.done !== before.done) {
      state.pickNote = "";
      state.stepFailure = null; // said of a step that is done now, or of another one
    }
    const told = new Set((before?.revealed || []).map((r) => r.step));
    const fresh = (event.revealed || []).filter((r) => !told.has(r.step));
    renderExperiment();
    renderExperimentChoices();
    // Said aloud too: what the kernel did, beside the learner's prediction.
    const news = $("[data-experiment-news]");
    const found = state.experiments.find((e) => e.id === event.experiment);
    if (news && found && before && fresh.length) {
      news.textContent = fresh.map((r) => `Step ${r.step} done. ${revealWords(found, r)}`).join(" ");
    }
    // For the page around a panel (a lesson's lab state): a DOM event with the news.
    const detail = { experiment: event.experiment, done: event.done, steps: event.steps, finished: event.finished };
    root.dispatchEvent(new CustomEvent("playground:progress", { bubbles: true, detail }));
    if (found && before && event.done > before.done) {
      log("ok", `Experiment: ${event.done} of ${event.steps} steps done.`);
    }
  }

  function answered(event) {
    const command = pending.get(event.ref);
    pending.delete(event.ref);
    const origin = origins.get(event.ref);
    origins.delete(event.ref);
    if (origin) clearRefusal(origin.key);
    if (event.socket && typeof event.socket === "object") {
      acted = { id: event.socket.id, seq: acted.seq + 1 };
      state.sockets.set(event.socket.id, timed(event.socket));
      renderAll(event.socket.id);
      toTimeline({ type: "socket", socket: event.socket });
    }
    if (event.op === "experiment.start" && event.experiment) progressed(event);
    if (event.op === "experiment.pick" && !event.matched) {
      state.pickNote = event.message;
      renderExperiment();
    }
    if (command && typeof command.socket === "string" && !(event.socket && typeof event.socket === "object")) {
      acted = { id: command.socket, seq: acted.seq + 1 };
      renderSocketSelects();
    }
    toTimeline(event, command);
    if (command && command.op !== "capture") {
      log("ok", describe(command, event, state.experiments));
      showCode(command, event);
    }
  }

  function failed(event) {
    toTimeline(event, pending.get(event.ref));
    pending.delete(event.ref);
    // An error the kernel reported on a socket by itself (no ref) belongs to its row.
    const origin = origins.get(event.ref) || (event.socket ? { key: `row:${event.socket}`, done: null } : null);
    origins.delete(event.ref);
    const term = glossaryFor(event.code);
    const link = term ? `/glossary/#${term}` : null;
    log("error", event.message, link, term);
    // The server reports a step done before it answers: an error the step waited for
    // (ECONNREFUSED, say) has moved it on, and is no failure of the step.
    if (origin) refuse(origin.key, event.message, link, term, origin.done === stepsDone());
  }

  function stepsDone() {
    return state.active ? state.progress[state.active]?.done ?? 0 : null;
  }

  // Failures said where the eye is ------------------------------------------------
  // The event log keeps the history; a failed action is also said next to the control
  // that made it (until that control next succeeds), in the active experiment's
  // current step, and aloud (one alert region per mount).

  const alertBox = document.createElement("p");
  alertBox.className = "visually-hidden";
  alertBox.setAttribute("role", "alert");
  alertBox.dataset.errorNews = "";
  root.append(alertBox);

  function refuse(key, text, link = null, term = null, ofStep = true) {
    controlErrors.set(key, { text, link, term });
    const experiment = state.experiments.find((e) => e.id === state.active);
    if (ofStep && experiment && state.shown === state.active && key !== "picker") {
      state.stepFailure = { key, text };
      renderExperiment();
    }
    showRefusal(key);
    const words = `That did not work: ${text}`;
    // The same words twice are still said twice.
    alertBox.textContent = alertBox.textContent === words ? `${words}\u00a0` : words;
  }

  // A word next to a control that is no failure (what its box cut), until it next succeeds.
  function tell(key, text) {
    controlErrors.set(key, { text, note: true });
    showRefusal(key);
    alertBox.textContent = text;
  }

  function clearRefusal(key) {
    if (state.stepFailure?.key === key) {
      state.stepFailure = null;
      renderExperiment();
    }
    if (!controlErrors.delete(key)) return;
    showRefusal(key);
  }

  // The element a control's failure is said in: after the form's button, after the
  // reset button or the picker; a row's is in its actions cell (rowFor).
  function refusalBox(key) {
    let control = null;
    if (key.startsWith("form:")) control = $(`form[data-op="${key.slice(5)}"] button[type=submit]`);
    else if (key === "reset") control = $("[data-reset]");
    else if (key === "picker") control = $("[data-experiment-go]");
    if (!control) return null;
    const holder = key === "picker" ? control.parentElement : control;
    let box = holder.parentElement.querySelector(`:scope > [data-error-for="${key}"]`);
    if (!box) {
      box = document.createElement("p");
      box.className = "control-error";
      box.dataset.errorFor = key;
      box.id = `error-${key.replace(/\W/g, "-")}${options.compact ? "-panel" : ""}`;
      box.hidden = true;
      holder.after(box);
      control.setAttribute("aria-describedby", [control.getAttribute("aria-describedby"), box.id].filter(Boolean).join(" "));
    }
    return box;
  }

  function showRefusal(key) {
    if (key.startsWith("row:")) {
      renderTable();
      return;
    }
    const box = refusalBox(key);
    if (!box) return;
    const said = controlErrors.get(key);
    box.hidden = !said;
    box.replaceChildren(...(said ? refusalWords(said) : []));
    // On a phone the docked sockets panel may cover it; the page's scroll padding keeps
    // "nearest" clear of the dock.
    if (said) box.scrollIntoView({ block: "nearest" });
  }

  function refusalWords({ text, link, term, note }) {
    const parts = [note ? text : `That did not work: ${text}`];
    if (link) parts.push(" ", glossaryLink(link, term));
    return parts;
  }

  // "Glossary: address already in use (EADDRINUSE)": the glossary's own words for the
  // entry (the page's pg-glossary-words), never a bare error code.
  function glossaryLink(link, term) {
    const a = document.createElement("a");
    a.href = link;
    a.textContent = GLOSSARY_WORDS[term] ? `Glossary: ${GLOSSARY_WORDS[term]}` : "What this error means";
    return a;
  }

  // Python equivalents ----------------------------------------------------

  function varName(id) {
    if (!names.has(id)) names.set(id, `s${id.slice(1)}`);
    return names.get(id);
  }

  const tupleKey = (local, remote) => `${local.ip}:${local.port}>${remote.ip}:${remote.port}`;

  // An accepted socket comes from its listener's accept(), named `conn<n>` for the
  // lines that use it later. Written right after the connect that made it (the
  // accepted socket's event may come before or after the connect's answer).
  function acceptLine(row) {
    const name = `conn${row.id.slice(1)}`;
    names.set(row.id, name);
    return `${name}, addr = ${varName(row.listener)}.accept()  # ${row.id}: the server's end, from ${row.remote.ip}:${row.remote.port}`;
  }

  function acceptedCode(row) {
    if (row.role !== "accepted" || !row.remote) return;
    const key = tupleKey(row.remote, row.local);
    if (!awaitingAccept.has(key)) return;
    awaitingAccept.delete(key);
    appendCode(acceptLine(row));
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
        return `${v} = socket.socket(socket.AF_INET, socket.SOCK_STREAM)${reuse}\n${v}.bind(("${s.local.ip}", ${command.port}))\n${v}.listen(${"backlog" in command ? command.backlog : state.limits?.listen_backlog ?? ""})`;
      }
      case "tcp.connect": {
        const v = varName(s.id);
        const made = `${v} = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n${v}.bind(("${s.local.ip}", 0))  # the ${s.device}'s address; the system picks port ${s.local.port}`;
        if (s.state === "SYN_SENT") {
          // A blocking connect() would wait here for minutes: the program goes on without it.
          return `${made}\n${v}.setblocking(False)\n${v}.connect_ex(("${s.remote.ip}", ${s.remote.port}))  # EINPROGRESS: no answer to its SYN yet (SYN_SENT)`;
        }
        const lines = `${made}\n${v}.connect(("${s.remote.ip}", ${s.remote.port}))`;
        const accepted = [...state.sockets.values()].find((r) => r.role === "accepted" && r.remote && !names.has(r.id)
          && tupleKey(r.remote, r.local) === tupleKey(s.local, s.remote));
        if (accepted) return `${lines}\n${acceptLine(accepted)}`;
        const listener = [...state.sockets.values()].find((r) => r.role === "listener" && r.local.ip === s.remote.ip && r.local.port === s.remote.port);
        // A listener that accepts only when told leaves the connection in its queue.
        if (listener?.auto_accept !== false) awaitingAccept.set(tupleKey(s.local, s.remote), true);
        return lines;
      }
      case "accept": return acceptLine(s);
      case "recv": {
        const row = state.sockets.get(command.socket);
        const v = varName(command.socket);
        // asyncio, which reads for the playground, takes at most 256 KiB a read.
        return row?.protocol === "udp" ? `data, addr = ${v}.recvfrom(65536)` : `data = ${v}.recv(262144)`;
      }
      case "udp.bind": {
        const v = varName(s.id);
        return `${v} = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n${v}.bind(("${s.local.ip}", ${command.port}))`;
      }
      case "udp.connect": return `${varName(s.id)}.connect(("${s.remote.ip}", ${s.remote.port}))`;
      case "send": {
        const row = state.sockets.get(command.socket);
        return `${varName(command.socket)}.${row?.protocol === "udp" ? "send" : "sendall"}(${JSON.stringify(command.data)}.encode())`;
      }
      case "udp.sendto": return `${varName(command.socket)}.sendto(${JSON.stringify(command.data)}.encode(), ("${ipOf(command.to.device)}", ${command.to.port}))`;
      case "shutdown": return `${varName(command.socket)}.shutdown(socket.SHUT_WR)`;
      case "close": return `${varName(command.socket)}.close()`;
      case "tcp.reset": {
        const v = varName(command.socket);
        return `import struct\n${v}.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))\n${v}.close()  # linger on, 0 seconds: the kernel sends RST, not FIN`;
      }
      case "reset": {
        const all = [...names.values()];
        names.clear();
        awaitingAccept.clear();
        return all.length ? `# close every socket\nfor s in [${all.join(", ")}]:\n    s.close()` : "";
      }
    }
    return "";
  }

  function showCode(command, event) {
    const box = $("[data-code]");
    const code = box && pythonFor(command, event);
    if (code) appendCode(code, "\n");
  }

  // The whole program so far, so that it runs as it stands (the box scrolls).
  function appendCode(code, gap = "") {
    const box = $("[data-code]");
    if (box) box.textContent = `${box.textContent}\n${gap}${code}`;
  }

  // Log -------------------------------------------------------------------

  function log(kind, text, link = null, term = null) {
    const list = $("[data-log]");
    if (!list) return;
    const item = document.createElement("li");
    item.className = `log-${kind}`;
    const label = document.createElement("span");
    label.className = "log-kind";
    label.textContent = { ok: "Done", error: "Error", data: "Data", info: "Note" }[kind] || kind;
    item.append(label, " ", text);
    if (link) item.append(" ", glossaryLink(link, term));
    list.prepend(item);
    while (list.children.length > 100) list.lastElementChild.remove();
  }

  // Table -----------------------------------------------------------------

  // "Pick this one": the learner's answer to a step that asks to find a socket.
  function pickButton(row) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "button button-small button-pick";
    b.dataset.pick = row.id;
    b.textContent = "Pick this one";
    b.setAttribute("aria-label", `Pick ${row.id}, ${row.device} ${row.role}, ${row.state}, for this step`);
    b.addEventListener("click", () => send({ op: "experiment.pick", socket: row.id }, `row:${row.id}`));
    return b;
  }

  // The row's buttons, then what the last of them that failed met.
  function actionButtons(row) {
    const td = rowButtons(row);
    const said = controlErrors.get(`row:${row.id}`);
    if (said) {
      const box = document.createElement("p");
      box.className = "control-error";
      box.dataset.errorFor = `row:${row.id}`;
      box.append(...refusalWords(said));
      td.append(box);
    }
    return td;
  }

  function rowButtons(row) {
    const td = document.createElement("td");
    td.className = "actions";
    if (state.picking === "socket") td.append(pickButton(row));
    if (row.closed_by_program) {
      const note = document.createElement("span");
      note.className = "closed-note";
      note.textContent = "closed by the program; the kernel still holds it";
      td.append(note);
      return td;
    }
    const buttons = [];
    // A listener that accepts only when told, a socket that reads only when told.
    if (row.role === "listener" && row.auto_accept === false) buttons.push(["accept", "Accept", "accept(): take the oldest connection waiting in its accept queue"]);
    if (row.role !== "listener" && row.auto_read === false) buttons.push(["recv", "Receive (recv)", "recv(): take what waits in its receive queue, once"]);
    if (row.protocol === "tcp" && row.role !== "listener" && !row.write_shutdown) buttons.push(["shutdown", "Shut down sending"]);
    buttons.push(["close", "Close"]);
    // Closing with SO_LINGER 0 (`tcp.reset`): a connection only, and only where the
    // server knows the op (its hello speaks of capture).
    if (state.canReset && row.protocol === "tcp" && row.role !== "listener" && row.remote) {
      buttons.push(["tcp.reset", "Reset (RST)", "Close with SO_LINGER 0: the kernel sends RST instead of FIN"]);
    }
    for (const [op, label, title] of buttons) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "button button-small";
      b.textContent = label;
      if (title) b.title = title;
      b.setAttribute("aria-label", `${label} ${row.id}`);
      b.dataset.action = op;
      b.addEventListener("click", () => send({ op, socket: row.id }, `row:${row.id}`));
      td.append(b);
    }
    return td;
  }

  function rowFor(row) {
    const tr = document.createElement("tr");
    tr.dataset.id = row.id;
    tr.dataset.state = row.state;
    // The row's facts as data, for scripts and tests: whatever the cells show.
    tr.dataset.local = `${row.local.ip}:${row.local.port}`;
    tr.dataset.remote = row.remote ? `${row.remote.ip}:${row.remote.port}` : "";
    tr.dataset.bytesIn = String(row.bytes_received);
    tr.dataset.closed = String(Boolean(row.closed_by_program));
    tr.classList.toggle("is-lingering", row.closed_by_program);
    const remote = row.remote || { ip: "—", port: "—" };
    const noRemote = row.role === "listener"
      ? "A listening socket never has a remote address; the sockets it accepts do."
      : "Not connected: no remote address.";
    const state = row.closed_by_program ? `${row.state} (closed)` : row.state;
    const role = row.role + (row.listener ? ` (by ${row.listener})` : "")
      + (row.auto_accept === false ? ", accepts on accept()" : "")
      + (row.auto_read === false && row.role !== "listener" ? ", reads on recv()" : "");
    if (options.compact) {
      // Socket, state, then the 5-tuple on a line of its own: fits a phone's width.
      const local = `${row.local.ip}:${row.local.port}`;
      const peer = row.remote ? `${row.remote.ip}:${row.remote.port}` : "no remote address";
      tr.append(
        cell(`${row.id} ${role} on ${row.device}`, "who"),
        stateCell(row, state),
        cell(`${row.protocol.toUpperCase()} ${local} → ${peer}`, "tuple mono", row.remote ? "" : noRemote),
        actionButtons(row),
      );
      return tr;
    }
    // The socket, its 5-tuple and its kernel state always in view; its queues and
    // bytes folded into a disclosure under its name, so the table fits a desktop.
    const who = cell("", "who");
    const id = document.createElement("span");
    id.className = "mono socket-id";
    id.textContent = row.id;
    const what = document.createElement("span");
    what.className = "socket-role";
    what.textContent = `${row.device} ${role}`;
    who.append(id, " ", what);
    const details = document.createElement("details");
    details.dataset.more = row.id;
    const summary = document.createElement("summary");
    const whose = document.createElement("span");
    whose.className = "visually-hidden";
    whose.textContent = ` of ${row.id}`;
    summary.append("Queues, bytes", whose);
    const facts = document.createElement("dl");
    for (const [term, value, hint] of [
      ["Recv-Q / Send-Q", `${row.recv_queue} / ${row.send_queue}`, row.role === "listener"
        ? "for a listener: connections waiting in its accept queue / its backlog (Linux lets one more than the backlog wait)"
        : "bytes waiting in the kernel: received but not yet read / sent but not yet acknowledged"],
      ["Bytes in / out", `${row.bytes_received} / ${row.bytes_sent}`, "bytes this socket has received / sent in all"],
    ]) {
      const dt = document.createElement("dt");
      dt.textContent = term;
      dt.title = hint;
      const dd = document.createElement("dd");
      dd.className = "mono";
      dd.textContent = value;
      facts.append(dt, dd);
    }
    details.append(summary, facts);
    who.append(details);
    const actions = actionButtons(row);
    actions.dataset.label = "Actions";
    tr.append(
      who,
      cell(row.local.ip, "five mono", "", "Local IP"), cell(String(row.local.port), "five mono", "", "Local port"),
      cell(remote.ip, "five mono", row.remote ? "" : noRemote, "Remote IP"),
      cell(String(remote.port), "five mono", row.remote ? "" : noRemote, "Remote port"),
      cell(row.protocol.toUpperCase(), "five", "", "Protocol"),
      stateCell(row, state, "Kernel state"),
      actions,
    );
    return tr;
  }

  function renderTable(changedId) {
    const body = $("[data-rows]");
    if (!body) return;
    // Focus in a row that is redrawn or goes (its Close button, say) must not fall to
    // the page's body: it is put back after (keepFocus).
    const focused = body.contains(document.activeElement) ? document.activeElement : null;
    const focusedRow = focused?.closest("tr")?.dataset.id;
    const order = [...body.querySelectorAll("tr")].map((tr) => tr.dataset.id);
    const existing = new Map([...body.querySelectorAll("tr")].map((tr) => [tr.dataset.id, tr]));
    const rows = [...state.sockets.values()].sort(byId);
    for (const row of rows) {
      const fresh = rowFor(row);
      const old = existing.get(row.id);
      // A row's disclosure stays open when its socket changes.
      if (old?.querySelector("details[open]")) fresh.querySelector("details")?.setAttribute("open", "");
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
    if (focused && !focused.isConnected) keepFocus(body, focused, focusedRow, order);
    const empty = $("[data-empty]");
    if (empty) empty.hidden = rows.length > 0;
    const news = $("[data-table-news]");
    if (news && changedId && state.sockets.has(changedId)) {
      const r = state.sockets.get(changedId);
      news.textContent = `${r.id} ${r.role} on ${r.device}: ${r.state}${r.closed_by_program ? ", closed by the program" : ""}.`;
    }
  }

  // Where focus goes when the element that had it in a row went: the same button of
  // the redrawn row, else the first button of the next row (or the one before), else
  // the table's heading, or the Listen button when the table is empty.
  function keepFocus(body, focused, rowId, order) {
    const same = body.querySelector(`tr[data-id="${rowId}"]`);
    const action = focused.dataset.action || (focused.dataset.pick && "pick");
    const like = focused.matches("summary") ? "summary" : action === "pick" ? "[data-pick]" : `button[data-action="${action}"]`;
    const again = same && (same.querySelector(like) || same.querySelector("button"));
    if (again) {
      again.focus();
      return;
    }
    const at = order.indexOf(rowId);
    const after = order.slice(at + 1).concat(order.slice(0, Math.max(0, at)).reverse());
    for (const id of after) {
      const button = body.querySelector(`tr[data-id="${id}"] button`);
      if (button) {
        button.focus();
        return;
      }
    }
    const listen = state.sockets.size ? null : $("form[data-op='tcp.listen'] button[type=submit]");
    const heading = $("[data-table]")?.closest("section")?.querySelector("h2, h3");
    const target = listen || heading;
    if (!target) return;
    if (target === heading) target.tabIndex = -1;
    target.focus();
  }

  function renderSs() {
    const box = $("[data-ss]");
    if (!box) return;
    const lines = ["Netid State       Recv-Q Send-Q Local Address:Port     Peer Address:Port"];
    for (const row of state.sockets.values()) {
      const local = `${row.local.ip}:${row.local.port}`;
      const peer = row.remote ? `${row.remote.ip}:${row.remote.port}` : "0.0.0.0:*";
      const st = ssState(row.state);
      lines.push(`${row.protocol.padEnd(5)} ${st.padEnd(11)} ${String(row.recv_queue).padStart(6)} ${String(row.send_queue).padStart(6)} ${local.padEnd(22)} ${peer}`);
    }
    box.textContent = lines.join("\n");
  }

  // Selects and limits -------------------------------------------------------

  // What the server would say of text to send: it counts bytes (UTF-8), not characters.
  function tooLong(text) {
    const most = state.limits.send_bytes;
    const bytes = new TextEncoder().encode(text).length;
    if (!most || bytes <= most) return "";
    return `That text is ${count(bytes)} bytes (in UTF-8 a letter such as “é” takes 2, an emoji 4), and one send takes at most ${count(most)}: shorten it by ${count(bytes - most)} bytes. Nothing was sent.`;
  }

  // A port the server takes for this input (playground.limits, from hello): one to
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

  // "s2 · laptop client 127.77.0.2:41234 → 127.77.0.3:3000": its role and 5-tuple.
  function socketLabel(row) {
    const local = `${row.local.ip}:${row.local.port}`;
    const peer = row.remote ? ` → ${row.remote.ip}:${row.remote.port}` : " (no remote address)";
    const role = row.role === "udp" ? "UDP socket" : row.role;
    return `${row.id} · ${row.device} ${role} ${local}${peer}`;
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
      if (Number(select.dataset.acted || 0) !== acted.seq && usable.some((row) => row.id === acted.id)) {
        select.value = acted.id;
        select.dataset.acted = String(acted.seq);
      } else if (usable.some((row) => row.id === current)) {
        select.value = current;
      }
    }
  }

  // Diagram ----------------------------------------------------------------

  // Side by side where there is room; on a phone, one device above the other, drawn
  // at the box's own width (one user unit a CSS pixel), so no text shrinks below 12 px.
  const NARROW = 520;

  function renderDiagram() {
    const box = $("[data-diagram]");
    if (!box) return;
    const rows = [...state.sockets.values()];
    const ports = new Map(); // device -> sorted ports
    for (const d of state.devices) ports.set(d.name, new Set());
    for (const row of rows) ports.get(row.device)?.add(`${row.protocol}:${row.local.port}`);
    const vertical = box.clientWidth > 0 && box.clientWidth < NARROW;
    box.dataset.layout = vertical ? "vertical" : "across";
    const width = vertical ? Math.max(260, Math.floor(box.clientWidth)) : 640;
    // Where each device's box and docks go.
    const perRow = vertical ? Math.max(1, Math.floor((width - 40) / 84)) : 1;
    const dockRows = (n) => Math.max(1, Math.ceil(n / perRow));
    const boxes = [];
    let y = 20;
    const maxPorts = Math.max(1, ...[...ports.values()].map((p) => p.size));
    state.devices.forEach((device, index) => {
      if (vertical) {
        const h = 90 + dockRows(ports.get(device.name).size) * 64;
        boxes.push({ x: 10, y, w: width - 20, h });
        y += h + 30;
      } else {
        boxes.push({ x: index === 0 ? 40 : 380 + (index - 1) * 300, y: 20, w: 220, h: 70 + maxPorts * 70 });
      }
    });
    const height = vertical ? y - 10 : 110 + maxPorts * 70;
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: `pg-diagram${vertical ? " pg-diagram-vertical" : ""}` });
    if (vertical) {
      root.setAttribute("width", width);
      root.setAttribute("height", height);
    }
    root.append(svg("title", {}, "Devices, their ports as loading docks, and the sockets living at them"));
    const where = new Map(); // socket id -> {x, y}
    state.devices.forEach((device, index) => {
      const { x, y: top, w, h } = boxes[index];
      const group = svg("g", { class: "device" });
      group.append(svg("rect", { x, y: top, width: w, height: h, rx: 12, class: "device-box" }));
      group.append(svg("text", { x: x + 12, y: top + 26, class: "device-name" }, `${device.name}`));
      group.append(svg("text", { x: x + 12, y: top + 44, class: "device-ip" }, device.ip));
      const list = [...ports.get(device.name)].sort();
      list.forEach((key, i) => {
        const [protocol, port] = key.split(":");
        let dockX;
        let dockY;
        if (vertical) {
          dockX = x + 12 + (i % perRow) * 84;
          dockY = top + 60 + Math.floor(i / perRow) * 64;
        } else {
          dockX = index === 0 ? x + w - 70 : x;
          dockY = 90 + i * 70;
        }
        group.append(svg("rect", { x: dockX, y: dockY, width: 72, height: 50, rx: 6, class: `dock dock-${protocol}` }));
        group.append(svg("text", { x: dockX + 36, y: dockY + 15, class: "dock-label", "text-anchor": "middle" }, `${protocol.toUpperCase()} ${port}`));
        const here = rows.filter((r) => r.device === device.name && `${r.protocol}:${r.local.port}` === key);
        here.forEach((row, j) => {
          const cx = dockX + 14 + (j % 4) * 14;
          const cy = dockY + 31 + Math.floor(j / 4) * 12;
          where.set(row.id, { x: cx, y: cy });
          const circle = svg("circle", { cx, cy, r: 6, class: `worker role-${row.role}${row.closed_by_program ? " lingering" : ""}` });
          circle.append(svg("title", {}, `${row.id}: ${row.role}, ${row.state}`));
          group.append(circle);
        });
      });
      if (!list.length) {
        // Two lines, so that it stays inside the device's box.
        const empty = svg("text", { x: x + 12, y: top + 72, class: "device-ip device-empty" });
        empty.append(svg("tspan", { x: x + 12 }, "no sockets:"));
        empty.append(svg("tspan", { x: x + 12, dy: 16 }, "every port is an empty dock"));
        group.append(empty);
      }
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
    box.replaceChildren(root, diagramLegend());
  }

  // What the diagram's dots and lines mean, drawn with the diagram's own classes.
  function diagramLegend() {
    const list = document.createElement("ul");
    list.className = "pg-legend";
    list.setAttribute("aria-label", "Key to the diagram");
    const entries = [
      [svg("circle", { cx: 8, cy: 8, r: 6, class: "worker role-listener" }), "listening socket"],
      [svg("circle", { cx: 8, cy: 8, r: 6, class: "worker role-client" }), "connected socket (client or accepted)"],
      [svg("circle", { cx: 8, cy: 8, r: 6, class: "worker role-udp" }), "UDP socket"],
      [svg("circle", { cx: 8, cy: 8, r: 6, class: "worker lingering" }), "closed by the program, still kept by the kernel"],
      [svg("line", { x1: 0, y1: 8, x2: 16, y2: 8, class: "link" }), "connection"],
      [svg("line", { x1: 0, y1: 8, x2: 16, y2: 8, class: "link link-closing" }), "connection being closed"],
    ];
    for (const [shape, words] of entries) {
      const item = document.createElement("li");
      const picture = svg("svg", { viewBox: "0 0 16 16", width: "16", height: "16", class: "pg-diagram", "aria-hidden": "true", focusable: "false" });
      picture.append(shape);
      item.append(picture, ` ${words}`);
      list.append(item);
    }
    return list;
  }

  // Experiments: listed, started and ticked by the server ----------------------

  // Each experiment with the learner's mark in words: "✓ done" (every step done once),
  // "started" (some done, or the sandbox's active one).
  function markOf(experiment) {
    const progress = state.progress[experiment.id] || {};
    if (progress.finished) return "✓ done";
    if ((progress.done ?? 0) > 0 || experiment.id === state.active) return "started";
    return "";
  }

  function renderExperimentChoices() {
    const select = $("[data-experiment-select]");
    if (!select) return;
    const choices = state.experiments.map((e, i) => {
      const mark = markOf(e);
      return new Option(`${i + 1}. ${e.title}${mark ? ` (${mark})` : ""}`, e.id);
    });
    // Rebuilt only when a mark changed, and the learner's place in the list stays
    // (they may be arrowing through it, its popup open).
    const key = JSON.stringify(choices.map((o) => [o.value, o.text]));
    if (choicesKey !== key) {
      choicesKey = key;
      const current = select.value;
      select.replaceChildren(new Option("Choose one…", ""), ...choices);
      select.value = current;
    }
    renderGo();
  }

  // The Start button says what it will do with the chosen experiment (see choose).
  function renderGo() {
    const select = $("[data-experiment-select]");
    const go = $("[data-experiment-go]");
    if (!select || !go) return;
    const id = select.value;
    go.textContent = !id ? "Hide" : id === state.active || state.progress[id]?.finished ? "Show" : "Start";
    go.disabled = !id && !state.shown;
  }

  // An experiment starts only on an explicit choice (Start, or Enter in the list):
  // never as the list's value changes, so arrowing through it starts nothing.
  function go() {
    const select = $("[data-experiment-select]");
    const id = select.value;
    if (id) {
      choose(id);
      return;
    }
    // No experiment chosen: the sandbox's active one goes on, this view only hides it.
    state.shown = "";
    if (options.syncUrl) {
      const url = new URL(location.href);
      url.searchParams.delete("experiment");
      history.replaceState(null, "", url);
    }
    renderExperiment();
  }

  function renderExperiment() {
    const box = $("[data-experiment]");
    const experiment = state.experiments.find((e) => e.id === state.shown);
    const select = $("[data-experiment-select]");
    // The list follows the experiment shown when that changes, not on every render:
    // the learner may be arrowing through it.
    const showing = experiment ? experiment.id : "";
    if (select && select.dataset.showing !== showing) {
      select.dataset.showing = showing;
      select.value = showing;
      renderGo();
    }
    const title = $("[data-experiment-title]");
    if (title && experiment) title.textContent = experiment.title;
    const url = new URL(location.href);
    if (options.syncUrl && experiment && url.searchParams.get("experiment") !== experiment.id) {
      url.searchParams.set("experiment", experiment.id);
      history.replaceState(null, "", url);
    }
    const udp = $("[data-udp-forms]");
    if (udp && experiment && experiment.id !== openedFormsFor) {
      // The panel's UDP forms open by themselves for an experiment that speaks of UDP.
      openedFormsFor = experiment.id;
      udp.open = /\bUDP\b|datagram/i.test(`${experiment.title} ${experiment.steps.join(" ")}`);
    }
    const packets = $("[data-packets-open]");
    if (packets && experiment && experiment.id !== openedPacketsFor) {
      // The packets panel opens by itself for an experiment about packets (never closes).
      openedPacketsFor = experiment.id;
      if (/\bpackets?\b/i.test(`${experiment.title} ${experiment.steps.join(" ")}`) || /\b(SYN|FIN|RST)\b/.test(experiment.steps.join(" "))) packets.open = true;
    }
    updatePicking();
    // Rebuilt only when what it shows changed: not on every socket event.
    const progress = (experiment && state.progress[experiment.id]) || {};
    const key = experiment ? JSON.stringify([experiment.id, progress, state.pickNote, experiment.id === state.active, state.stepFailure]) : "";
    if (key === renderedKey) return;
    renderedKey = key;
    const news = $("[data-experiment-news]");
    if (!experiment) {
      box?.replaceChildren();
      if (news) news.textContent = "";
      return;
    }
    const total = progress.steps ?? experiment.steps.length;
    const done = Math.min(progress.done ?? 0, total);
    const summaryText = done >= total
      ? "Experiment complete. Well done!"
      : `Step ${done + 1} of ${total}.${progress.finished ? " (You have completed it before.)" : ""}`;
    if (news) news.textContent = summaryText;
    if (!box) return;
    const list = document.createElement("ol");
    list.className = "steps";
    const revealed = new Map((progress.revealed || []).map((r) => [r.step, r]));
    experiment.steps.forEach((text, i) => {
      const item = document.createElement("li");
      item.className = i < done ? "step-done" : i === done ? "step-current" : "step-todo";
      item.append(`${i < done ? "✓ Done: " : i === done ? "Now: " : ""}${text}`);
      const shown = revealed.get(i + 1);
      if (i < done && shown) item.append(revealBox(experiment, shown));
      if (i === done) item.append(...currentStep(experiment, i, progress));
      list.append(item);
    });
    const summary = document.createElement("p");
    summary.className = "step-summary";
    summary.dataset.complete = String(done >= total);
    summary.textContent = summaryText;
    const parts = [list, summary];
    if (done >= total) {
      // Starting a finished experiment again starts it over; its record stays finished.
      const again = document.createElement("button");
      again.type = "button";
      again.className = "button";
      again.dataset.restart = "";
      again.textContent = "Do it again";
      again.addEventListener("click", () => start(experiment.id));
      parts.push(again);
      const next = nextExperiment(experiment);
      if (next) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "button button-primary";
        button.dataset.nextExperiment = next.id;
        button.textContent = `Next experiment: ${next.title} →`;
        button.addEventListener("click", () => {
          choose(next.id);
          $("[data-experiment-select]")?.focus();
        });
        parts.push(" ", button);
      }
    }
    const back = document.createElement("p");
    back.className = "step-lesson";
    back.append(lessonLink(experiment));
    box.replaceChildren(...parts, back);
  }

  // The experiment after this one in the course's order that is not done yet (the
  // page's list only: a lesson's panel stays with its lesson's experiments).
  function nextExperiment(experiment) {
    if (!$("[data-experiment-select]")) return null;
    const at = state.experiments.findIndex((e) => e.id === experiment.id);
    const after = [...state.experiments.slice(at + 1), ...state.experiments.slice(0, at)];
    return after.find((e) => !state.progress[e.id]?.finished) || null;
  }

  // A done step's explanation, and the learner's prediction beside the kernel's answer.
  function revealBox(experiment, shown) {
    const box = document.createElement("div");
    box.className = "step-reveal";
    box.dataset.reveal = String(shown.step);
    const prediction = shown.prediction;
    if (prediction && prediction.choice !== null && prediction.choice !== undefined) {
      box.dataset.correct = String(prediction.correct);
    }
    const words = document.createElement("p");
    words.textContent = revealWords(experiment, shown);
    box.append(words);
    return box;
  }

  // The current step's question (before its action) and what it waits for.
  function currentStep(experiment, index, progress) {
    const parts = [];
    const active = experiment.id === state.active;
    const predict = experiment.predict?.[index];
    const step = index + 1;
    const predicted = (progress.predicted || {})[String(step)];
    if (predict && predicted === undefined) {
      parts.push(predictionForm(experiment, step, predict, active));
    } else if (predict) {
      const note = document.createElement("p");
      note.className = "step-predicted";
      note.textContent = `Your prediction: “${predict.choices[predicted]}”. Now do the step, and see what the kernel says.`;
      parts.push(note);
    }
    const pick = experiment.pick?.[index];
    if (pick && active && !(predict && predicted === undefined)) {
      const note = document.createElement("p");
      note.className = "step-pick-how";
      note.textContent = pick === "packet"
        ? "When you have found it, use its “Pick this one” button in the Packets panel."
        : "When you have found it, use its “Pick this one” button in the socket table.";
      parts.push(note);
    }
    if (state.pickNote && active) {
      const note = document.createElement("p");
      note.className = "step-pick-note";
      note.setAttribute("role", "status");
      note.textContent = `Not that one. ${state.pickNote}`;
      parts.push(note);
    }
    if (state.stepFailure && active) {
      // Said aloud already (the alert region): here it is only shown.
      const note = document.createElement("p");
      note.className = "step-failure";
      note.dataset.stepFailure = "";
      note.textContent = `That did not work: ${state.stepFailure.text} This means the step is not done yet: ${predict && predicted === undefined
        ? "lock in your prediction first, then do the step again."
        : "fix what the message says, then try again."}`;
      parts.push(note);
    }
    return parts;
  }

  // A fieldset of choices and "Lock in my prediction", asked before the learner acts.
  function predictionForm(experiment, step, predict, active) {
    const form = document.createElement("form");
    form.className = "step-predict";
    form.dataset.predict = String(step);
    const fieldset = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = `Predict first: ${predict.prompt}`;
    fieldset.append(legend);
    predict.choices.forEach((choice, n) => {
      const label = document.createElement("label");
      label.className = "step-choice";
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = `predict-${experiment.id}-${step}`;
      radio.value = String(n);
      radio.required = true;
      label.append(radio, " ", choice);
      fieldset.append(label);
    });
    const hint = document.createElement("p");
    hint.className = "step-predict-hint";
    hint.textContent = active
      ? "The step counts once your prediction is locked in; then do it, and the kernel answers."
      : "Start this experiment to lock in a prediction.";
    const lock = document.createElement("button");
    lock.type = "submit";
    lock.className = "button";
    lock.textContent = "Lock in my prediction";
    lock.disabled = !active;
    fieldset.append(hint, lock);
    form.append(fieldset);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const chosen = form.querySelector("input[type=radio]:checked");
      if (!chosen) return;
      lock.disabled = true;
      send({ op: "experiment.predict", experiment: experiment.id, step, choice: Number(chosen.value) }, "experiment");
    });
    return form;
  }

  // What the active experiment's current step asks the learner to pick now, if the
  // view shows it and its prediction (if any) is made.
  function pickingNow() {
    const experiment = state.experiments.find((e) => e.id === state.active);
    if (!experiment || state.shown !== state.active) return null;
    const progress = state.progress[experiment.id] || {};
    const done = progress.done ?? 0;
    const kind = experiment.pick?.[done] || null;
    if (!kind) return null;
    if (experiment.predict?.[done] && (progress.predicted || {})[String(done + 1)] === undefined) return null;
    return kind;
  }

  function updatePicking() {
    const now = pickingNow();
    if (now === state.picking) return;
    state.picking = now;
    renderTable();
    timeline?.setPicking(now === "packet");
  }

  function start(id) {
    state.shown = id;
    renderExperiment();
    send({ op: "experiment.start", experiment: id }, "picker");
  }

  // Show an experiment: the active one as it goes, a finished one as done (with "Do it
  // again"), any other one started (it resumes where the learner left it).
  function choose(id) {
    if (id === state.active || state.progress[id]?.finished) {
      state.shown = id;
      renderExperiment();
    } else {
      start(id);
    }
  }

  // Packets (timeline.js, loaded from the panel's data-module) -------------------

  const packetsBox = $("[data-packets]");
  let timeline = null;
  const early = []; // [event, command] that came before the module did
  if (packetsBox) {
    import(packetsBox.dataset.module).then((module) => {
      if (closed) return;
      const pick = (n) => send({ op: "experiment.pick", packet: n });
      timeline = module.mountTimeline(packetsBox, { request, signal, pick });
      for (const [event, command] of early.splice(0)) timeline.handle(event, command);
      timeline.setPicking(state.picking === "packet");
    }, () => log("error", "The packets panel could not be loaded; reload the page to try again."));
  }

  function toTimeline(event, command = null) {
    if (!packetsBox) return;
    if (timeline) timeline.handle(event, command);
    else early.push([event, command]);
  }

  // Wiring -----------------------------------------------------------------

  function renderAll(changedId) {
    renderTable(changedId);
    renderSs();
    renderSocketSelects();
    renderDiagram();
    renderExperiment();
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
        refuse(key, problem);
        return;
      }
      send(command, key);
    }, { signal });
    // A port out of the server's range is said next to it, in words, before sending.
    form.addEventListener("invalid", (event) => {
      const input = event.target;
      if (input.name) refuse(key, `${input.closest("label")?.firstChild?.textContent.trim() || input.name}: ${input.validationMessage}`);
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
        tell(key, `Only the first ${count(input.maxLength)} characters fit in the box; ${count(cut)} were cut. One send takes at most ${count(state.limits.send_bytes)} bytes.`);
      }, { signal });
    }
  }
  $("[data-reset]")?.addEventListener("click", () => send({ op: "reset" }, "reset"), { signal });
  $("[data-experiment-select]")?.addEventListener("change", renderGo, { signal });
  $("[data-experiment-select]")?.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    go();
  }, { signal });
  $("[data-experiment-go]")?.addEventListener("click", go, { signal });

  // The diagram is drawn again when the room it has changes (a phone turned, a window
  // resized).
  const diagramBox = $("[data-diagram]");
  let diagramWidth = 0;
  const resized = diagramBox && "ResizeObserver" in window ? new ResizeObserver(() => {
    const now = Math.floor(diagramBox.clientWidth);
    if (now === diagramWidth) return;
    diagramWidth = now;
    if (diagramBox.dataset.layout === "vertical" || now < NARROW) renderDiagram();
  }) : null;
  resized?.observe(diagramBox);

  const clock = setInterval(() => {
    for (const left of $$("[data-expires-at]")) left.textContent = `, ${secondsLeft(Number(left.dataset.expiresAt))} s left`;
    const box = $("[data-time-left]");
    if (!state.deadline || !box) return;
    const left = Math.max(0, Math.min(state.deadline, state.idleDeadline) - Date.now()) / 1000;
    box.textContent = `${Math.floor(left / 60)} min ${String(Math.floor(left % 60)).padStart(2, "0")} s`;
  }, 1000);

  connect();

  return {
    // Show an experiment (see choose); before the first hello, once connected.
    start(id) {
      if (ws && ws.readyState === WebSocket.OPEN && state.experiments.length) choose(id);
      else wanted = id;
    },
    // Leave: the WebSocket closes (the sandbox keeps its sockets for the grace period
    // and for the session's other tabs), and nothing of this mount runs any more.
    close() {
      closed = true;
      listening.abort();
      // What this mount said next to the controls goes with it (a panel opens again).
      alertBox.remove();
      for (const box of $$("[data-error-for]")) {
        for (const control of $$(`[aria-describedby~="${box.id}"]`)) {
          const rest = control.getAttribute("aria-describedby").split(" ").filter((id) => id !== box.id);
          if (rest.length) control.setAttribute("aria-describedby", rest.join(" "));
          else control.removeAttribute("aria-describedby");
        }
        box.remove();
      }
      clearInterval(clock);
      resized?.disconnect();
      clearTimeout(retryTimer);
      if (ws) ws.close(1000);
    },
  };
}

// The lesson panel ---------------------------------------------------------------

// A "Try it" link: to the playground page, naming an experiment.
function experimentOf(link, playgroundPath) {
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || url.pathname !== playgroundPath) return null;
  return url.searchParams.get("experiment");
}

// A reader with no session gets one from their first POST: lesson.js's "mark as read"
// (sent when the lesson's end comes into view) or the panel's. Two at once would make
// two sessions, the later cookie winning, and the panel's sandbox would not be the one
// the reader's next page finds; so such requests go one at a time, in the queue that
// lesson.js shares (window.sessionRequests).
function oneAtATime(request) {
  const next = (window.sessionRequests || Promise.resolve()).then(request, request);
  window.sessionRequests = next.catch(() => {});
  return next;
}

// What a playground awaits before it connects: a session for this browser, made by a
// POST (with the CSRF token `container` holds) to its data-session-url. No GET of a
// page makes a session (a reader who only looks leaves no row), so the playground page
// asks as the lesson panel does.
function sessionMaker(container) {
  return async function ensureSession() {
    const token = container.querySelector("input[name=csrfmiddlewaretoken]").value;
    const response = await oneAtATime(() =>
      fetch(container.dataset.sessionUrl, {
        method: "POST",
        headers: { "X-CSRFToken": token },
        credentials: "same-origin",
      }),
    );
    if (!response.ok) throw new Error(`No session: ${response.status}`);
  };
}

/**
 * Opens a lesson's "Try it" links in `panel` (playground/_lesson_panel.html) instead
 * of leaving the lesson: the same sandbox as the playground page, since the session
 * is the same. A click with a modifier key still opens the playground (a new tab).
 */
export function mountLessonPanel(panel) {
  const playgroundPath = new URL(panel.dataset.playgroundUrl, location.href).pathname;
  const links = [...document.querySelectorAll("a[href]")].filter((a) => !panel.contains(a) && experimentOf(a, playgroundPath));
  let playground = null;
  let opener = null;
  const ensureSession = sessionMaker(panel);

  function open(id, link) {
    opener = link;
    panel.querySelector("[data-full-playground]").href = `${panel.dataset.playgroundUrl}?experiment=${encodeURIComponent(id)}`;
    panel.hidden = false;
    document.body.classList.add("has-lab-panel");
    for (const a of links) a.setAttribute("aria-expanded", String(a === link));
    const title = panel.querySelector("[data-experiment-title]");
    if (!playground) title.textContent = link.textContent; // until the server names it
    if (playground) playground.start(id);
    else playground = mount(panel, { experiment: id, compact: true, ensureSession });
    title.focus();
  }

  function close() {
    panel.hidden = true;
    document.body.classList.remove("has-lab-panel");
    for (const a of links) a.setAttribute("aria-expanded", "false");
    if (playground) playground.close();
    playground = null;
    panel.querySelector("[data-rows]").replaceChildren();
    panel.querySelector("[data-log]").replaceChildren();
    if (opener) opener.focus();
  }

  for (const link of links) {
    link.setAttribute("aria-controls", panel.id);
    link.setAttribute("aria-expanded", "false");
    link.addEventListener("click", (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      open(experimentOf(link, playgroundPath), link);
    });
  }
  panel.querySelector("[data-lab-close]").addEventListener("click", close);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
}

// Pages that load this module get their playground started.
for (const root of document.querySelectorAll("[data-playground-page]")) {
  mount(root, {
    experiment: new URL(location.href).searchParams.get("experiment"),
    syncUrl: true,
    ensureSession: sessionMaker(root),
  });
}
for (const panel of document.querySelectorAll("[data-lab-panel]")) mountLessonPanel(panel);
