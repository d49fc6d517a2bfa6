// The check language as the page's #check-schema gives it (labs.admin.check_schema):
// its kinds, their modifiers, the socket and packet keys with their inputs and choices,
// the ops, the `distinct` keys and what a learner can pick.
//
// Rules:
// - The schema is the server's: read here, never added to. What this module knows of the
//   language itself is only what each kind's fields look like (fresh: a new check of a
//   kind, as the fields start it).

// The language for the editor: the schema, its kinds' keys, the key tables by what a
// match is of (socket, packet), the kind of a check, and a new check of a kind.
export function language(schema) {
  const kindKeys = schema.kinds.map((kind) => kind.key);
  const tables = { socket: schema.socketFields, packet: schema.packetFields };

  const kindOf = (check) => Object.keys(check).find((key) => kindKeys.includes(key));

  function fresh(kind) {
    if (kind === "sockets") return { sockets: {}, at_least: 2 };
    if (kind === "connection") return { connection: {} };
    if (kind === "error") return { error: "" };
    if (kind === "ok") return { ok: schema.ops[0] };
    if (kind === "picked") return { picked: { [schema.pickable[0]]: {} } };
    if (kind === "all" || kind === "any") return { [kind]: [{ socket: {} }] };
    return { [kind]: {} };
  }

  return { schema, kindKeys, tables, kindOf, fresh };
}
