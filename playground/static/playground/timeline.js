// The "Packets" panel (playground/_packets.html): the sandbox's own packets as a
// sequence diagram, as `tcpdump -n` prints them, and as a table. One plain ES module,
// no build step. playground.js loads it from the panel's `data-module` (the file's
// hashed static URL: the static files storage does not rewrite a module's imports)
// and hands it the events it needs.
//
// Rules:
// - The server keeps each sandbox's packets from its start (bounded), but sends them
//   as `packet` events only while the sandbox is watched: this page asks (`capture`
//   on) only while the panel is open, says off when it closes, and asks again after
//   every (re)connect, since a closed WebSocket takes its wish with it. Whether the
//   panel is open is remembered (localStorage). Packets that arrive while it is
//   closed (another tab, or an experiment, wants them) are still drawn, and counted
//   in its summary.
// - The server is the source of truth: `hello.packets` and the packets that answer a
//   granted `capture` (the kept history) replace what the panel showed, with the
//   sockets' states as they are now, so a panel opened late and a reload show the
//   same packets, a connection's handshake included.
// - Packets older than the kept ones are not hidden silently: the server says how many
//   came before the first packet it sends (`hello.capture.older`, the `capture`
//   answer's `older`), and each packet that leaves the screen adds itself and the
//   rate-limited ones before it (its `dropped`), as the server's own count does.
// - Reset starts the panel again: what it showed before the page's `reset` was
//   answered goes, and the sockets of before are not written any more.
// - Opening a packet while the experiment's step asks for a packet is the learner's
//   pick of it, as its "Pick this one" button is.
// - Text from the server (payloads, notes, addresses) is only ever set as text,
//   never parsed as markup.
// - Every packet is a button: keyboard reachable, its accessible name says what the
//   arrow shows (number, direction, flags, numbers, meaning). Colour never says
//   anything the words do not. While the experiment's step asks for a packet, each
//   packet also has a "Pick this one" button (the server judges the pick).
// - The words for a packet are exactly true of what Linux TCP does; where the panel
//   cannot tell (a connection whose start it did not see), it says less.
// Protocol: docs/playground-protocol.md (the `packet` event, `hello.capture`).

const STORAGE_KEY = "playground.packets.open";
// The order tcpdump writes the flags in (print-tcp.c), and its letters; ACK is ".".
const TCPDUMP_FLAGS = [["FIN", "F"], ["SYN", "S"], ["RST", "R"], ["PSH", "P"], ["ACK", "."], ["URG", "U"], ["ECE", "E"], ["CWR", "W"]];
const FLAG_NAMES = {
  SYN: "synchronise: open a connection",
  ACK: "acknowledge",
  FIN: "finish: nothing more to send",
  RST: "reset: abort the connection",
  PSH: "push: the sender asks for the data to be passed on without delay",
  URG: "urgent",
};
const MAX_DEFAULT = 200; // packets kept on screen when the server names no history

function element(tag, className = "", text = undefined) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function hidden(text) {
  return element("span", "visually-hidden", text);
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
// Sequence numbers wrap at 2^32.
const plus = (a, b) => (a + b) >>> 0;
const endpoint = (end) => `${end.ip}:${end.port}`;

// Relative numbers (as Wireshark counts them) when the server could tell them.
function numbers(p) {
  const flags = new Set(p.flags || []);
  return {
    seq: p.seq_relative ?? p.seq,
    ack: flags.has("ACK") ? p.ack_relative ?? p.ack : null,
  };
}

// The payload as one line of text, for labels: the first bytes the server sent, with
// "…" when the packet carried more.
function preview(p) {
  const text = (p.payload || "").replace(/\r?\n/g, "⏎").replace(/\s/g, " ");
  return p.length > new TextEncoder().encode(p.payload || "").length ? `${text}…` : text;
}

// `18:00:00.123456`: the packet's time of day, on this computer's clock as tcpdump
// prints it, to the microsecond the server gave.
function clock(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const micro = (/\.(\d{1,6})/.exec(iso)?.[1] || "").padEnd(6, "0");
  const two = (n) => String(n).padStart(2, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${micro}`;
}

/**
 * One packet as `tcpdump -n` prints it (without the TCP options). `conn` is what was
 * seen of its connection (updated here), as tcpdump keeps it: it prints the numbers of
 * the connection's first packet with ACK (normally the SYN-ACK) in full, and counts
 * from the connection's start after it.
 */
export function tcpdumpLine(p, conn = {}) {
  const src = `${p.from.ip}.${p.from.port}`;
  const dst = `${p.to.ip}.${p.to.port}`;
  const start = `${clock(p.time)} IP ${src} > ${dst}:`;
  if (p.protocol !== "tcp") return `${start} UDP, length ${p.length}`;
  const flags = new Set(p.flags);
  const letters = TCPDUMP_FLAGS.filter(([name]) => flags.has(name)).map(([, letter]) => letter).join("") || "none";
  const relative = flags.has("ACK") && !flags.has("SYN") && conn.ackSeen;
  if (flags.has("ACK")) conn.ackSeen = true;
  const seq = relative ? p.seq_relative ?? p.seq : p.seq;
  const ack = relative ? p.ack_relative ?? p.ack : p.ack;
  const parts = [`Flags [${letters}]`];
  if (p.length > 0) parts.push(`seq ${seq}:${relative && p.seq_relative != null ? seq + p.length : plus(seq, p.length)}`);
  else if (flags.has("SYN") || flags.has("FIN") || flags.has("RST")) parts.push(`seq ${seq}`);
  if (flags.has("ACK")) parts.push(`ack ${ack}`);
  parts.push(`win ${p.window}`, `length ${p.length}`);
  return `${start} ${parts.join(", ")}`;
}

/**
 * What a packet does, in plain words. `conn` is what the panel saw of its connection
 * so far (it is updated here): the last SYN-ACK of each direction and each side's FIN.
 */
export function wordsFor(p, conn) {
  const who = `the ${p.from.device}`;
  const other = `the ${p.to.device}`;
  if (p.protocol !== "tcp") {
    const text = p.length > 0 ? `: “${preview(p)}”` : "";
    return `${who} sends a datagram of ${plural(p.length, "byte", "bytes")} to ${other}${text}; no connection, and no acknowledgement comes back (UDP)`;
  }
  const flags = new Set(p.flags);
  const from = endpoint(p.from);
  const only = (...names) => p.flags.length === names.length && names.every((n) => flags.has(n));
  const earlier = conn;
  let words;
  if (flags.has("RST")) {
    words = earlier.synFrom && earlier.synFrom !== from && !earlier.synAck
      ? `${who} refuses the connection (RST): nothing listens at that port`
      : `${who} aborts the connection (RST)`;
  } else if (only("SYN")) {
    earlier.synFrom = from;
    words = `${who} asks to open a connection (SYN)`;
  } else if (flags.has("SYN") && flags.has("ACK")) {
    earlier.synAck = { from, next: plus(p.seq, 1) };
    words = `${who} agrees to open the connection (SYN-ACK)`;
  } else {
    const said = [];
    if (p.length > 0) said.push(`sends ${plural(p.length, "byte", "bytes")} of data: “${preview(p)}”`);
    // The first packet whose ACK covers the other side's FIN acknowledges it: a lone
    // ACK, or the FIN of the side that closes second when the kernel held its ACK back.
    const finOfOther = flags.has("ACK") && Object.entries(earlier.fin || {}).find(([end, next]) => end !== from && next === p.ack);
    if (finOfOther && !(earlier.finAcked || {})[finOfOther[0]]) {
      (earlier.finAcked = earlier.finAcked || {})[finOfOther[0]] = true;
      said.push(`acknowledges ${other}'s FIN`);
    }
    if (flags.has("FIN")) {
      (earlier.fin = earlier.fin || {})[from] = plus(plus(p.seq, p.length), 1);
      said.push("has nothing more to send (FIN)");
    }
    if (!said.length && only("ACK")) {
      if (earlier.synAck && earlier.synAck.from !== from && earlier.synAck.next === p.ack && !earlier.confirmed) {
        earlier.confirmed = true;
        said.push("confirms: the connection is open (ACK)");
      } else {
        said.push(`acknowledges what it received: the next sequence number it expects is ${numbers(p).ack}`);
      }
    }
    if (!said.length) said.push(`sends flags ${p.flags.join(", ") || "none"}`);
    words = `${who} ${said.join(" and ")}`;
  }
  if (p.window === 0 && !flags.has("RST")) words += `; its receive window is 0: it can take no more data for now`;
  return words;
}

const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * Runs the panel `box`. hooks.request(command): sends a command when connected
 * (false otherwise); hooks.signal: aborted when the playground closes; hooks.pick(n):
 * the learner picked packet n for the experiment's step.
 * Returns {handle(event, command)}: every event of the WebSocket, and for `ok` and
 * `error` the command they answer; and setPicking(on): whether packets can be picked.
 */
export function mountTimeline(box, { request, signal, pick = null }) {
  const $ = (selector) => box.querySelector(selector);
  const toggle = $("[data-packets-open]");
  const rowsBox = $("[data-timeline]");
  const scroller = $("[data-timeline-scroll]");
  const dump = $("[data-tcpdump]");
  const tableRows = $("[data-packet-rows]");
  const note = $("[data-capture-note]");
  const news = $("[data-packets-news]");
  const count = $("[data-packets-count]");

  let capture = null; // hello.capture, or null before the first hello
  let devices = []; // hello.devices: the first is the left lifeline, the second the right
  let packets = []; // packet events, oldest first, at most `keep`
  let lines = []; // their tcpdump lines
  let keep = MAX_DEFAULT;
  let conns = new Map(); // connection -> what the panel saw of it (see wordsFor)
  let states = new Map(); // socket id -> {device, state}, to write changes only
  let unseen = 0; // packets that arrived while the panel was closed
  let wished = false; // this page's wish as last sent to the server
  let retired = new Set(); // sockets of before the last reset: their states are not written
  let picking = false; // the experiment's step asks the learner to pick a packet
  let older = 0; // packets since the start or the reset that came before those shown

  box.querySelector("[data-packets-older]")?.remove(); // a panel mounted again
  const olderNote = element("p", "muted tl-older");
  olderNote.dataset.packetsOlder = "";
  olderNote.hidden = true;
  scroller.insertBefore(olderNote, rowsBox);

  rowsBox.replaceChildren();
  tableRows.replaceChildren();
  dump.textContent = "";

  try {
    // Opened, never closed, here: an experiment about packets may have opened it
    // (playground.js) before this module came.
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
    if (!capture) return;
    if (!capture.available) {
      const why = capture.note || "Packet capture is not available on this server.";
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

  const side = (device) => {
    const index = devices.findIndex((d) => d.name === device);
    return index === 1 ? "right" : "left";
  };

  function atBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 24;
  }

  function append(item) {
    const follow = atBottom();
    rowsBox.append(item);
    // Keep the screen to what the server keeps, state marks included.
    while (rowsBox.children.length > keep * 2) rowsBox.firstElementChild.remove();
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

  function socketChanged(row) {
    if (row.protocol !== "tcp" || retired.has(row.id)) return;
    const before = states.get(row.id);
    states.set(row.id, { device: row.device, state: row.state });
    if (before && before.state === row.state) return;
    stateMark(row.device, `${row.id} ${row.state}`);
  }

  function socketGone(id) {
    const before = states.get(id);
    states.delete(id);
    if (before) stateMark(before.device, `${id} gone`);
  }

  function detailFor(p, words) {
    const box = element("div", "tl-detail");
    box.id = `pg-packet-${p.n}`;
    box.hidden = true;
    const list = element("dl");
    const { seq, ack } = numbers(p);
    const add = (term, value, className = "") => {
      list.append(element("dt", "", term), element("dd", className, value));
    };
    add("Packet", `${p.n}`);
    add("Time", p.time, "mono");
    add("Protocol", p.protocol.toUpperCase());
    add("From", `${p.from.device}, ${p.from.ip} port ${p.from.port}`, "mono");
    add("To", `${p.to.device}, ${p.to.ip} port ${p.to.port}`, "mono");
    if (p.protocol === "tcp") {
      add("Flags", p.flags.length ? p.flags.map((f) => (FLAG_NAMES[f] ? `${f} (${FLAG_NAMES[f]})` : f)).join("; ") : "none");
      add("Sequence number", p.seq_relative != null ? `${seq} relative (${p.seq} in full)` : `${p.seq} in full (no relative number: capture began after this connection's SYN)`, "mono");
      add("Acknowledgement number", ack === null ? `none: no ACK flag (the field holds ${p.ack})` : p.ack_relative != null ? `${ack} relative (${p.ack} in full)` : `${p.ack} in full`, "mono");
      add("Window", `${p.window}`, "mono");
    }
    add("Payload length", plural(p.length, "byte", "bytes"), "mono");
    if (p.length > 0) {
      const dd = element("dd");
      dd.append(element("pre", "tl-payload", p.payload || ""));
      list.append(element("dt", "", "Payload (first bytes, as text)"), dd);
    }
    add("Sockets", (p.sockets || []).join(", ") || "none of this sandbox's", "mono");
    if (p.dropped) add("Not shown before it", plural(p.dropped, "packet", "packets"));
    add("In plain words", `${capitalised(words)}.`);
    box.append(list);
    return box;
  }

  function arrowLabel(p) {
    const { seq, ack } = numbers(p);
    if (p.protocol !== "tcp") return ["UDP", `len ${p.length}`];
    const parts = [`seq ${seq}`];
    if (ack !== null) parts.push(`ack ${ack}`);
    parts.push(`len ${p.length}`);
    return [p.flags.join(", ") || "no flags", parts.join(" · ")];
  }

  function packetItem(p, words) {
    const from = side(p.from.device);
    const to = side(p.to.device);
    const item = element("li", `tl-packet tl-${p.protocol}`);
    Object.assign(item.dataset, {
      n: p.n,
      from: p.from.device,
      to: p.to.device,
      flags: (p.flags || []).join(" "),
      length: p.length,
    });
    for (const flag of p.flags || []) item.classList.add(`tl-flag-${flag.toLowerCase()}`);
    if (p.length > 0) item.classList.add("tl-data");
    const button = element("button", `tl-arrow tl-${from === to ? `self-${from}` : `to-${to}`}`);
    button.type = "button";
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", `pg-packet-${p.n}`);
    const [flags, figures] = arrowLabel(p);
    const numbersLine = element("span", "tl-figures");
    const arrow = element("span", "", " → ");
    arrow.setAttribute("aria-hidden", "true");
    numbersLine.append(hidden("port "), String(p.from.port), arrow, hidden(" to port "), `${p.to.port} · ${figures}`);
    button.append(
      hidden(`Packet ${p.n}, ${p.from.device} to ${p.to.device}: `),
      element("span", "tl-flags", flags),
      hidden(", "),
      numbersLine,
      element("span", "tl-line"),
      hidden(". "),
      element("span", "tl-words", `${capitalised(words)}.`),
    );
    const detail = detailFor(p, words);
    button.addEventListener("click", () => {
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      detail.hidden = !open;
      item.classList.toggle("is-open", open);
      if (open && picking) pick?.(p.n);
    }, { signal });
    item.append(button, detail);
    if (picking) item.append(pickButton(p));
    return item;
  }

  function pickButton(p) {
    const b = element("button", "button button-small tl-pick", "Pick this one");
    b.type = "button";
    b.dataset.pick = String(p.n);
    const flags = p.protocol === "tcp" ? `, ${p.flags.join(" ") || "no flags"}` : "";
    b.setAttribute("aria-label", `Pick packet ${p.n}, ${p.from.device} to ${p.to.device}${flags}, for this step`);
    b.addEventListener("click", () => pick?.(p.n), { signal });
    return b;
  }

  function setPicking(on) {
    picking = Boolean(on && pick);
    for (const item of rowsBox.querySelectorAll("li.tl-packet")) {
      const button = item.querySelector(".tl-pick");
      if (!picking) button?.remove();
      else if (!button) {
        const packet = packets.find((p) => String(p.n) === item.dataset.n);
        if (packet) item.append(pickButton(packet));
      }
    }
  }

  function tableRow(p, words) {
    const tr = element("tr");
    tr.dataset.n = p.n;
    const { seq, ack } = numbers(p);
    const tcp = p.protocol === "tcp";
    const cells = [
      [String(p.n), "mono"],
      [clock(p.time), "mono"],
      [`${p.from.device} ${endpoint(p.from)}`, "mono"],
      [`${p.to.device} ${endpoint(p.to)}`, "mono"],
      [tcp ? p.flags.join(", ") || "none" : "UDP", ""],
      [tcp ? String(seq) : "—", "mono"],
      [tcp && ack !== null ? String(ack) : "—", "mono"],
      [tcp ? String(p.window) : "—", "mono"],
      [String(p.length), "mono"],
      [`${capitalised(words)}.`, "tl-meaning"],
    ];
    for (const [text, className] of cells) tr.append(element("td", className, text));
    return tr;
  }

  function connectionOf(p) {
    const key = [endpoint(p.from), endpoint(p.to)].sort().join(" ");
    if (!conns.has(key)) conns.set(key, {});
    // A new SYN on the same 4-tuple starts a new connection.
    if (p.protocol === "tcp" && p.flags.length === 1 && p.flags[0] === "SYN") conns.set(key, {});
    return conns.get(key);
  }

  function addPacket(p, live) {
    if (p.dropped) mark(`${plural(p.dropped, "packet was", "packets were")} not shown here: more than ${capture?.packets_per_second ?? "the limit of"} a second.`);
    closeStateRow();
    const conn = connectionOf(p);
    const words = wordsFor(p, conn);
    packets.push(p);
    lines.push(tcpdumpLine(p, conn));
    append(packetItem(p, words));
    tableRows.append(tableRow(p, words));
    while (packets.length > keep) {
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
      const device = devices[Number(head.dataset.lifeline)];
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
    devices = event.devices || [];
    capture = event.capture || { available: false, note: "This server does not capture packets.", on: false };
    keep = capture.history || MAX_DEFAULT;
    states = new Map();
    retired = new Set();
    wished = false; // a new WebSocket: the server knows no wish of this page yet
    renderHeads();
    // The sockets as they are now, beside the kept packets.
    const rows = (event.sockets || []).filter((r) => r.protocol === "tcp");
    for (const row of rows) states.set(row.id, { device: row.device, state: row.state });
    show(event.packets || [], rows, capture.older || 0);
    if (capture.available) setNote(toggle.open ? "asking" : "off", toggle.open ? "Asking the server to watch your sandbox's packets…" : "Not watching.");
    wish();
  }

  // A granted wish brings the packets kept so far: they replace what was drawn, with
  // any that came as events after the server listed them.
  function caughtUp(list, before) {
    const last = list.length ? list[list.length - 1].n : 0;
    const later = packets.filter((p) => p.n > last);
    show([...list, ...later], [...states].map(([id, row]) => ({ id, ...row })), before);
  }

  // The page's Reset was answered: the panel starts again, as the server's record does.
  function reset() {
    for (const id of states.keys()) retired.add(id);
    states = new Map();
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
    setPicking,
    handle(event, command) {
      switch (event.type) {
        case "hello":
          hello(event);
          break;
        case "packet":
          if (!capture) return;
          addPacket(event, true);
          renderDump();
          renderCount();
          break;
        case "socket":
          if (capture) socketChanged(event.socket);
          break;
        case "socket.gone":
          if (capture) socketGone(event.socket);
          break;
        case "ok":
        case "error":
          answered(event, command);
          break;
      }
    },
  };
}
