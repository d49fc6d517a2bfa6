// The check endpoint (labs.admin: admin:labs_experiment_check): it validates a check with
// lab_checks, and with `test` also tries it against the staff member's own sandbox.
//
// Rules:
// - A 400 is an answer (the check's errors); any other failure throws, and the editor
//   says the check is verified again on Save.
// - Errors come by field path (`fields`) and in lab_checks' own words (`errors`): each is
//   shown next to the control of its path; whatever no control shows is listed.

import { el, nextId, say } from "./dom.js";

export function checkServer(checkUrl, token) {
  async function ask(check, test) {
    const response = await fetch(checkUrl, {
      method: "POST",
      headers: { "X-CSRFToken": token, "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ check, test }),
    });
    if (!response.ok && response.status !== 400) throw new Error(`the server answered ${response.status}`);
    return response.json();
  }
  return { ask };
}

// The answer's errors in `editor`: by their field among `fields`, the rest in `problems`.
export function showErrors({ editor, fields, problems }, answer) {
  for (const old of editor.querySelectorAll(".check-field-error")) old.remove();
  for (const input of editor.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
  const unplaced = [];
  for (const [path, message] of Object.entries(answer.fields || {})) {
    const input = fields.querySelector(`[data-path="${CSS.escape(path)}"]`);
    if (!input) {
      unplaced.push(message);
      continue;
    }
    const id = nextId("ck-error-");
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
    input.closest(".check-field").append(el("span", { class: "check-field-error", id, text: message }));
  }
  // Whatever no field shows, in lab_checks' own words.
  const placed = Object.keys(answer.fields || {}).length - unplaced.length;
  say(problems, placed ? unplaced : answer.errors || []);
}
