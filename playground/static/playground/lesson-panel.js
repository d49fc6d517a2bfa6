// A lesson's "Try it" panel (playground/_lesson_panel.html): the lesson's links to the
// playground open a compact playground beside the lesson instead of leaving it.
// lessons/lesson.js imports this module; it runs the panel the page has.
//
// Rules:
// - A lesson's "Try it" links (to the playground with `?experiment=`) open the panel
//   when the page has one; without JavaScript they still go to the playground. A click
//   with a modifier key still opens the playground (a new tab).
// - The panel's sandbox is the playground page's, since the session is the same; the
//   panel makes the session with a POST before it connects (session.js), as the page
//   is cached and may be read with no session at all.
// - Closing the panel (its button, Escape) ends its playground and gives the focus back
//   to the link that opened it.

import { mount } from "./playground.js";
import { sessionMaker } from "./session.js";

// A "Try it" link: to the playground page, naming an experiment.
function experimentOf(link, playgroundPath) {
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || url.pathname !== playgroundPath) return null;
  return url.searchParams.get("experiment");
}

/**
 * Opens a lesson's "Try it" links in `panel` (playground/_lesson_panel.html) instead
 * of leaving the lesson: the same sandbox as the playground page, since the session
 * is the same. A click with a modifier key still opens the playground (a new tab).
 */
function mountLessonPanel(panel) {
  const playgroundPath = new URL(panel.dataset.playgroundUrl, location.href).pathname;
  const links = [...document.querySelectorAll("a[href]")].filter((a) => !panel.contains(a) && experimentOf(a, playgroundPath));
  let playground = null;
  let opener = null;
  const ensureSession = sessionMaker(panel);

  function open(id, link) {
    opener = link;
    panel.querySelector("[data-full-playground]").href = `${panel.dataset.playgroundUrl}?experiment=${encodeURIComponent(id)}`;
    panel.hidden = false;
    document.body.classList.add("has-lab-panel");
    for (const a of links) a.setAttribute("aria-expanded", String(a === link));
    const title = panel.querySelector("[data-experiment-title]");
    if (!playground) title.textContent = link.textContent; // until the server names it
    if (playground) playground.start(id);
    else playground = mount(panel, { experiment: id, compact: true, ensureSession });
    title.focus();
  }

  function close() {
    panel.hidden = true;
    document.body.classList.remove("has-lab-panel");
    for (const a of links) a.setAttribute("aria-expanded", "false");
    if (playground) playground.close();
    playground = null;
    panel.querySelector("[data-rows]").replaceChildren();
    panel.querySelector("[data-log]").replaceChildren();
    if (opener) opener.focus();
  }

  for (const link of links) {
    link.setAttribute("aria-controls", panel.id);
    link.setAttribute("aria-expanded", "false");
    link.addEventListener("click", (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      open(experimentOf(link, playgroundPath), link);
    });
  }
  panel.querySelector("[data-lab-close]").addEventListener("click", close);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
}

for (const panel of document.querySelectorAll("[data-lab-panel]")) mountLessonPanel(panel);
