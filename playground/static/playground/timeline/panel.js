// The "Packets" panel (playground/_packets.html) at work: what it keeps, when it asks
// the server for packets, and what it draws. One plain ES module; timeline.js names
// the rules.
//
// What the server said of the sandbox (its devices, its sockets, hello.capture) and
// the step's pick are read from the mount's store (store.js), never copied here: the
// panel keeps only what it drew (its packets, marks and counts) and this page's wish.

import { element, hidden } from "../dom.js";
import { packetParts } from "./items.js";
import { endpoint, plural, tcpdumpLine, wordsFor } from "./words.js";

const STORAGE_KEY = "playground.packets.open";
const MAX_DEFAULT = 200; // packets kept on screen when the server names no history
// What a server that names no capture in its hello gets.
const NO_CAPTURE = { available: false, note: "This server does not capture packets.", on: false };

/**
 * Runs the panel `box`. hooks.store: the mount's store (store.js), which has taken each
 * event before the panel hears it; hooks.request(command): sends a command when
 * connected (false otherwise); hooks.signal: aborted when the playground closes;
 * hooks.pick(n): the learner picked packet n for the experiment's step.
 * Returns {handle(event, {command, change})}: every event of the WebSocket, with what
 * the store's `apply` said changed and, for `ok` and `error`, the command they answer;
 * and renderPicking(): the store's `picking` changed.
 */
export function mountTimeline(box, { store, request, signal, pick = null }) {
  const $ = (selector) => box.querySelector(selector);
  const toggle = $("[data-packets-open]");
  const rowsBox = $("[data-timeline]");
  const scroller = $("[data-timeline-scroll]");
  const dump = $("[data-tcpdump]");
  const tableRows = $("[data-packet-rows]");
  const note = $("[data-capture-note]");
  const news = $("[data-packets-news]");
  const count = $("[data-packets-count]");

  const state = store.state;
  let started = false; // a hello was drawn: nothing is drawn before the first one
  let packets = []; // packet events, oldest first, at most keep()
  let lines = []; // their tcpdump lines
  let conns = new Map(); // connection -> what the panel saw of it (see wordsFor)
  let unseen = 0; // packets that arrived while the panel was closed
  let wished = false; // this page's wish as last sent to the server
  let retired = new Set(); // sockets of before the last reset: their states are not written
  let older = 0; // packets since the start or the reset that came before those shown

  const capture = () => state.capture || NO_CAPTURE;
  const keep = () => capture().history || MAX_DEFAULT;
  // The experiment's step asks the learner to pick a packet.
  const picking = () => Boolean(pick) && state.picking === "packet";
  // The TCP sockets whose states the panel writes: all but those of before the reset.
  const tcpRows = () => [...state.sockets.values()].filter((row) => row.protocol === "tcp" && !retired.has(row.id));

  box.querySelector("[data-packets-older]")?.remove(); // a panel mounted again
  const olderNote = element("p", "muted tl-older");
  olderNote.dataset.packetsOlder = "";
  olderNote.hidden = true;
  scroller.insertBefore(olderNote, rowsBox);

  rowsBox.replaceChildren();
  tableRows.replaceChildren();
  dump.textContent = "";

  try {
    // Opened, never closed, here: an experiment about packets opens it too
    // (views/experiments.js).
    if (localStorage.getItem(STORAGE_KEY) === "open") toggle.open = true;
  } catch {
    // No storage (a private window): the panel starts as the page has it.
  }

  function setNote(kind, text) {
    note.dataset.captureState = kind;
    note.textContent = text;
  }

  // Ask for capture while the panel is open, and say off when it closes.
  function wish() {
    if (!started) return;
    if (!capture().available) {
      const why = capture().note || "Packet capture is not available on this server.";
      setNote("unavailable", `No packets can be shown here. ${why}${/[.!?]$/.test(why) ? "" : "."} Your sockets, their states and everything else in the playground work as before.`);
      return;
    }
    const wanted = toggle.open;
    if (wanted === wished) return;
    if (request({ op: "capture", on: wanted })) {
      wished = wanted;
      if (wanted) setNote("asking", "Asking the server to watch your sandbox's packets…");
    }
  }

  toggle.addEventListener("toggle", () => {
    try {
      localStorage.setItem(STORAGE_KEY, toggle.open ? "open" : "closed");
    } catch {
      // Not remembered; the panel still works.
    }
    if (toggle.open) {
      unseen = 0;
      renderCount();
    }
    wish();
  }, { signal });

  function renderCount() {
    const total = `${plural(packets.length, "packet", "packets")}`;
    count.textContent = unseen ? `(${total}, ${unseen} new)` : packets.length ? `(${total})` : "";
    olderNote.hidden = !older;
    olderNote.textContent = older ? `Showing the last ${total}; ${older} older ${older === 1 ? "one was" : "ones were"} dropped.` : "";
  }

  // The diagram ------------------------------------------------------------------

  // The first device is the left lifeline, the second the right.
  const side = (device) => {
    const index = state.devices.findIndex((d) => d.name === device);
    return index === 1 ? "right" : "left";
  };

  function atBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 24;
  }

  function append(item) {
    const follow = atBottom();
    rowsBox.append(item);
    // Keep the screen to what the server keeps, state marks included.
    while (rowsBox.children.length > keep() * 2) rowsBox.firstElementChild.remove();
    if (follow) scroller.scrollTop = scroller.scrollHeight;
  }

  // A note across the diagram: packets the server did not send (its rate limit).
  function mark(text) {
    const item = element("li", "tl-mark");
    item.append(element("span", "tl-mark-text", text));
    append(item);
  }

  // Sockets' kernel states, written beside their device's lifeline as they change.
  function stateMark(device, text, when = "") {
    const where = side(device);
    let item = rowsBox.lastElementChild;
    if (!item || !item.classList.contains("tl-states") || item.dataset.closedRow === "true") {
      // Each device's states beside its own lifeline, between the two.
      item = element("li", "tl-states");
      item.append(element("span", "tl-side tl-left"), element("span", "tl-side tl-right"));
      append(item);
    }
    const cell = item.querySelector(`.tl-${where}`);
    const entry = element("span", "tl-state");
    entry.dataset.device = device;
    entry.append(hidden(`${device}${when}: `), text);
    cell.append(entry);
  }

  function closeStateRow() {
    const last = rowsBox.lastElementChild;
    if (last && last.classList.contains("tl-states")) last.dataset.closedRow = "true";
  }

  // `before`: the socket's row before the event (the store's word); changes only are written.
  function socketChanged(row, before) {
    if (row.protocol !== "tcp" || retired.has(row.id)) return;
    if (before && before.state === row.state) return;
    stateMark(row.device, `${row.id} ${row.state}`);
  }

  function socketGone(id, before) {
    if (before?.protocol === "tcp" && !retired.has(id)) stateMark(before.device, `${id} gone`);
  }

  const { packetItem, tableRow, pickButton } = packetParts({ side, isPicking: picking, pick, signal });

  function renderPicking() {
    for (const item of rowsBox.querySelectorAll("li.tl-packet")) {
      const button = item.querySelector(".tl-pick");
      if (!picking()) button?.remove();
      else if (!button) {
        const packet = packets.find((p) => String(p.n) === item.dataset.n);
        if (packet) item.append(pickButton(packet));
      }
    }
  }

  function connectionOf(p) {
    const key = [endpoint(p.from), endpoint(p.to)].sort().join(" ");
    if (!conns.has(key)) conns.set(key, {});
    // A new SYN on the same 4-tuple starts a new connection.
    if (p.protocol === "tcp" && p.flags.length === 1 && p.flags[0] === "SYN") conns.set(key, {});
    return conns.get(key);
  }

  function addPacket(p, live) {
    if (p.dropped) mark(`${plural(p.dropped, "packet was", "packets were")} not shown here: more than ${capture().packets_per_second ?? "the limit of"} a second.`);
    closeStateRow();
    const conn = connectionOf(p);
    const words = wordsFor(p, conn);
    packets.push(p);
    lines.push(tcpdumpLine(p, conn));
    append(packetItem(p, words));
    tableRows.append(tableRow(p, words));
    while (packets.length > keep()) {
      const gone = packets.shift();
      older += 1 + (gone.dropped || 0);
      lines.shift();
      tableRows.firstElementChild?.remove();
    }
    $("[data-timeline-empty]").hidden = true;
    if (live) {
      news.textContent = `Packet ${p.n}: ${words}.`;
      if (!toggle.open) unseen += 1;
    }
  }

  function renderDump() {
    dump.textContent = lines.join("\n");
  }

  function renderHeads() {
    for (const head of box.querySelectorAll("[data-lifeline]")) {
      const device = state.devices[Number(head.dataset.lifeline)];
      head.replaceChildren(element("strong", "", device ? device.name : "—"), element("span", "mono", device ? device.ip : ""));
    }
  }

  // What the panel shows: `list` (packet events, oldest first), then the TCP sockets'
  // states as they are now (`rows`: {id, device, state}).
  // `before`: how many packets came before `list`'s first (the server's `older`).
  function show(list, rows, before = 0) {
    older = before;
    packets = [];
    lines = [];
    conns = new Map();
    unseen = 0;
    rowsBox.replaceChildren();
    tableRows.replaceChildren();
    $("[data-timeline-empty]").hidden = false;
    for (const p of list) addPacket(p, false);
    for (const row of rows) stateMark(row.device, `${row.id} ${row.state}`, " now");
    closeStateRow();
    renderDump();
    renderCount();
    scroller.scrollTop = scroller.scrollHeight;
  }

  function hello(event) {
    started = true;
    retired = new Set();
    wished = false; // a new WebSocket: the server knows no wish of this page yet
    renderHeads();
    // The sockets as they are now, beside the kept packets.
    show(event.packets || [], tcpRows(), capture().older || 0);
    if (capture().available) setNote(toggle.open ? "asking" : "off", toggle.open ? "Asking the server to watch your sandbox's packets…" : "Not watching.");
    wish();
  }

  // A granted wish brings the packets kept so far: they replace what was drawn, with
  // any that came as events after the server listed them.
  function caughtUp(list, before) {
    const last = list.length ? list[list.length - 1].n : 0;
    const later = packets.filter((p) => p.n > last);
    show([...list, ...later], tcpRows(), before);
  }

  // The page's Reset was answered: the panel starts again, as the server's record does.
  function reset() {
    for (const row of tcpRows()) retired.add(row.id);
    show([], []);
    news.textContent = "The sandbox was reset: the packets shown start again from here.";
  }

  function answered(event, command) {
    if (command?.op === "reset" && event.type === "ok") reset();
    if (!command || command.op !== "capture") return;
    if (event.type === "error") {
      wished = false;
      setNote("error", `The server did not start watching the packets: ${event.message}`);
      return;
    }
    if (command.on && Array.isArray(event.packets)) caughtUp(event.packets, event.older || 0);
    if (command.on) setNote("on", "Watching: each packet between your two devices appears below as it crosses the network.");
    else setNote("off", event.capture ? "Not watching from this page (another tab or the experiment still watches)." : "Not watching.");
  }

  return {
    renderPicking,
    handle(event, { command = null, change = {} } = {}) {
      switch (event.type) {
        case "hello":
          hello(event);
          break;
        case "packet":
          if (!started) return;
          addPacket(event, true);
          renderDump();
          renderCount();
          break;
        case "socket":
          if (started) socketChanged(event.socket, change.before);
          break;
        case "socket.gone":
          if (started) socketGone(event.socket, change.before);
          break;
        case "ok":
        case "error":
          answered(event, command);
          break;
      }
    },
  };
}
