// Elements the playground's views and the packets panel draw with: one plain ES module.
//
// Rules:
// - Text is only ever set as text (textContent, an Option's label), never parsed as
//   markup: what the server sends (payloads, names, messages) cannot become markup.
// - Counts are written as the page writes them everywhere (1,024).

const SVG = "http://www.w3.org/2000/svg";

// 1,024: a count as the page writes it.
export const count = (n) => Number(n).toLocaleString("en-GB");

// Sockets in the order they were made (s1, s2, …, s10).
export const byId = (a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1));

export const secondsLeft = (at) => Math.max(0, Math.ceil((at - Date.now()) / 1000));

export function cell(text, className = "", title = "", label = "") {
  const td = document.createElement("td");
  if (className) td.className = className;
  if (title) td.title = title;
  if (label) td.dataset.label = label; // a phone's card names each part
  td.textContent = text;
  return td;
}

export function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function element(tag, className = "", text = undefined) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Words for a screen reader only.
export function hidden(text) {
  return element("span", "visually-hidden", text);
}
