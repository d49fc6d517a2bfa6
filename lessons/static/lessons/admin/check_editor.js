// An experiment step's check edited as fields: the page's one entry, loaded as a module
// by labs.admin.ExperimentAdmin's Media. The stored JSON stays the truth: the fields are
// built from it, every change writes it back into the step's textarea (which the form
// posts, and which stays editable under "Edit as JSON"), and a check the fields cannot
// show (a key they have no input for) is left as JSON, said so.
//
// Rules:
// - What the fields offer (kinds, keys, choices, the words for a wrong value) comes from
//   the page's #check-schema, made by labs.admin.check_schema from the check language's
//   tables (playground.labs.checks): nothing of it is written again here
//   (check_editor/language.js reads it).
// - The check endpoint validates with lab_checks and answers errors by field path, which
//   the editor shows next to the field; it also tries the check against the staff
//   member's sandbox (check_editor/server.js).
// - One editor per textarea[data-check-json], a step added later included
//   (check_editor/editor.js).

import { setUp } from "./check_editor/editor.js";
import { language } from "./check_editor/language.js";
import { checkServer } from "./check_editor/server.js";

const schemaScript = document.getElementById("check-schema");

if (schemaScript) {
  const lang = language(JSON.parse(schemaScript.textContent));
  const checkUrl = document.querySelector("[data-check-url]").dataset.checkUrl;
  const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const server = checkServer(checkUrl, token);
  const setUpAll = () =>
    document.querySelectorAll("textarea[data-check-json]").forEach((textarea) => setUp(textarea, lang, server));
  setUpAll();
  // A step added with "Add another step" brings its textarea: give it fields too.
  new MutationObserver(setUpAll).observe(document.getElementById("content-main") || document.body, {
    childList: true,
    subtree: true,
  });
}
