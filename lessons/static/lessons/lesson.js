// Lesson page: mark the lesson read when its end scrolls into view, so the
// button at the end is only needed without JavaScript.
const end = document.querySelector("[data-lesson-end]");

function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

async function markRead() {
  const response = await fetch(end.dataset.readUrl, {
    method: "POST",
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    credentials: "same-origin",
  });
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
