// The quiz page's list of questions: Up and Down buttons move a row, for keyboard users
// and anyone who would rather not drag; nested_admin's drag and drop moves rows too.
// Whatever moved them, the rows are renumbered and their hidden order fields set to
// their place, so Save stores the order that is shown. Focus stays on the button
// pressed, and a live region says where the question went.

const group = document.getElementById("questions-group");

function rows() {
  return [...group.querySelectorAll("tbody.djn-inline-form")].filter((row) =>
    /^questions-\d+$/.test(row.id),
  );
}

function renumber() {
  rows().forEach((row, index) => {
    const number = index + 1;
    const order = row.querySelector("input[name$='-order']");
    if (order && order.value !== String(index)) order.value = String(index);
    const shown = row.querySelector("[data-question-number]");
    if (shown) shown.textContent = String(number);
    row.querySelector("[data-edit]")?.setAttribute("aria-label", `Edit question ${number}`);
    row
      .querySelector("[data-move='-1']")
      ?.setAttribute("aria-label", `Move question ${number} up`);
    row
      .querySelector("[data-move='1']")
      ?.setAttribute("aria-label", `Move question ${number} down`);
  });
}

if (group) {
  const status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("aria-live", "polite");
  status.dataset.orderStatus = "";
  group.querySelector("h2")?.after(status);
  // nested_admin leaves the drag handles' column header empty: name it.
  const handles = group.querySelector("thead th.original");
  if (handles && !handles.textContent.trim()) {
    handles.append(Object.assign(document.createElement("span"), {
      className: "visually-hidden",
      textContent: "Drag to move",
    }));
  }

  group.addEventListener("click", (event) => {
    const button = event.target.closest("[data-move]");
    if (!button) return;
    event.preventDefault();
    const all = rows();
    const row = button.closest("tbody.djn-inline-form");
    const from = all.indexOf(row);
    const to = from + Number(button.dataset.move);
    if (to < 0 || to >= all.length) {
      status.textContent = to < 0 ? "Already the first question." : "Already the last question.";
      return;
    }
    if (to < from) all[to].before(row);
    else all[to].after(row);
    renumber();
    button.focus(); // moving the row took the focus away with it
    status.textContent = `Question moved to place ${to + 1} of ${all.length}. Save to keep the new order.`;
  });

  // nested_admin's drag and drop reorders the rows: renumber after it too.
  const table = group.querySelector("table");
  if (table) new MutationObserver(renumber).observe(table, { childList: true });
}
