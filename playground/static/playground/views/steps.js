// An experiment's steps as the view shows them: done steps with what the kernel said,
// the current one with its question or what it waits for. One plain ES module.
//
// Rules:
// - A step that asks a prediction shows its question (a fieldset of choices) before
//   the step's action, and what the kernel said beside the learner's prediction only
//   once the server reveals it (the step done): the page never has the answer before.
// - A step that asks for a pick says where its "Pick this one" buttons are.
// - A failed action is said in the current step (it was said aloud already).

// "You predicted ECONNREFUSED; the kernel said ECONNREFUSED. You were right." and the
// step's explanation: what a done step shows (the server's `revealed` entry).
export function revealWords(experiment, shown) {
  const parts = [];
  const prediction = shown.prediction;
  const choices = experiment.predict?.[shown.step - 1]?.choices || [];
  if (prediction) {
    const said = choices[prediction.answer] ?? `choice ${prediction.answer + 1}`;
    if (prediction.choice === null || prediction.choice === undefined) {
      parts.push(`The kernel said: ${said}.`);
    } else {
      const guess = choices[prediction.choice] ?? `choice ${prediction.choice + 1}`;
      parts.push(`You predicted “${guess}”; the kernel said “${said}”. ${prediction.correct ? "You were right." : "Your prediction was wrong."}`);
    }
  }
  if (shown.explain) parts.push(shown.explain);
  return parts.join(" ");
}

// The link back to the lesson section that teaches what an experiment shows.
export function lessonLink(experiment) {
  const [lesson, section] = experiment.teaches.split("#");
  const link = document.createElement("a");
  link.href = `/lessons/${lesson}/${section ? `#${section}` : ""}`;
  link.dataset.lessonLink = "";
  link.textContent = "Read the lesson section this experiment belongs to";
  return link;
}

/** ctx: the mount (store, send). Returns {revealBox, currentStep}. */
export function createSteps(ctx) {
  const { send } = ctx;
  const state = ctx.store.state;

  // A done step's explanation, and the learner's prediction beside the kernel's answer.
  function revealBox(experiment, shown) {
    const box = document.createElement("div");
    box.className = "step-reveal";
    box.dataset.reveal = String(shown.step);
    const prediction = shown.prediction;
    if (prediction && prediction.choice !== null && prediction.choice !== undefined) {
      box.dataset.correct = String(prediction.correct);
    }
    const words = document.createElement("p");
    words.textContent = revealWords(experiment, shown);
    box.append(words);
    return box;
  }

  // The current step's question (before its action) and what it waits for.
  function currentStep(experiment, index, progress) {
    const parts = [];
    const active = experiment.id === state.active;
    const predict = experiment.predict?.[index];
    const step = index + 1;
    const predicted = (progress.predicted || {})[String(step)];
    if (predict && predicted === undefined) {
      parts.push(predictionForm(experiment, step, predict, active));
    } else if (predict) {
      const note = document.createElement("p");
      note.className = "step-predicted";
      note.textContent = `Your prediction: “${predict.choices[predicted]}”. Now do the step, and see what the kernel says.`;
      parts.push(note);
    }
    const pick = experiment.pick?.[index];
    if (pick && active && !(predict && predicted === undefined)) {
      const note = document.createElement("p");
      note.className = "step-pick-how";
      note.textContent = pick === "packet"
        ? "When you have found it, use its “Pick this one” button in the Packets panel."
        : "When you have found it, use its “Pick this one” button in the socket table.";
      parts.push(note);
    }
    if (state.pickNote && active) {
      const note = document.createElement("p");
      note.className = "step-pick-note";
      note.setAttribute("role", "status");
      note.textContent = `Not that one. ${state.pickNote}`;
      parts.push(note);
    }
    if (state.stepFailure && active) {
      // Said aloud already (the alert region): here it is only shown.
      const note = document.createElement("p");
      note.className = "step-failure";
      note.dataset.stepFailure = "";
      note.textContent = `That did not work: ${state.stepFailure.text} This means the step is not done yet: ${predict && predicted === undefined
        ? "lock in your prediction first, then do the step again."
        : "fix what the message says, then try again."}`;
      parts.push(note);
    }
    return parts;
  }

  // A fieldset of choices and "Lock in my prediction", asked before the learner acts.
  function predictionForm(experiment, step, predict, active) {
    const form = document.createElement("form");
    form.className = "step-predict";
    form.dataset.predict = String(step);
    const fieldset = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = `Predict first: ${predict.prompt}`;
    fieldset.append(legend);
    predict.choices.forEach((choice, n) => {
      const label = document.createElement("label");
      label.className = "step-choice";
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = `predict-${experiment.id}-${step}`;
      radio.value = String(n);
      radio.required = true;
      label.append(radio, " ", choice);
      fieldset.append(label);
    });
    const hint = document.createElement("p");
    hint.className = "step-predict-hint";
    hint.textContent = active
      ? "The step counts once your prediction is locked in; then do it, and the kernel answers."
      : "Start this experiment to lock in a prediction.";
    const lock = document.createElement("button");
    lock.type = "submit";
    lock.className = "button";
    lock.textContent = "Lock in my prediction";
    lock.disabled = !active;
    fieldset.append(hint, lock);
    form.append(fieldset);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const chosen = form.querySelector("input[type=radio]:checked");
      if (!chosen) return;
      lock.disabled = true;
      send({ op: "experiment.predict", experiment: experiment.id, step, choice: Number(chosen.value) }, "experiment");
    });
    return form;
  }

  return { revealBox, currentStep };
}
