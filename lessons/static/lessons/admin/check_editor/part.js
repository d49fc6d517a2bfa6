// One check (or one part of an all/any, or a `while`) as fields: its kind, then the
// fields of that kind.
//
// Rules:
// - Choosing another kind replaces the check where it stands with a fresh one of that
//   kind (language.js's fresh); a `while` offers only the state kinds (and all/any).
// - Edits of a value call `changed()`; structural edits (a kind, a part added or
//   removed, a `while` turned on) call `redraw(path)`, the path of the control to focus
//   once the fields are drawn again.

import { el, field, number, select } from "./dom.js";
import { matchFields } from "./match-fields.js";

// `ctx` is {lang, changed, redraw}; `put(newCheck)` replaces `current` where it stands.
export function part(ctx, current, put, path, onlyState = false) {
  const { schema, tables, kindOf, fresh } = ctx.lang;
  const kind = kindOf(current);
  const box = el("fieldset", { class: "check-part" });
  const kinds = schema.kinds.filter((k) => !onlyState || schema.stateKinds.includes(k.key) || ["all", "any"].includes(k.key));
  const kindSelect = select(`${path}.kind`, kinds, kind, (value) => {
    put(fresh(value));
    ctx.redraw(`${path}.kind`);
  }, true);
  box.append(field("The check", kindSelect, true));
  const value = current[kind];
  const at = `${path}.${kind}`;
  if (["socket", "no_socket", "sockets"].includes(kind)) {
    box.append(matchFields(ctx.changed, current, kind, tables.socket, at));
    if (kind === "sockets") box.append(severalFields(ctx, current, path));
  } else if (kind === "packet") {
    box.append(matchFields(ctx.changed, current, kind, tables.packet, at));
  } else if (kind === "connection") {
    for (const end of ["client", "accepted"]) {
      const endBox = el("fieldset", { class: "check-end" }, el("legend", { text: end === "client" ? "The client end" : "The accepted end" }));
      endBox.append(matchFields(ctx.changed, value, end, tables.socket, `${at}.${end}`, true));
      box.append(endBox);
    }
  } else if (kind === "picked") {
    const what = Object.keys(value)[0];
    box.append(
      field("What the learner picks", select(`${at}.what`, schema.pickable, what, (v) => {
        current.picked = { [v]: {} };
        ctx.redraw(`${at}.what`);
      }, true)),
      matchFields(ctx.changed, value, what, tables[what], `${at}.${what}`),
    );
  } else if (kind === "error") {
    box.append(...errorFields(ctx, current, path));
  } else if (kind === "ok") {
    box.append(field(schema.labels.op, select(at, schema.ops, value, (v) => {
      current.ok = v;
      ctx.changed();
    }, true)));
  } else {
    box.append(...partsFields(ctx, value, at, onlyState));
  }
  return box;
}

// A `sockets` check's count and what makes its sockets different.
function severalFields(ctx, current, path) {
  const { schema } = ctx.lang;
  return el(
    "div",
    { class: "check-match" },
    field(schema.labels.at_least, number(`${path}.at_least`, current.at_least, (v) => {
      current.at_least = v;
      ctx.changed();
    }, true)),
    field(schema.labels.distinct, select(`${path}.distinct`, schema.distinct, current.distinct, (v) => {
      if (v) current.distinct = v;
      else delete current.distinct;
      ctx.changed();
    })),
  );
}

// An `error` check: its code, the op it answered, and what held while it did.
function errorFields(ctx, current, path) {
  const { schema, fresh } = ctx.lang;
  const at = `${path}.error`;
  const code = el("input", { type: "text", "data-path": at, value: current.error, required: true, placeholder: "ECONNREFUSED", size: 16 });
  code.addEventListener("change", () => {
    current.error = code.value.trim();
    ctx.changed();
  });
  const whileBox = el("div", { class: "check-while" });
  const toggle = el("input", { type: "checkbox", "data-path": `${path}.while.on`, checked: "while" in current });
  toggle.addEventListener("change", () => {
    if (toggle.checked) current.while = fresh("socket");
    else delete current.while;
    ctx.redraw(`${path}.while.on`);
  });
  whileBox.append(el("label", {}, toggle, ` ${schema.labels.while}…`));
  if ("while" in current) {
    whileBox.append(part(ctx, current.while, (next) => { current.while = next; }, `${path}.while`, true));
  }
  const op = select(`${path}.op`, schema.ops, current.op, (v) => {
    if (v) current.op = v;
    else delete current.op;
    ctx.changed();
  });
  return [el("div", { class: "check-match" }, field("Error code", code), field(schema.labels.op, op)), whileBox];
}

// The parts of an all/any: each with its Remove button, then "Add a condition".
function partsFields(ctx, value, at, onlyState) {
  const list = el("ol", { class: "check-parts" });
  value.forEach((sub, n) => {
    const remove = el("button", { type: "button", class: "button", text: `Remove condition ${n + 1}` });
    remove.addEventListener("click", () => {
      value.splice(n, 1);
      ctx.redraw(`${at}.add`);
    });
    list.append(el("li", {}, part(ctx, sub, (next) => { value[n] = next; }, `${at}.${n}`, onlyState), remove));
  });
  const add = el("button", { type: "button", class: "button", "data-path": `${at}.add`, text: "Add a condition" });
  add.addEventListener("click", () => {
    value.push(ctx.lang.fresh("socket"));
    ctx.redraw(`${at}.${value.length - 1}.kind`);
  });
  return [list, add];
}
