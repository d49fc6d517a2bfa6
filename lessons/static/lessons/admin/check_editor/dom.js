// The elements and controls the check fields are drawn with.
//
// Rules:
// - Text is only ever set as text (textContent, an attribute), never parsed as markup:
//   the server's messages and the stored check's values cannot become markup.
// - Every control that edits a value carries `data-path`, the path the check endpoint
//   names its errors by (labs.admin.check_field_errors), and is found again by it.
// - A control says what it was changed to; what that means for the check is the
//   caller's.

let uid = 0;

// An id no other element of the page has (labels, error messages).
export const nextId = (prefix) => `${prefix}${uid++}`;

export const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children);
  return node;
};

// `messages` as a list in `box` (nothing when there are none).
export function say(box, messages, className = "errorlist") {
  box.replaceChildren();
  if (messages.length) box.append(el("ul", { class: className }, ...messages.map((m) => el("li", { text: m }))));
}

export function field(label, control, wide = false) {
  const id = control.id || nextId("ck");
  control.id = id;
  return el("div", { class: `check-field${wide ? " check-field-wide" : ""}` }, el("label", { for: id, text: label }), control);
}

// Options are names, or {key, label} as the schema gives them; "(any)" unless required.
export function select(path, options, current, onChange, required = false) {
  const node = el("select", { "data-path": path, required });
  if (!required) node.append(el("option", { value: "", text: "(any)" }));
  for (const option of options) {
    const [value, text] = typeof option === "string" ? [option, option] : [option.key, option.label];
    node.append(el("option", { value, text, selected: value === current }));
  }
  node.addEventListener("change", () => onChange(node.value));
  return node;
}

export function number(path, current, onChange, required = false) {
  const node = el("input", {
    type: "text",
    inputmode: "numeric",
    "data-path": path,
    value: current ?? "",
    required,
    size: 7,
  });
  node.addEventListener("change", () => {
    const text = node.value.trim();
    // Not a whole number: kept as typed, so the check's rule says what it wants.
    onChange(text === "" ? undefined : /^-?\d+$/.test(text) ? Number(text) : text);
  });
  return node;
}

export function boxes(path, legend, choices, chosen, onChange) {
  const group = el("fieldset", { class: "check-field check-boxes", "data-path": path, tabindex: -1 }, el("legend", { text: legend }));
  for (const name of choices) {
    const input = el("input", { type: "checkbox", value: name, checked: chosen.includes(name) });
    input.addEventListener("change", () =>
      onChange([...group.querySelectorAll("input:checked")].map((box) => box.value)),
    );
    group.append(el("label", {}, input, ` ${name}`));
  }
  return group;
}
