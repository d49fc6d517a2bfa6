// An experiment step's check edited as fields. The stored JSON stays the truth: the
// fields are built from it, every change writes it back into the step's textarea (which
// the form posts, and which stays editable under "Edit as JSON"), and a check the
// fields cannot show (a key they have no input for) is left as JSON, said so.
//
// What the fields offer (kinds, keys, choices, the words for a wrong value) comes from
// the page's #check-schema, made by labs.admin.check_schema from the check
// language's tables (playground.labs.checks): nothing of it is written again here. The
// check endpoint validates with lab_checks and answers errors by field path, which this
// shows next to the field; it also tries the check against the staff member's sandbox.

const schemaScript = document.getElementById("check-schema");
const DELAY_MS = 400;

if (schemaScript) {
  const schema = JSON.parse(schemaScript.textContent);
  const checkUrl = document.querySelector("[data-check-url]").dataset.checkUrl;
  const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const kindKeys = schema.kinds.map((kind) => kind.key);
  const labels = Object.fromEntries(schema.kinds.map((kind) => [kind.key, kind.label]));
  const tables = { socket: schema.socketFields, packet: schema.packetFields };
  let uid = 0;

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === false || value == null) continue;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    node.append(...children);
    return node;
  };

  const isInt = (v) => Number.isInteger(v);
  const kindOf = (check) => Object.keys(check).find((key) => kindKeys.includes(key));

  // Whether the fields can show `value` without losing anything.
  function showable(field, value) {
    switch (field.input) {
      case "choice":
        return typeof value === "string" && field.choices.includes(value);
      case "port":
      case "count":
        return isInt(value);
      case "flag":
        return typeof value === "boolean";
      case "none":
        return value === null;
      case "states": {
        const names = typeof value === "string" ? [value] : value;
        return Array.isArray(names) && names.every((n) => field.choices.includes(n));
      }
      case "flags":
        return Array.isArray(value) && value.every((n) => field.choices.includes(n));
      default:
        return true; // typed as JSON
    }
  }

  function matchShowable(match, table) {
    if (match === undefined) return true;
    if (!match || typeof match !== "object" || Array.isArray(match)) return false;
    return Object.entries(match).every(([key, value]) => {
      const field = table.find((f) => f.key === key);
      return field && showable(field, value);
    });
  }

  function checkShowable(check, onlyState = false) {
    if (!check || typeof check !== "object" || Array.isArray(check)) return false;
    const kinds = Object.keys(check).filter((key) => kindKeys.includes(key));
    if (kinds.length !== 1) return false;
    const kind = kinds[0];
    if (onlyState && !schema.stateKinds.includes(kind)) return false;
    const allowed = schema.modifiers[kind] || [];
    if (Object.keys(check).some((key) => key !== kind && !allowed.includes(key))) return false;
    const value = check[kind];
    switch (kind) {
      case "socket":
      case "no_socket":
      case "sockets":
        return (
          matchShowable(value, tables.socket) &&
          (kind !== "sockets" || isInt(check.at_least)) &&
          (check.distinct === undefined || schema.distinct.some((d) => d.key === check.distinct))
        );
      case "packet":
        return matchShowable(value, tables.packet);
      case "connection":
        return (
          value && typeof value === "object" &&
          Object.keys(value).every((end) => ["client", "accepted"].includes(end)) &&
          matchShowable(value.client, tables.socket) &&
          matchShowable(value.accepted, tables.socket)
        );
      case "picked": {
        if (!value || typeof value !== "object" || Object.keys(value).length !== 1) return false;
        const what = Object.keys(value)[0];
        return schema.pickable.includes(what) && matchShowable(value[what], tables[what]);
      }
      case "error":
        return (
          typeof value === "string" &&
          (check.op === undefined || schema.ops.includes(check.op)) &&
          (check.while === undefined || checkShowable(check.while, true))
        );
      case "ok":
        return schema.ops.includes(value);
      default: // all, any
        return Array.isArray(value) && value.every((part) => checkShowable(part, onlyState));
    }
  }

  function setUp(textarea) {
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
    const details = el(
      "details",
      { class: "check-json" },
      el("summary", { text: "Edit as JSON" }),
    );
    textarea.before(editor);
    details.append(textarea);
    editor.append(fields, problems, el("p", { class: "check-test" }, testButton, " ", result), details);
    let check = null;
    let timer = null;

    function say(box, messages, className = "errorlist") {
      box.replaceChildren();
      if (messages.length)
        box.append(el("ul", { class: className }, ...messages.map((m) => el("li", { text: m }))));
    }

    async function ask(test) {
      const response = await fetch(checkUrl, {
        method: "POST",
        headers: { "X-CSRFToken": token, "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ check, test }),
      });
      if (!response.ok && response.status !== 400) throw new Error(`the server answered ${response.status}`);
      return response.json();
    }

    function showErrors(answer) {
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
        const id = `ck-error-${uid++}`;
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", id);
        input.closest(".check-field").append(el("span", { class: "check-field-error", id, text: message }));
      }
      // Whatever no field shows, in lab_checks' own words.
      const placed = Object.keys(answer.fields || {}).length - unplaced.length;
      say(problems, placed ? unplaced : answer.errors || []);
    }

    async function validate() {
      try {
        showErrors(await ask(false));
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

    function field(label, control, wide = false) {
      const id = control.id || `ck${uid++}`;
      control.id = id;
      return el("div", { class: `check-field${wide ? " check-field-wide" : ""}` }, el("label", { for: id, text: label }), control);
    }

    function select(path, options, current, onChange, required = false) {
      const node = el("select", { "data-path": path, required });
      if (!required) node.append(el("option", { value: "", text: "(any)" }));
      for (const option of options) {
        const [value, text] = typeof option === "string" ? [option, option] : [option.key, option.label];
        node.append(el("option", { value, text, selected: value === current }));
      }
      node.addEventListener("change", () => onChange(node.value));
      return node;
    }

    function number(path, current, onChange, required = false) {
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

    function boxes(path, legend, choices, chosen, onChange) {
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

    // The inputs of a socket or packet match: container[key] is the match (dropped
    // when empty and `optional`).
    function matchFields(container, key, table, path, optional = false) {
      const box = el("div", { class: "check-match" });
      const match = () => container[key] || (container[key] = {});
      const set = (name, value) => {
        if (value === undefined) delete match()[name];
        else match()[name] = value;
        if (optional && !Object.keys(match()).length) delete container[key];
        changed();
      };
      const current = container[key] || {};
      for (const spec of table) {
        const at = `${path}.${spec.key}`;
        const value = current[spec.key];
        if (spec.input === "choice") {
          box.append(field(spec.label, select(at, spec.choices, value, (v) => set(spec.key, v || undefined))));
        } else if (spec.input === "port" || spec.input === "count") {
          box.append(field(spec.label, number(at, value, (v) => set(spec.key, v))));
        } else if (spec.input === "flag") {
          const options = [{ key: "true", label: "yes" }, { key: "false", label: "no" }];
          const shown = value === undefined ? "" : String(value);
          box.append(field(spec.label, select(at, options, shown, (v) => set(spec.key, v === "" ? undefined : v === "true"))));
        } else if (spec.input === "none") {
          const input = el("input", { type: "checkbox", "data-path": at, checked: value === null });
          input.addEventListener("change", () => set(spec.key, input.checked ? null : undefined));
          box.append(el("div", { class: "check-field" }, el("label", {}, input, ` ${spec.label}`)));
        } else if (spec.input === "states" || spec.input === "flags") {
          const chosen = value === undefined ? [] : typeof value === "string" ? [value] : value;
          box.append(
            boxes(at, spec.label, spec.choices, chosen, (names) => {
              if (!names.length) set(spec.key, undefined);
              else if (spec.input === "states" && names.length === 1) set(spec.key, names[0]);
              else set(spec.key, names);
            }),
          );
        } else {
          const input = el("input", { type: "text", "data-path": at, value: value === undefined ? "" : JSON.stringify(value) });
          input.addEventListener("change", () => {
            let parsed = input.value.trim();
            if (parsed === "") return set(spec.key, undefined);
            try {
              parsed = JSON.parse(parsed);
            } catch {
              // kept as typed: the check's rule says what it wants
            }
            set(spec.key, parsed);
          });
          box.append(field(`${spec.label} (JSON)`, input));
        }
      }
      return box;
    }

    // One check (or one part of an all/any, or a `while`): its kind, then its fields.
    // `put(newCheck)` replaces it where it stands.
    function part(current, put, path, onlyState = false) {
      const kind = kindOf(current);
      const box = el("fieldset", { class: "check-part" });
      const kinds = schema.kinds.filter((k) => !onlyState || schema.stateKinds.includes(k.key) || ["all", "any"].includes(k.key));
      const kindSelect = select(`${path}.kind`, kinds, kind, (value) => {
        put(fresh(value));
        redraw(`${path}.kind`);
      }, true);
      box.append(field("The check", kindSelect, true));
      const value = current[kind];
      const at = `${path}.${kind}`;
      if (["socket", "no_socket", "sockets"].includes(kind)) {
        box.append(matchFields(current, kind, tables.socket, at));
        if (kind === "sockets") {
          box.append(
            el(
              "div",
              { class: "check-match" },
              field(schema.labels.at_least, number(`${path}.at_least`, current.at_least, (v) => {
                current.at_least = v;
                changed();
              }, true)),
              field(schema.labels.distinct, select(`${path}.distinct`, schema.distinct, current.distinct, (v) => {
                if (v) current.distinct = v;
                else delete current.distinct;
                changed();
              })),
            ),
          );
        }
      } else if (kind === "packet") {
        box.append(matchFields(current, kind, tables.packet, at));
      } else if (kind === "connection") {
        for (const end of ["client", "accepted"]) {
          const endBox = el("fieldset", { class: "check-end" }, el("legend", { text: end === "client" ? "The client end" : "The accepted end" }));
          endBox.append(matchFields(value, end, tables.socket, `${at}.${end}`, true));
          box.append(endBox);
        }
      } else if (kind === "picked") {
        const what = Object.keys(value)[0];
        box.append(
          field("What the learner picks", select(`${at}.what`, schema.pickable, what, (v) => {
            current.picked = { [v]: {} };
            redraw(`${at}.what`);
          }, true)),
          matchFields(value, what, tables[what], `${at}.${what}`),
        );
      } else if (kind === "error") {
        const code = el("input", { type: "text", "data-path": at, value, required: true, placeholder: "ECONNREFUSED", size: 16 });
        code.addEventListener("change", () => {
          current.error = code.value.trim();
          changed();
        });
        const whileBox = el("div", { class: "check-while" });
        const toggle = el("input", { type: "checkbox", "data-path": `${path}.while.on`, checked: "while" in current });
        toggle.addEventListener("change", () => {
          if (toggle.checked) current.while = fresh("socket");
          else delete current.while;
          redraw(`${path}.while.on`);
        });
        whileBox.append(el("label", {}, toggle, ` ${schema.labels.while}…`));
        if ("while" in current) {
          whileBox.append(part(current.while, (next) => { current.while = next; }, `${path}.while`, true));
        }
        box.append(
          el(
            "div",
            { class: "check-match" },
            field("Error code", code),
            field(schema.labels.op, select(`${path}.op`, schema.ops, current.op, (v) => {
              if (v) current.op = v;
              else delete current.op;
              changed();
            })),
          ),
          whileBox,
        );
      } else if (kind === "ok") {
        box.append(field(schema.labels.op, select(at, schema.ops, value, (v) => {
          current.ok = v;
          changed();
        }, true)));
      } else {
        const list = el("ol", { class: "check-parts" });
        value.forEach((sub, n) => {
          const remove = el("button", { type: "button", class: "button", text: `Remove condition ${n + 1}` });
          remove.addEventListener("click", () => {
            value.splice(n, 1);
            redraw(`${at}.add`);
          });
          list.append(el("li", {}, part(sub, (next) => { value[n] = next; }, `${at}.${n}`, onlyState), remove));
        });
        const add = el("button", { type: "button", class: "button", "data-path": `${at}.add`, text: "Add a condition" });
        add.addEventListener("click", () => {
          value.push(fresh("socket"));
          redraw(`${at}.${value.length - 1}.kind`);
        });
        box.append(list, add);
      }
      return box;
    }

    function fresh(kind) {
      if (kind === "sockets") return { sockets: {}, at_least: 2 };
      if (kind === "connection") return { connection: {} };
      if (kind === "error") return { error: "" };
      if (kind === "ok") return { ok: schema.ops[0] };
      if (kind === "picked") return { picked: { [schema.pickable[0]]: {} } };
      if (kind === "all" || kind === "any") return { [kind]: [{ socket: {} }] };
      return { [kind]: {} };
    }

    function draw() {
      fields.replaceChildren(part(check, (next) => { check = next; }, "check"));
    }

    function load() {
      const text = textarea.value.trim();
      fields.replaceChildren();
      if (!text) {
        check = fresh("socket");
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
      if (!checkShowable(check)) {
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
        const answer = await ask(true);
        showErrors(answer);
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

  const setUpAll = () => document.querySelectorAll("textarea[data-check-json]").forEach(setUp);
  setUpAll();
  // A step added with "Add another step" brings its textarea: give it fields too.
  new MutationObserver(setUpAll).observe(document.getElementById("content-main") || document.body, {
    childList: true,
    subtree: true,
  });
}
