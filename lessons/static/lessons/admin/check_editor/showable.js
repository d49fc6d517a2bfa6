// Whether the fields can show a check without losing anything: when they cannot, the
// editor leaves it as JSON (editor.js's load).
//
// Rules:
// - A key the fields have no input for is typed as JSON, so it is showable; a value an
//   input cannot hold (a port that is not a whole number, a state not in the choices)
//   is not.
// - Only the kinds, modifiers, keys and choices of the schema (language.js) are
//   showable; a `while` holds state kinds only.

const isInt = (v) => Number.isInteger(v);
const isObject = (v) => Boolean(v) && typeof v === "object" && !Array.isArray(v);

function showable(field, value) {
  switch (field.input) {
    case "choice":
      return typeof value === "string" && field.choices.includes(value);
    case "port":
    case "count":
      return isInt(value);
    case "flag":
      return typeof value === "boolean";
    case "none":
      return value === null;
    case "states": {
      const names = typeof value === "string" ? [value] : value;
      return Array.isArray(names) && names.every((n) => field.choices.includes(n));
    }
    case "flags":
      return Array.isArray(value) && value.every((n) => field.choices.includes(n));
    default:
      return true; // typed as JSON
  }
}

function matchShowable(match, table) {
  if (match === undefined) return true;
  if (!isObject(match)) return false;
  return Object.entries(match).every(([key, value]) => {
    const field = table.find((f) => f.key === key);
    return field && showable(field, value);
  });
}

export function checkShowable(lang, check, onlyState = false) {
  const { schema, kindKeys, tables } = lang;
  if (!isObject(check)) return false;
  const kinds = Object.keys(check).filter((key) => kindKeys.includes(key));
  if (kinds.length !== 1) return false;
  const kind = kinds[0];
  if (onlyState && !schema.stateKinds.includes(kind)) return false;
  const allowed = schema.modifiers[kind] || [];
  if (Object.keys(check).some((key) => key !== kind && !allowed.includes(key))) return false;
  const value = check[kind];
  switch (kind) {
    case "socket":
    case "no_socket":
    case "sockets":
      return (
        matchShowable(value, tables.socket) &&
        (kind !== "sockets" || isInt(check.at_least)) &&
        (check.distinct === undefined || schema.distinct.some((d) => d.key === check.distinct))
      );
    case "packet":
      return matchShowable(value, tables.packet);
    case "connection":
      return (
        value && typeof value === "object" &&
        Object.keys(value).every((end) => ["client", "accepted"].includes(end)) &&
        matchShowable(value.client, tables.socket) &&
        matchShowable(value.accepted, tables.socket)
      );
    case "picked": {
      if (!value || typeof value !== "object" || Object.keys(value).length !== 1) return false;
      const what = Object.keys(value)[0];
      return schema.pickable.includes(what) && matchShowable(value[what], tables[what]);
    }
    case "error":
      return (
        typeof value === "string" &&
        (check.op === undefined || schema.ops.includes(check.op)) &&
        (check.while === undefined || checkShowable(lang, check.while, true))
      );
    case "ok":
      return schema.ops.includes(value);
    default: // all, any
      return Array.isArray(value) && value.every((part) => checkShowable(lang, part, onlyState));
  }
}
