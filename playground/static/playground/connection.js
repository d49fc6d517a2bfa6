// One playground's WebSocket to /ws/playground/: connecting, retrying, and the
// commands sent, by `ref`, until the server answers them. One plain ES module.
//
// Rules:
// - It reconnects by itself, waiting longer each time (1 s doubling to 30 s; at least
//   15 s after a quota or a full playground, which waiting helps); the server's
//   `hello` after each (re)connect rebuilds the page.
// - `options.ensureSession` is awaited before each connection (so a `no_session`
//   close is retried): no GET makes a session. Without it, a `no_session` close
//   (4401) asks for a reload instead.
// - Every command gets a fresh `ref`; its answer (`ok` or `error` with that ref) finds
//   the command and what the sender noted with it (`answer(ref)`).
// Protocol: docs/playground-protocol.md.

/**
 * hooks.status(kind, text): the connection's state in words; hooks.message(event):
 * each event the server sends; hooks.ensureSession: see the rules.
 * Returns {connect(), isOpen(), send(command, note), answer(ref), close()}.
 */
export function createConnection({ status, message, ensureSession = null }) {
  const pending = new Map(); // ref -> {command, note}, to explain answers
  let ws = null;
  let nextRef = 1;
  let retryDelay = 1000;
  let retryTimer = null;
  let closed = false;

  async function connect() {
    retryTimer = null;
    if (closed) return;
    status("connecting", "Connecting…");
    if (ensureSession) {
      try {
        await ensureSession();
      } catch {
        retry();
        return;
      }
      if (closed) return;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/playground/`);
    ws = socket;
    socket.addEventListener("open", () => {
      retryDelay = 1000;
    });
    socket.addEventListener("message", (event) => message(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      if (closed || socket !== ws) return;
      if (event.code === 4401 && !ensureSession) {
        status("closed", "No session: reload the page");
        return;
      }
      if (event.code === 4429 || event.code === 4503) {
        // A quota or a full playground: the error event said why; waiting longer helps.
        retryDelay = Math.max(retryDelay, 15000);
      }
      retry();
    });
  }

  function retry() {
    const seconds = Math.round(retryDelay / 1000);
    status("closed", `Disconnected; retrying in ${seconds} s`);
    retryTimer = setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  const isOpen = () => Boolean(ws && ws.readyState === WebSocket.OPEN);

  // Sends `command` (false when not connected): `note` comes back with its answer.
  function send(command, note = null) {
    if (!isOpen()) return false;
    command.ref = String(nextRef++);
    pending.set(command.ref, { command, note });
    ws.send(JSON.stringify(command));
    return true;
  }

  return {
    connect,
    isOpen,
    send,
    // What was sent with `ref` ({command, note}, or {} for none), now answered.
    answer(ref) {
      const sent = pending.get(ref) || {};
      pending.delete(ref);
      return sent;
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      if (ws) ws.close(1000);
    },
  };
}
