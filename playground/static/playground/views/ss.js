// The sockets as `ss -tuan` prints them: one plain ES module.
//
// Rule: states are written as ss(8) writes them (vocabulary.js: the server's `states`),
// never as the kernel's names.

import { ssState } from "../vocabulary.js";

export function renderSs(ctx) {
  const box = ctx.$("[data-ss]");
  if (!box) return;
  const lines = ["Netid State       Recv-Q Send-Q Local Address:Port     Peer Address:Port"];
  for (const row of ctx.store.state.sockets.values()) {
    const local = `${row.local.ip}:${row.local.port}`;
    const peer = row.remote ? `${row.remote.ip}:${row.remote.port}` : "0.0.0.0:*";
    const st = ssState(row.state);
    lines.push(`${row.protocol.padEnd(5)} ${st.padEnd(11)} ${String(row.recv_queue).padStart(6)} ${String(row.send_queue).padStart(6)} ${local.padEnd(22)} ${peer}`);
  }
  box.textContent = lines.join("\n");
}
