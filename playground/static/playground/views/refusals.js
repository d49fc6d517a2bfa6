// Failures said where the eye is: one plain ES module.
//
// Rules:
// - The event log keeps the history; a failed action is also said next to the control
//   that made it (until that control next succeeds), in the active experiment's
//   current step, and aloud (one alert region per mount).
// - A control's words are tied to it (aria-describedby), and go with the mount.
// - The same words twice are still said twice.

import { glossaryLink } from "./log.js";

export function refusalWords({ text, link, term, note }) {
  const parts = [note ? text : `That did not work: ${text}`];
  if (link) parts.push(" ", glossaryLink(link, term));
  return parts;
}

/**
 * ctx: the mount (root, $, $$, options, store, render.table(), render.experiment()).
 * Returns {refuse, tell, clear, words(key), remove()}.
 */
export function createRefusals(ctx) {
  const { $, $$, store, options } = ctx;
  const state = store.state;
  const controlErrors = new Map(); // control key -> {text, link}, until it next succeeds

  const alertBox = document.createElement("p");
  alertBox.className = "visually-hidden";
  alertBox.setAttribute("role", "alert");
  alertBox.dataset.errorNews = "";
  ctx.root.append(alertBox);

  function refuse(key, text, link = null, term = null, ofStep = true) {
    controlErrors.set(key, { text, link, term });
    const experiment = state.experiments.find((e) => e.id === state.active);
    if (ofStep && experiment && state.shown === state.active && key !== "picker") {
      store.apply({ type: "step.failure", failure: { key, text } });
      ctx.render.experiment();
    }
    show(key);
    const words = `That did not work: ${text}`;
    // The same words twice are still said twice.
    alertBox.textContent = alertBox.textContent === words ? `${words}\u00a0` : words;
  }

  // A word next to a control that is no failure (what its box cut), until it next succeeds.
  function tell(key, text) {
    controlErrors.set(key, { text, note: true });
    show(key);
    alertBox.textContent = text;
  }

  function clear(key) {
    if (state.stepFailure?.key === key) {
      store.apply({ type: "step.failure", failure: null });
      ctx.render.experiment();
    }
    if (!controlErrors.delete(key)) return;
    show(key);
  }

  // The element a control's failure is said in: after the form's button, after the
  // reset button or the picker; a row's is in its actions cell (views/table.js).
  function refusalBox(key) {
    let control = null;
    if (key.startsWith("form:")) control = $(`form[data-op="${key.slice(5)}"] button[type=submit]`);
    else if (key === "reset") control = $("[data-reset]");
    else if (key === "picker") control = $("[data-experiment-go]");
    if (!control) return null;
    const holder = key === "picker" ? control.parentElement : control;
    let box = holder.parentElement.querySelector(`:scope > [data-error-for="${key}"]`);
    if (!box) {
      box = document.createElement("p");
      box.className = "control-error";
      box.dataset.errorFor = key;
      box.id = `error-${key.replace(/\W/g, "-")}${options.compact ? "-panel" : ""}`;
      box.hidden = true;
      holder.after(box);
      control.setAttribute("aria-describedby", [control.getAttribute("aria-describedby"), box.id].filter(Boolean).join(" "));
    }
    return box;
  }

  function show(key) {
    if (key.startsWith("row:")) {
      ctx.render.table();
      return;
    }
    const box = refusalBox(key);
    if (!box) return;
    const said = controlErrors.get(key);
    box.hidden = !said;
    box.replaceChildren(...(said ? refusalWords(said) : []));
    // On a phone the docked sockets panel may cover it; the page's scroll padding keeps
    // "nearest" clear of the dock.
    if (said) box.scrollIntoView({ block: "nearest" });
  }

  return {
    refuse,
    tell,
    clear,
    // What is said of a control now ({text, link, term, note}), if anything.
    said: (key) => controlErrors.get(key),
    forget: (key) => controlErrors.delete(key),
    // What this mount said next to the controls goes with it (a panel opens again).
    remove() {
      alertBox.remove();
      for (const box of $$("[data-error-for]")) {
        for (const control of $$(`[aria-describedby~="${box.id}"]`)) {
          const rest = control.getAttribute("aria-describedby").split(" ").filter((id) => id !== box.id);
          if (rest.length) control.setAttribute("aria-describedby", rest.join(" "));
          else control.removeAttribute("aria-describedby");
        }
        box.remove();
      }
    },
  };
}
