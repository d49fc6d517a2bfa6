// The live socket table: one row a socket, with its buttons, drawn from the store.
// One plain ES module.
//
// Rules:
// - A row shows the socket, its 5-tuple and its kernel state always; on the page its
//   queues and bytes fold into a disclosure under its name (open as long as its socket
//   lives), on a lesson's panel (`compact`) the 5-tuple has a line of its own.
// - A step that asks for a pick puts a "Pick this one" button on each row; the server
//   judges the pick.
// - A row's failed action is said in its actions cell, until it next succeeds.
// - Focus in a row that is redrawn or goes never falls to the page's body (keepFocus).
// - Each change of a socket is said aloud (the table's live region).

import { byId, cell, secondsLeft, svg } from "../dom.js";
import { refusalWords } from "./refusals.js";

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

/** ctx: the mount (root, $, options, store, send, refusals). Returns renderTable(changedId). */
export function createTable(ctx) {
  const { $, options, send } = ctx;
  const state = ctx.store.state;

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
    const said = ctx.refusals.said(`row:${row.id}`);
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

  return renderTable;
}
