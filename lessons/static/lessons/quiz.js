// Quiz page: say how many questions are answered, ask before submitting with
// some left blank, and stop a double click from sending the form twice (the
// server records an attempt once anyway). Lab questions have nothing to fill in
// (they are done in the playground and graded from it), so they are not counted.
const form = document.querySelector("[data-quiz-form]");

function answered(question) {
  return [...question.querySelectorAll("input")].some((input) =>
    input.type === "radio" || input.type === "checkbox" ? input.checked : input.value.trim() !== ""
  );
}

if (form) {
  const questions = [...form.querySelectorAll(".question:not([data-lab])")];
  const status = form.querySelector("[data-status]");
  const button = form.querySelector("[data-submit]");
  const update = () => {
    const done = questions.filter(answered).length;
    status.textContent = `${done} of ${questions.length} answered`;
  };
  form.addEventListener("input", update);
  update();

  form.addEventListener("submit", (event) => {
    const blank = questions.filter((q) => !answered(q)).length;
    if (blank && !window.confirm(`${blank} question${blank === 1 ? " is" : "s are"} unanswered. Submit anyway?`)) {
      event.preventDefault();
      return;
    }
    button.disabled = true;
    button.textContent = "Marking…";
  });

  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
}
