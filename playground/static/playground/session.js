// A session for this browser before a playground connects: one plain ES module.
//
// Rules:
// - No GET of a page makes a session (a reader who only looks leaves no row): the
//   playground page and a lesson's panel make one with a POST before they connect.
// - A reader with no session gets one from their first POST: lesson.js's "mark as
//   read" (sent when the lesson's end comes into view) or the panel's. Two at once would
//   make two sessions, the later cookie winning, and the panel's sandbox would not be
//   the one the reader's next page finds; so such requests go one at a time, in the
//   queue that lesson.js shares (window.sessionRequests).

export function oneAtATime(request) {
  const next = (window.sessionRequests || Promise.resolve()).then(request, request);
  window.sessionRequests = next.catch(() => {});
  return next;
}

// What a playground awaits before it connects: a session for this browser, made by a
// POST (with the CSRF token `container` holds) to its data-session-url.
export function sessionMaker(container) {
  return async function ensureSession() {
    const token = container.querySelector("input[name=csrfmiddlewaretoken]").value;
    const response = await oneAtATime(() =>
      fetch(container.dataset.sessionUrl, {
        method: "POST",
        headers: { "X-CSRFToken": token },
        credentials: "same-origin",
      }),
    );
    if (!response.ok) throw new Error(`No session: ${response.status}`);
  };
}
