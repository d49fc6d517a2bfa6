// The event log ("What happened"), newest first, and the sentence it keeps for each
// answered command. One plain ES module.
//
// Rules:
// - The log keeps the history (the last 100 entries); a failed action is also said
//   where the eye is (views/refusals.js).
// - An error's link to the glossary says the glossary's own words for the entry
//   ("Glossary: address already in use (EADDRINUSE)"), never a bare error code.
// - What an answered command did is said in its op's words, from the server
//   (vocabulary.js), never in words of this module's.

import { GLOSSARY_WORDS, OPS } from "../vocabulary.js";

// "Glossary: address already in use (EADDRINUSE)": the glossary's own words for the
// entry (the page's pg-glossary-words), never a bare error code.
export function glossaryLink(link, term) {
  const a = document.createElement("a");
  a.href = link;
  a.textContent = GLOSSARY_WORDS[term] ? `Glossary: ${GLOSSARY_WORDS[term]}` : "What this error means";
  return a;
}

export function createLog(ctx) {
  return function log(kind, text, link = null, term = null) {
    const list = ctx.$("[data-log]");
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
  };
}

// A value of the sentence's context by its path ("socket.local.ip").
function valueAt(context, path) {
  return path.split(".").reduce((value, key) => (value == null ? undefined : value[key]), context);
}

// Whether a phrase is said: its `when` (playground.wire.ui.Phrase) holds.
function holds(when, context) {
  if (!when) return true;
  const value = valueAt(context, when.path);
  if ("present" in when) return (value !== undefined) === when.present;
  if ("truthy" in when) return Boolean(value) === when.truthy;
  if ("is" in when) return value === when.is;
  return value !== when.is_not;
}

// What an answered command did, in a sentence for the log: its op's words (the
// server's, vocabulary.js), each {a|b} the first of them the context has.
export function describe(command, event, experiments) {
  const socket = event.socket && typeof event.socket === "object" ? event.socket : undefined;
  const experiment = experiments.find((e) => e.id === event.experiment);
  const context = { command, event, socket, experiment };
  const phrases = OPS[command.op]?.words;
  if (!phrases?.length) return `${command.op} done.`;
  return phrases.filter((phrase) => holds(phrase.when, context)).map((phrase) => phrase.text.replace(/\{([\w.|]+)\}/g, (_, paths) => {
    const found = paths.split("|").map((path) => valueAt(context, path)).find((value) => value !== undefined);
    return String(found);
  })).join("");
}
