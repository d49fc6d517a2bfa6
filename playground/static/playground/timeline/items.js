// The packets panel's pieces for one packet: its arrow (a button) with its details,
// its "Pick this one" button and its table row. One plain ES module.
//
// Rules:
// - Every packet is a button: keyboard reachable, its accessible name says what the
//   arrow shows (number, direction, flags, numbers, meaning). Colour never says
//   anything the words do not. While the experiment's step asks for a packet, each
//   packet also has a "Pick this one" button (the server judges the pick).
// - Opening a packet while the experiment's step asks for a packet is the learner's
//   pick of it, as its "Pick this one" button is.
// - Text from the server (payloads, notes, addresses) is only ever set as text.

import { element, hidden } from "../dom.js";
import { FLAGS } from "../vocabulary.js";
import { capitalised, clock, endpoint, numbers, plural } from "./words.js";

/**
 * side(device): "left" or "right", its lifeline; isPicking(): whether the step asks
 * for a packet now; pick(n), signal: as mountTimeline's hooks.
 * Returns {packetItem(p, words), pickButton(p), tableRow(p, words)}.
 */
export function packetParts({ side, isPicking, pick, signal }) {
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
      add("Flags", p.flags.length ? p.flags.map((f) => (FLAGS[f] ? `${f} (${FLAGS[f].meaning})` : f)).join("; ") : "none");
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
      if (open && isPicking()) pick?.(p.n);
    }, { signal });
    item.append(button, detail);
    if (isPicking()) item.append(pickButton(p));
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

  return { packetItem, pickButton, tableRow };
}
