// The playground page's one script: it starts the playground on the page's main
// element (playground/index.html's [data-playground-page]).
//
// Rules:
// - `?experiment=` of the address names the experiment to show, and follows the one
//   chosen (syncUrl).
// - No GET made a session: the playground makes one with a POST before it connects
//   (session.js).

import { mount } from "./playground.js";
import { sessionMaker } from "./session.js";

for (const root of document.querySelectorAll("[data-playground-page]")) {
  mount(root, {
    experiment: new URL(location.href).searchParams.get("experiment"),
    syncUrl: true,
    ensureSession: sessionMaker(root),
  });
}
