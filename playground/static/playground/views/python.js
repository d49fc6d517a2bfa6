// The Python equivalents: the program so far, one line or a few for each answered
// command, that runs as it stands. One plain ES module.
//
// Rules:
// - Each socket keeps one variable name (`s<n>`, an accepted one `conn<n>`) for every
//   line that uses it; a reset closes them all and starts the names again.
// - An accepted socket comes from its listener's accept(), written right after the
//   connect that made it, whichever of the two events comes first.

/** ctx: the mount ($, store). Returns {showCode(command, event), acceptedCode(row)}. */
export function createPython(ctx) {
  const { $ } = ctx;
  const state = ctx.store.state;
  const names = new Map(); // socket id -> Python variable name
  const awaitingAccept = new Map(); // "ip:port>ip:port" of a client -> its listener's id

  function varName(id) {
    if (!names.has(id)) names.set(id, `s${id.slice(1)}`);
    return names.get(id);
  }

  const tupleKey = (local, remote) => `${local.ip}:${local.port}>${remote.ip}:${remote.port}`;

  // An accepted socket comes from its listener's accept(), named `conn<n>` for the
  // lines that use it later. Written right after the connect that made it (the
  // accepted socket's event may come before or after the connect's answer).
  function acceptLine(row) {
    const name = `conn${row.id.slice(1)}`;
    names.set(row.id, name);
    return `${name}, addr = ${varName(row.listener)}.accept()  # ${row.id}: the server's end, from ${row.remote.ip}:${row.remote.port}`;
  }

  function acceptedCode(row) {
    if (row.role !== "accepted" || !row.remote) return;
    const key = tupleKey(row.remote, row.local);
    if (!awaitingAccept.has(key)) return;
    awaitingAccept.delete(key);
    appendCode(acceptLine(row));
  }

  function ipOf(device) {
    const found = state.devices.find((d) => d.name === device);
    return found ? found.ip : device;
  }

  function pythonFor(command, event) {
    const s = event.socket && typeof event.socket === "object" ? event.socket : null;
    switch (command.op) {
      case "tcp.listen": {
        const v = varName(s.id);
        const reuse = command.reuse_address ? `\n${v}.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)` : "";
        return `${v} = socket.socket(socket.AF_INET, socket.SOCK_STREAM)${reuse}\n${v}.bind(("${s.local.ip}", ${command.port}))\n${v}.listen(${"backlog" in command ? command.backlog : state.limits?.listen_backlog ?? ""})`;
      }
      case "tcp.connect": {
        const v = varName(s.id);
        const made = `${v} = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n${v}.bind(("${s.local.ip}", 0))  # the ${s.device}'s address; the system picks port ${s.local.port}`;
        if (s.state === "SYN_SENT") {
          // A blocking connect() would wait here for minutes: the program goes on without it.
          return `${made}\n${v}.setblocking(False)\n${v}.connect_ex(("${s.remote.ip}", ${s.remote.port}))  # EINPROGRESS: no answer to its SYN yet (SYN_SENT)`;
        }
        const lines = `${made}\n${v}.connect(("${s.remote.ip}", ${s.remote.port}))`;
        const accepted = [...state.sockets.values()].find((r) => r.role === "accepted" && r.remote && !names.has(r.id)
          && tupleKey(r.remote, r.local) === tupleKey(s.local, s.remote));
        if (accepted) return `${lines}\n${acceptLine(accepted)}`;
        const listener = [...state.sockets.values()].find((r) => r.role === "listener" && r.local.ip === s.remote.ip && r.local.port === s.remote.port);
        // A listener that accepts only when told leaves the connection in its queue.
        if (listener?.auto_accept !== false) awaitingAccept.set(tupleKey(s.local, s.remote), true);
        return lines;
      }
      case "accept": return acceptLine(s);
      case "recv": {
        const row = state.sockets.get(command.socket);
        const v = varName(command.socket);
        // asyncio, which reads for the playground, takes at most 256 KiB a read.
        return row?.protocol === "udp" ? `data, addr = ${v}.recvfrom(65536)` : `data = ${v}.recv(262144)`;
      }
      case "udp.bind": {
        const v = varName(s.id);
        return `${v} = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n${v}.bind(("${s.local.ip}", ${command.port}))`;
      }
      case "udp.connect": return `${varName(s.id)}.connect(("${s.remote.ip}", ${s.remote.port}))`;
      case "send": {
        const row = state.sockets.get(command.socket);
        return `${varName(command.socket)}.${row?.protocol === "udp" ? "send" : "sendall"}(${JSON.stringify(command.data)}.encode())`;
      }
      case "udp.sendto": return `${varName(command.socket)}.sendto(${JSON.stringify(command.data)}.encode(), ("${ipOf(command.to.device)}", ${command.to.port}))`;
      case "shutdown": return `${varName(command.socket)}.shutdown(socket.SHUT_WR)`;
      case "close": return `${varName(command.socket)}.close()`;
      case "tcp.reset": {
        const v = varName(command.socket);
        return `import struct\n${v}.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))\n${v}.close()  # linger on, 0 seconds: the kernel sends RST, not FIN`;
      }
      case "reset": {
        const all = [...names.values()];
        names.clear();
        awaitingAccept.clear();
        return all.length ? `# close every socket\nfor s in [${all.join(", ")}]:\n    s.close()` : "";
      }
    }
    return "";
  }

  function showCode(command, event) {
    const box = $("[data-code]");
    const code = box && pythonFor(command, event);
    if (code) appendCode(code, "\n");
  }

  // The whole program so far, so that it runs as it stands (the box scrolls).
  function appendCode(code, gap = "") {
    const box = $("[data-code]");
    if (box) box.textContent = `${box.textContent}\n${gap}${code}`;
  }

  return { showCode, acceptedCode };
}
