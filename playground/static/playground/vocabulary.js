// The playground's words that the server defines once (playground/vocabulary.py, from
// its registries): read from the page's `playground-vocabulary` json_script, never
// written again here.
//
// Rules:
// - An op's form is read by its `form` (the inputs that fill the command's fields:
//   forms.js) and its answer is said by its `words` (views/log.js); no module has a
//   switch over the ops.
// - Every error code the server can send names the glossary entry that explains it
//   (`errors`, code -> slug); any other operating-system error arrives under its errno
//   name (EADDRNOTAVAIL, …) and links to the errno entry.
// - The kernel's state names (as the table and the protocol give them) are printed in
//   the ss view as ss(8) prints them (`states`).
// - A TCP flag's meaning (the packets panel's details) and its tcpdump letter come
//   from `flags`.
// - The glossary's words for its entries ("address already in use (EADDRINUSE)") come
//   from the glossary itself (the page's data-glossary-words), so a link never says a
//   bare error code.

const script = document.getElementById("playground-vocabulary");
const words = script ? JSON.parse(script.textContent) : {};

// op -> {form: [{field, name, read}], words: [{text, when}]} (playground.wire.ui).
export const OPS = words.ops || {};
// name -> {meaning, letter, bit}, in the order packet events list them.
export const FLAGS = words.flags || {};
const ERRORS = words.errors || {};
const SS_NAMES = words.states || {};

// The glossary's words for its entries (slug -> "address already in use
// (EADDRINUSE)"), rendered into the page from the glossary itself.
export const GLOSSARY_WORDS = JSON.parse(document.querySelector("[data-glossary-words]")?.dataset.glossaryWords || "{}");

// Any other operating-system error arrives under its errno name (EADDRNOTAVAIL, …).
const ERRNO_NAME = /^E[A-Z0-9]+$/;

export function glossaryFor(code) {
  if (ERRORS[code]) return ERRORS[code];
  return ERRNO_NAME.test(code || "") ? "errno" : null;
}

export function ssState(name) {
  return SS_NAMES[name] || name.replaceAll("_", "-");
}
