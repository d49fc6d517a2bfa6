// The inputs of a socket or packet match: one per key of the schema's table
// (schema.socketFields, schema.packetFields), by the input the table gives it.
//
// Rules:
// - An empty input drops its key from the match; an optional match left empty is
//   dropped from its container (a connection's end).
// - A key with no input of its own is typed as JSON; what is not JSON is kept as typed,
//   so the check's rule says what it wants.

import { boxes, el, field, number, select } from "./dom.js";

const YES_NO = [
  { key: "true", label: "yes" },
  { key: "false", label: "no" },
];

// container[key] is the match; `changed()` is told of every edit.
export function matchFields(changed, container, key, table, path, optional = false) {
  const box = el("div", { class: "check-match" });
  const match = () => container[key] || (container[key] = {});
  const set = (name, value) => {
    if (value === undefined) delete match()[name];
    else match()[name] = value;
    if (optional && !Object.keys(match()).length) delete container[key];
    changed();
  };
  const current = container[key] || {};
  for (const spec of table) {
    const at = `${path}.${spec.key}`;
    const value = current[spec.key];
    if (spec.input === "choice") {
      box.append(field(spec.label, select(at, spec.choices, value, (v) => set(spec.key, v || undefined))));
    } else if (spec.input === "port" || spec.input === "count") {
      box.append(field(spec.label, number(at, value, (v) => set(spec.key, v))));
    } else if (spec.input === "flag") {
      const shown = value === undefined ? "" : String(value);
      box.append(field(spec.label, select(at, YES_NO, shown, (v) => set(spec.key, v === "" ? undefined : v === "true"))));
    } else if (spec.input === "none") {
      const input = el("input", { type: "checkbox", "data-path": at, checked: value === null });
      input.addEventListener("change", () => set(spec.key, input.checked ? null : undefined));
      box.append(el("div", { class: "check-field" }, el("label", {}, input, ` ${spec.label}`)));
    } else if (spec.input === "states" || spec.input === "flags") {
      const chosen = value === undefined ? [] : typeof value === "string" ? [value] : value;
      box.append(
        boxes(at, spec.label, spec.choices, chosen, (names) => {
          if (!names.length) set(spec.key, undefined);
          else if (spec.input === "states" && names.length === 1) set(spec.key, names[0]);
          else set(spec.key, names);
        }),
      );
    } else {
      box.append(field(`${spec.label} (JSON)`, jsonInput(at, value, (v) => set(spec.key, v))));
    }
  }
  return box;
}

function jsonInput(path, value, onChange) {
  const input = el("input", { type: "text", "data-path": path, value: value === undefined ? "" : JSON.stringify(value) });
  input.addEventListener("change", () => {
    let parsed = input.value.trim();
    if (parsed === "") return onChange(undefined);
    try {
      parsed = JSON.parse(parsed);
    } catch {
      // kept as typed: the check's rule says what it wants
    }
    onChange(parsed);
  });
  return input;
}
