// What one playground mount knows: the server's word on the sandbox (from `hello` and
// the events after it) and what the view shows. One plain ES module.
//
// Rules:
// - `apply(event)` is the only writer of the state: the server's events (hello,
//   socket, socket.gone, data, experiment.progress, ok) and the view's own changes
//   (show, picking, step.failure, sent, used). Views read `state` and never write it.
// - The server is the source of truth: `hello` replaces everything the server said
//   before (after every (re)connect); the page keeps no checks of its own.
// - Subscribers hear each applied event, with what `apply` says changed, in order: for
//   an event that writes a socket's row (socket, socket.gone, an `ok` with a row), its
//   row as it was before (`before`), so a view draws changes without a copy of its own.

// A row the kernel keeps for a while (TIME_WAIT): `expires_in` seconds from when it
// came, as a moment of this page's clock, for its countdown.
function timed(row) {
  row.expiresAt = typeof row.expires_in === "number" ? Date.now() + row.expires_in * 1000 : null;
  return row;
}

export function createStore() {
  const state = {
    devices: [],
    sockets: new Map(),
    limits: {},
    capture: null, // hello.capture ({available, note, history, older, packets_per_second}), if named
    deadline: null,
    idleDeadline: null,
    received: new Map(),
    experiments: [], // from hello: [{id, title, lesson, teaches, steps: [text], predict, pick}]
    // experiment id -> {done, steps, finished, revealed, predicted}, as the server reports it
    progress: {},
    active: null, // the sandbox's active experiment (all its tabs share it)
    shown: null, // the experiment this view shows
    canReset: false, // the server knows `tcp.reset`
    picking: null, // what the current step asks the learner to pick now: "packet", "socket"
    pickNote: "", // why the last pick was not the one
    stepFailure: null, // {key, text}: the last failed action, said in the current step
    acted: { id: null, seq: 0 }, // the socket the learner made or used last
  };
  const listeners = new Set();

  function hello(event) {
    state.devices = event.devices;
    state.limits = event.limits;
    state.capture = event.capture || null;
    state.sockets = new Map(event.sockets.map((row) => [row.id, timed(row)]));
    state.received = new Map(event.data.map((d) => [d.socket, d.data]));
    state.deadline = Date.now() + event.expires.lifetime_left * 1000;
    state.idleDeadline = Date.now() + event.expires.idle_left * 1000;
    state.experiments = event.experiments || [];
    state.progress = event.progress || {};
    state.active = event.experiment || null;
    state.canReset = "capture" in event;
    // A reconnect keeps the experiment in view; the first hello shows the active one.
    if (!state.experiments.some((e) => e.id === state.shown)) state.shown = state.active;
  }

  // The server's word on an experiment: the one started (by any tab) and its steps done.
  // Says what was known before, and which revealed steps are news.
  function progressed(event) {
    if (event.experiment !== state.active || state.shown === null) state.shown = event.experiment;
    state.active = event.experiment;
    const before = state.progress[event.experiment];
    state.progress[event.experiment] = {
      done: event.done,
      steps: event.steps,
      finished: event.finished,
      revealed: event.revealed || [],
      predicted: event.predicted || {},
    };
    if (!before || event.done !== before.done) {
      state.pickNote = "";
      state.stepFailure = null; // said of a step that is done now, or of another one
    }
    const told = new Set((before?.revealed || []).map((r) => r.step));
    const fresh = (event.revealed || []).filter((r) => !told.has(r.step));
    return { before, fresh };
  }

  function answered(event) {
    let before;
    if (event.socket && typeof event.socket === "object") {
      before = state.sockets.get(event.socket.id);
      state.acted = { id: event.socket.id, seq: state.acted.seq + 1 };
      state.sockets.set(event.socket.id, timed(event.socket));
    }
    if (event.op === "experiment.pick" && !event.matched) state.pickNote = event.message;
    return { before };
  }

  function reduce(event) {
    switch (event.type) {
      case "hello":
        hello(event);
        return {};
      case "socket": {
        const before = state.sockets.get(event.socket.id);
        state.sockets.set(event.socket.id, timed(event.socket));
        return { fresh: !before, before };
      }
      case "socket.gone": {
        const before = state.sockets.get(event.socket);
        state.sockets.delete(event.socket);
        return { before };
      }
      case "data":
        if (!event.eof) state.received.set(event.socket, (state.received.get(event.socket) || "") + event.data);
        return {};
      case "experiment.progress":
        return progressed(event);
      case "ok":
        return answered(event);
      // The view's own changes.
      case "show":
        state.shown = event.experiment;
        return {};
      case "picking":
        state.picking = event.kind;
        return {};
      case "step.failure":
        state.stepFailure = event.failure;
        return {};
      case "used": // a command on this socket was answered
        state.acted = { id: event.socket, seq: state.acted.seq + 1 };
        return {};
      case "sent": // the server's idle clock starts again
        if (state.deadline) state.idleDeadline = Date.now() + state.limits.idle_timeout * 1000;
        return {};
    }
    return {};
  }

  return {
    state,
    apply(event) {
      const change = reduce(event);
      for (const listener of listeners) listener(event, change);
      return change;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
