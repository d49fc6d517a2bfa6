// The guided experiments: the list to choose from, the one shown with its steps, and
// starting one. Listed, started and ticked by the server. One plain ES module.
//
// Rules:
// - The page keeps no checks of its own: a step is ticked when the server says so
//   (`experiment.progress`), so progress survives a reload and every tab of the
//   sandbox shows the same.
// - An experiment starts only on an explicit choice (Start, Enter, a link), never
//   as the list's value changes.
// - The list keeps the learner's place (they may be arrowing through it, its popup
//   open); the steps are rebuilt only when what they show changed.
// - A step that asks for a pick puts "Pick this one" buttons on the socket rows or the
//   packets (timeline.js) while the view shows it and its prediction (if any) is made.

import { createSteps, lessonLink } from "./steps.js";

/**
 * ctx: the mount ($, options, signal, store, send, render.table(), packets).
 * Returns {renderChoices(), render(), choose(id)}.
 */
export function createExperiments(ctx) {
  const { $, options, signal, store, send } = ctx;
  const state = store.state;
  const { revealBox, currentStep } = createSteps(ctx);
  let openedFormsFor = null;
  let openedPacketsFor = null;
  let renderedKey = null; // what the steps box shows
  let choicesKey = null; // what the experiment list shows

  // Each experiment with the learner's mark in words: "✓ done" (every step done once),
  // "started" (some done, or the sandbox's active one).
  function markOf(experiment) {
    const progress = state.progress[experiment.id] || {};
    if (progress.finished) return "✓ done";
    if ((progress.done ?? 0) > 0 || experiment.id === state.active) return "started";
    return "";
  }

  function renderExperimentChoices() {
    const select = $("[data-experiment-select]");
    if (!select) return;
    const choices = state.experiments.map((e, i) => {
      const mark = markOf(e);
      return new Option(`${i + 1}. ${e.title}${mark ? ` (${mark})` : ""}`, e.id);
    });
    // Rebuilt only when a mark changed, and the learner's place in the list stays
    // (they may be arrowing through it, its popup open).
    const key = JSON.stringify(choices.map((o) => [o.value, o.text]));
    if (choicesKey !== key) {
      choicesKey = key;
      const current = select.value;
      select.replaceChildren(new Option("Choose one…", ""), ...choices);
      select.value = current;
    }
    renderGo();
  }

  // The Start button says what it will do with the chosen experiment (see choose).
  function renderGo() {
    const select = $("[data-experiment-select]");
    const go = $("[data-experiment-go]");
    if (!select || !go) return;
    const id = select.value;
    go.textContent = !id ? "Hide" : id === state.active || state.progress[id]?.finished ? "Show" : "Start";
    go.disabled = !id && !state.shown;
  }

  // An experiment starts only on an explicit choice (Start, or Enter in the list):
  // never as the list's value changes, so arrowing through it starts nothing.
  function go() {
    const select = $("[data-experiment-select]");
    const id = select.value;
    if (id) {
      choose(id);
      return;
    }
    // No experiment chosen: the sandbox's active one goes on, this view only hides it.
    store.apply({ type: "show", experiment: "" });
    if (options.syncUrl) {
      const url = new URL(location.href);
      url.searchParams.delete("experiment");
      history.replaceState(null, "", url);
    }
    renderExperiment();
  }

  function renderExperiment() {
    const box = $("[data-experiment]");
    const experiment = state.experiments.find((e) => e.id === state.shown);
    const select = $("[data-experiment-select]");
    // The list follows the experiment shown when that changes, not on every render:
    // the learner may be arrowing through it.
    const showing = experiment ? experiment.id : "";
    if (select && select.dataset.showing !== showing) {
      select.dataset.showing = showing;
      select.value = showing;
      renderGo();
    }
    const title = $("[data-experiment-title]");
    if (title && experiment) title.textContent = experiment.title;
    const url = new URL(location.href);
    if (options.syncUrl && experiment && url.searchParams.get("experiment") !== experiment.id) {
      url.searchParams.set("experiment", experiment.id);
      history.replaceState(null, "", url);
    }
    const udp = $("[data-udp-forms]");
    if (udp && experiment && experiment.id !== openedFormsFor) {
      // The panel's UDP forms open by themselves for an experiment that speaks of UDP.
      openedFormsFor = experiment.id;
      udp.open = /\bUDP\b|datagram/i.test(`${experiment.title} ${experiment.steps.join(" ")}`);
    }
    const packets = $("[data-packets-open]");
    if (packets && experiment && experiment.id !== openedPacketsFor) {
      // The packets panel opens by itself for an experiment about packets (never closes).
      openedPacketsFor = experiment.id;
      if (/\bpackets?\b/i.test(`${experiment.title} ${experiment.steps.join(" ")}`) || /\b(SYN|FIN|RST)\b/.test(experiment.steps.join(" "))) packets.open = true;
    }
    updatePicking();
    // Rebuilt only when what it shows changed: not on every socket event.
    const progress = (experiment && state.progress[experiment.id]) || {};
    const key = experiment ? JSON.stringify([experiment.id, progress, state.pickNote, experiment.id === state.active, state.stepFailure]) : "";
    if (key === renderedKey) return;
    renderedKey = key;
    const news = $("[data-experiment-news]");
    if (!experiment) {
      box?.replaceChildren();
      if (news) news.textContent = "";
      return;
    }
    const total = progress.steps ?? experiment.steps.length;
    const done = Math.min(progress.done ?? 0, total);
    const summaryText = done >= total
      ? "Experiment complete. Well done!"
      : `Step ${done + 1} of ${total}.${progress.finished ? " (You have completed it before.)" : ""}`;
    if (news) news.textContent = summaryText;
    if (!box) return;
    const list = document.createElement("ol");
    list.className = "steps";
    const revealed = new Map((progress.revealed || []).map((r) => [r.step, r]));
    experiment.steps.forEach((text, i) => {
      const item = document.createElement("li");
      item.className = i < done ? "step-done" : i === done ? "step-current" : "step-todo";
      item.append(`${i < done ? "✓ Done: " : i === done ? "Now: " : ""}${text}`);
      const shown = revealed.get(i + 1);
      if (i < done && shown) item.append(revealBox(experiment, shown));
      if (i === done) item.append(...currentStep(experiment, i, progress));
      list.append(item);
    });
    const summary = document.createElement("p");
    summary.className = "step-summary";
    summary.dataset.complete = String(done >= total);
    summary.textContent = summaryText;
    const parts = [list, summary];
    if (done >= total) {
      // Starting a finished experiment again starts it over; its record stays finished.
      const again = document.createElement("button");
      again.type = "button";
      again.className = "button";
      again.dataset.restart = "";
      again.textContent = "Do it again";
      again.addEventListener("click", () => start(experiment.id));
      parts.push(again);
      const next = nextExperiment(experiment);
      if (next) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "button button-primary";
        button.dataset.nextExperiment = next.id;
        button.textContent = `Next experiment: ${next.title} →`;
        button.addEventListener("click", () => {
          choose(next.id);
          $("[data-experiment-select]")?.focus();
        });
        parts.push(" ", button);
      }
    }
    const back = document.createElement("p");
    back.className = "step-lesson";
    back.append(lessonLink(experiment));
    box.replaceChildren(...parts, back);
  }

  // The experiment after this one in the course's order that is not done yet (the
  // page's list only: a lesson's panel stays with its lesson's experiments).
  function nextExperiment(experiment) {
    if (!$("[data-experiment-select]")) return null;
    const at = state.experiments.findIndex((e) => e.id === experiment.id);
    const after = [...state.experiments.slice(at + 1), ...state.experiments.slice(0, at)];
    return after.find((e) => !state.progress[e.id]?.finished) || null;
  }

  // What the active experiment's current step asks the learner to pick now, if the
  // view shows it and its prediction (if any) is made.
  function pickingNow() {
    const experiment = state.experiments.find((e) => e.id === state.active);
    if (!experiment || state.shown !== state.active) return null;
    const progress = state.progress[experiment.id] || {};
    const done = progress.done ?? 0;
    const kind = experiment.pick?.[done] || null;
    if (!kind) return null;
    if (experiment.predict?.[done] && (progress.predicted || {})[String(done + 1)] === undefined) return null;
    return kind;
  }

  function updatePicking() {
    const now = pickingNow();
    if (now === state.picking) return;
    store.apply({ type: "picking", kind: now });
    ctx.render.table();
    ctx.packets.renderPicking();
  }

  function start(id) {
    store.apply({ type: "show", experiment: id });
    renderExperiment();
    send({ op: "experiment.start", experiment: id }, "picker");
  }

  // Show an experiment: the active one as it goes, a finished one as done (with "Do it
  // again"), any other one started (it resumes where the learner left it).
  function choose(id) {
    if (id === state.active || state.progress[id]?.finished) {
      store.apply({ type: "show", experiment: id });
      renderExperiment();
    } else {
      start(id);
    }
  }

  $("[data-experiment-select]")?.addEventListener("change", renderGo, { signal });
  $("[data-experiment-select]")?.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    go();
  }, { signal });
  $("[data-experiment-go]")?.addEventListener("click", go, { signal });

  return { renderChoices: renderExperimentChoices, render: renderExperiment, choose };
}
