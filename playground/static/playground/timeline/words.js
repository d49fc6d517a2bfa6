// The packets panel's words for one packet, as pure functions of the packet and what
// was seen of its connection: as `tcpdump -n` prints it, and in plain words.
//
// Rule: the words for a packet are exactly true of what Linux TCP does; where the
// panel cannot tell (a connection whose start it did not see), it says less.

import { FLAGS } from "../vocabulary.js";

// The flags in the order tcpdump writes them, that of their bits (print-tcp.c), with
// its letters (the server's, vocabulary.js; ACK is ".").
const TCPDUMP_FLAGS = Object.entries(FLAGS).sort(([, a], [, b]) => a.bit - b.bit).map(([name, flag]) => [name, flag.letter]);

export const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
// Sequence numbers wrap at 2^32.
const plus = (a, b) => (a + b) >>> 0;
export const endpoint = (end) => `${end.ip}:${end.port}`;

// Relative numbers (as Wireshark counts them) when the server could tell them.
export function numbers(p) {
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
export function clock(iso) {
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

export const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1);
