// One step's check editor: the fields, the problems, the sandbox test and the JSON, built
// around the step's textarea.
//
// Rules:
// - The textarea's JSON is the truth: the fields are built from it (load), every change
//   writes it back (changed), and an edit of the JSON rebuilds the fields.
// - JSON that does not parse, or a check the fields cannot show (showable.js), is left
//   as JSON, opened, with a word why; the sandbox test still runs on it.
// - Validation waits DELAY_MS after the last change; a form sent back with errors is
//   validated at once, so each error shows next to its field.
// - A textarea is set up once; the empty form's template (__prefix__) never.

import { el, say } from "./dom.js";
import { part } from "./part.js";
import { showErrors } from "./server.js";
import { checkShowable } from "./showable.js";

const DELAY_MS = 400;

export function setUp(textarea, lang, server) {
  if ("checkReady" in textarea.dataset || textarea.name.includes("__prefix__")) return;
  textarea.dataset.checkReady = "";
  const editor = el("div", { class: "check-editor" });
  const fields = el("div", { class: "check-fields" });
  const problems = el("div", { class: "check-problems", "aria-live": "polite" });
  const result = el("output", { class: "check-test-result", "aria-live": "polite" });
  const testButton = el("button", {
    type: "button",
    class: "button",
    text: "Test this check against my sandbox",
  });
  const details = el("details", { class: "check-json" }, el("summary", { text: "Edit as JSON" }));
  textarea.before(editor);
  details.append(textarea);
  editor.append(fields, problems, el("p", { class: "check-test" }, testButton, " ", result), details);
  const boxes = { editor, fields, problems };
  let check = null;
  let timer = null;

  async function validate() {
    try {
      showErrors(boxes, await server.ask(check, false));
    } catch (error) {
      say(problems, [`The check could not be verified (${error.message}); it is checked again on Save.`]);
    }
  }

  function changed() {
    textarea.value = JSON.stringify(check);
    result.textContent = "";
    clearTimeout(timer);
    timer = setTimeout(validate, DELAY_MS);
  }

  // Structural changes (a kind, a part added) redraw the fields; focus goes back to
  // the control that made them.
  function redraw(focusPath) {
    changed();
    draw();
    if (focusPath) fields.querySelector(`[data-path="${CSS.escape(focusPath)}"]`)?.focus();
  }

  const ctx = { lang, changed, redraw };

  function draw() {
    fields.replaceChildren(part(ctx, check, (next) => { check = next; }, "check"));
  }

  function load() {
    const text = textarea.value.trim();
    fields.replaceChildren();
    if (!text) {
      check = lang.fresh("socket");
      textarea.value = JSON.stringify(check);
    } else {
      try {
        check = JSON.parse(text);
      } catch (error) {
        check = null;
        say(problems, [`The JSON below is not valid (${error.message}): correct it there, and the fields come back.`]);
        details.open = true;
        return;
      }
    }
    if (!checkShowable(lang, check)) {
      say(problems, ["This check uses something the fields cannot show: edit it as JSON below."], "messagelist");
      details.open = true;
      check = null;
      return;
    }
    say(problems, []);
    draw();
  }

  testButton.addEventListener("click", async () => {
    if (check === null) {
      try {
        check = JSON.parse(textarea.value);
      } catch {
        result.textContent = "The JSON is not valid: correct it first.";
        return;
      }
    }
    result.textContent = "Testing…";
    try {
      const answer = await server.ask(check, true);
      showErrors(boxes, answer);
      result.dataset.outcome = answer.result ? answer.result.outcome : "invalid";
      result.textContent = answer.result
        ? answer.result.message
        : "Correct the check first: " + (answer.errors || []).join(" ");
    } catch (error) {
      result.dataset.outcome = "failed";
      result.textContent = `The test could not run (${error.message}).`;
    }
  });
  textarea.addEventListener("change", load); // edited as JSON: the fields follow
  load();
  if (textarea.closest(".form-row")?.querySelector(".errorlist")) {
    validate(); // a form sent back with errors: put each next to its field
  }
}
