// Lesson page: mark the lesson read when its end scrolls into view, so the
// button at the end is only needed without JavaScript; and run the "Try it" panel
// with the playground's own modules (playground/lesson-panel.js runs the panel the
// page has, playground/_lesson_panel.html). The page's one script: its imports are
// relative paths, which collectstatic rewrites to hashed names (sockets_site/storage.py).
import "../playground/lesson-panel.js";
import { oneAtATime } from "../playground/session.js";

const end = document.querySelector("[data-lesson-end]");

function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

// The first POST of a reader with no session makes their session: it goes in the queue
// the lesson's playground panel shares (session.js), so two never make two.
async function markRead() {
  const response = await oneAtATime(() =>
    fetch(end.dataset.readUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      credentials: "same-origin",
    }),
  );
  if (response.ok) {
    end.dataset.read = "true";
    end.querySelector("[data-read-state]").textContent = "✓ You have read this lesson.";
  }
}

if (end && end.dataset.read !== "true" && "IntersectionObserver" in window) {
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) {
      observer.disconnect();
      markRead().catch(() => {}); // the button still works if this fails
    }
  });
  observer.observe(end);
}

// A code block or table wider than the column scrolls sideways: it takes the keyboard
// focus then, so that a reader without a mouse can scroll it too (arrow keys).
function focusableWhenScrolling() {
  for (const box of document.querySelectorAll(".lesson-body pre, .lesson-body table")) {
    if (box.scrollWidth > box.clientWidth + 1) box.setAttribute("tabindex", "0");
    else box.removeAttribute("tabindex");
  }
}
focusableWhenScrolling();
if ("ResizeObserver" in window) {
  const body = document.querySelector(".lesson-body");
  if (body) new ResizeObserver(focusableWhenScrolling).observe(body);
}
