// The playground in the browser: plain ES modules, no build step; this one puts a
// playground together.
//
// `mount(root, options)` runs a playground inside `root`: one WebSocket to
// /ws/playground/ (connection.js), the state the server's events make (store.js), the
// live socket table, and whichever of the diagram, the ss view, the event log, the
// Python equivalents, the forms, the guided experiment and the packets panel
// (timeline.js) the markup under `root` has (views/, forms.js). The playground page
// mounts it on its main element (main.js); a lesson's panel mounts a compact one
// (`compact: true`) on the panel (lesson-panel.js).
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
// - The store's `apply(event)` is the only writer of the state; the views read it.
// Protocol: docs/playground-protocol.md.

import { createConnection } from "./connection.js";
import { secondsLeft } from "./dom.js";
import { createForms } from "./forms.js";
import { createStore } from "./store.js";
import { mountTimeline } from "./timeline.js";
import { glossaryFor } from "./vocabulary.js";
import { createDiagram } from "./views/diagram.js";
import { createExperiments } from "./views/experiments.js";
import { createLog, describe } from "./views/log.js";
import { createPython } from "./views/python.js";
import { createRefusals } from "./views/refusals.js";
import { renderSs } from "./views/ss.js";
import { revealWords } from "./views/steps.js";
import { createTable } from "./views/table.js";

/**
 * Runs a playground inside `root`.
 * options.experiment: an experiment id to show once connected (see choose).
 * options.compact: the panel's table (socket, state, 5-tuple, actions) instead of the page's.
 * options.syncUrl: keep `?experiment=` of the address bar on the chosen experiment.
 * options.ensureSession: async () => void, awaited before each connection (so a
 *   `no_session` close is retried): no GET makes a session (session.js).
 * Returns {start(id), close()}.
 */
export function mount(root, options = {}) {
  const listening = new AbortController();
  const store = createStore();
  const state = store.state;
  const ctx = {
    root,
    options,
    store,
    signal: listening.signal,
    $: (selector) => root.querySelector(selector),
    $$: (selector) => [...root.querySelectorAll(selector)],
    render: {},
  };
  const { $, $$ } = ctx;
  let wanted = options.experiment || null; // to show (see choose) on the first hello

  function setStatus(kind, text) {
    const box = $("[data-status]");
    if (!box) return;
    box.dataset.status = kind;
    $("[data-status-text]").textContent = text;
  }

  const connection = createConnection({ status: setStatus, message: handle, ensureSession: options.ensureSession });

  // `origin`: the key of the control that sent it ("form:<op>", "row:<socket id>",
  // "reset", "picker", "experiment"), where its failure is said, noted with the active
  // experiment's steps done when it was sent.
  ctx.send = function send(command, origin = null) {
    const note = origin ? { key: origin, done: stepsDone() } : null;
    if (!connection.send(command, note)) {
      const text = "Not connected yet; the page reconnects by itself.";
      log("error", text);
      if (origin) refusals.refuse(origin, text);
      return;
    }
    store.apply({ type: "sent" });
  };
  // Sends a command for a part of the page (the packets panel) that asks again by
  // itself after a reconnect: nothing is logged when not connected.
  ctx.request = (command) => {
    if (!connection.isOpen()) return false;
    ctx.send(command);
    return true;
  };

  const log = (ctx.log = createLog(ctx));
  const refusals = (ctx.refusals = createRefusals(ctx));
  const python = createPython(ctx);
  const diagram = createDiagram(ctx);
  const forms = createForms(ctx);
  const packetsBox = $("[data-packets]");
  const timeline = packetsBox
    ? mountTimeline(packetsBox, { store, request: ctx.request, signal: ctx.signal, pick: (n) => ctx.send({ op: "experiment.pick", packet: n }) })
    : null;
  ctx.packets = { renderPicking: () => timeline?.renderPicking() };
  const experiments = createExperiments(ctx);
  ctx.render.table = createTable(ctx);
  ctx.render.experiment = experiments.render;

  function renderAll(changedId) {
    ctx.render.table(changedId);
    renderSs(ctx);
    forms.renderSocketSelects();
    diagram.render();
    experiments.render();
  }

  // The panel reads the store; `more`: {command, change} (what the store's apply said).
  const toTimeline = (event, more = {}) => timeline?.handle(event, more);

  function stepsDone() {
    return state.active ? state.progress[state.active]?.done ?? 0 : null;
  }

  // Events: the store takes each first; what the page shows follows -----------------

  function handle(event) {
    switch (event.type) {
      case "ok":
        answered(event);
        break;
      case "error":
        failed(event);
        break;
      case "sandbox.closed":
      case "sandbox.lost":
        // Lost: its process died (a fresh sandbox's hello follows) or is stopping (a
        // close follows, and the reconnect finds a fresh sandbox on another process).
        log("error", event.message);
        break;
      default:
        store.apply(event);
    }
  }

  store.subscribe((event, change) => {
    switch (event.type) {
      case "hello":
        // Connected once the page knows the sandbox: the forms need its devices.
        setStatus("open", "Connected");
        forms.renderDevices();
        experiments.renderChoices();
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
        if (wanted) experiments.choose(wanted);
        wanted = null;
        toTimeline(event, { change });
        break;
      case "socket":
        if (change.fresh) python.acceptedCode(event.socket);
        renderAll(event.socket.id);
        toTimeline(event, { change });
        break;
      case "socket.gone":
        refusals.forget(`row:${event.socket}`);
        renderAll();
        log("info", `${event.socket} is gone: ${event.reason}.`);
        toTimeline(event, { change });
        break;
      case "packet":
        toTimeline(event, { change });
        break;
      case "data": {
        const text = event.eof ? "(end of stream: the other side shut down its sending side)" : `“${event.data}”`;
        const from = event.from ? ` from ${event.from.device} port ${event.from.port}` : "";
        // Kept data re-sent after a reconnect (hello chunks) was logged when it first arrived.
        if (!event.kept) log("data", `${event.socket} received ${text}${from}.`);
        break;
      }
      case "experiment.progress":
        progressed(event, change);
        break;
    }
  });

  function progressed(event, { before, fresh }) {
    experiments.render();
    experiments.renderChoices();
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
    const { command, note: origin } = connection.answer(event.ref);
    if (origin) refusals.clear(origin.key);
    const row = event.socket && typeof event.socket === "object" ? event.socket : null;
    const change = store.apply(event);
    if (row) {
      renderAll(row.id);
      toTimeline({ type: "socket", socket: row }, { change });
    }
    if (event.op === "experiment.start" && event.experiment) store.apply({ ...event, type: "experiment.progress" });
    if (event.op === "experiment.pick" && !event.matched) experiments.render();
    if (command && typeof command.socket === "string" && !row) {
      store.apply({ type: "used", socket: command.socket });
      forms.renderSocketSelects();
    }
    toTimeline(event, { command });
    if (command && command.op !== "capture") {
      log("ok", describe(command, event, state.experiments));
      python.showCode(command, event);
    }
  }

  function failed(event) {
    const { command, note } = connection.answer(event.ref);
    toTimeline(event, { command });
    // An error the kernel reported on a socket by itself (no ref) belongs to its row.
    const origin = note || (event.socket ? { key: `row:${event.socket}`, done: null } : null);
    const term = glossaryFor(event.code);
    const link = term ? `/glossary/#${term}` : null;
    log("error", event.message, link, term);
    // The server reports a step done before it answers: an error the step waited for
    // (ECONNREFUSED, say) has moved it on, and is no failure of the step.
    if (origin) refusals.refuse(origin.key, event.message, link, term, origin.done === stepsDone());
  }

  $("[data-reset]")?.addEventListener("click", () => ctx.send({ op: "reset" }, "reset"), { signal: ctx.signal });

  const clock = setInterval(() => {
    for (const left of $$("[data-expires-at]")) left.textContent = `, ${secondsLeft(Number(left.dataset.expiresAt))} s left`;
    const box = $("[data-time-left]");
    if (!state.deadline || !box) return;
    const left = Math.max(0, Math.min(state.deadline, state.idleDeadline) - Date.now()) / 1000;
    box.textContent = `${Math.floor(left / 60)} min ${String(Math.floor(left % 60)).padStart(2, "0")} s`;
  }, 1000);

  connection.connect();

  return {
    // Show an experiment (see choose); before the first hello, once connected.
    start(id) {
      if (connection.isOpen() && state.experiments.length) experiments.choose(id);
      else wanted = id;
    },
    // Leave: the WebSocket closes (the sandbox keeps its sockets for the grace period
    // and for the session's other tabs), and nothing of this mount runs any more.
    close() {
      listening.abort();
      refusals.remove();
      clearInterval(clock);
      diagram.stop();
      connection.close();
    },
  };
}
