// The lesson body's editor: EasyMDE (vendored, see vendor/easymde-*/; no build step) with
// its preview beside the text. The preview is rendered by the site itself: each change
// is posted (with the form's CSRF token) to the admin's render endpoint, which uses the
// lessons' own Markdown renderer, glossary links and sanitiser (lessons/markdown.py), so
// what staff see is what learners get; EasyMDE's own Markdown parser is never used.
// The HTML put in the preview is the server's sanitised output, as on lesson pages.

const DELAY_MS = 250; // wait for a pause in typing before asking the server

const textarea = document.querySelector("textarea[data-markdown-editor]");

if (textarea && window.EasyMDE) {
  const form = textarea.form;
  const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const url = textarea.dataset.previewUrl;
  let rendered = null; // the text the preview shows
  let timer = null;
  let pending = null;

  async function render(text, preview) {
    pending?.abort();
    pending = new AbortController();
    const body = new URLSearchParams({ body: text });
    try {
      const response = await fetch(url, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": token, Accept: "application/json" },
        credentials: "same-origin",
        signal: pending.signal,
      });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      const data = await response.json();
      preview.innerHTML = data.html; // sanitised by the server (lessons.markdown.sanitise)
      preview.dataset.renderedText = text;
      rendered = text;
    } catch (error) {
      if (error.name === "AbortError") return;
      const message = document.createElement("p");
      message.className = "errornote";
      message.textContent = `The preview could not be updated (${error.message}); your text is kept.`;
      preview.replaceChildren(message);
      rendered = null;
    }
  }

  // Words, not Font Awesome icons: no font from another site, and a name for every button.
  const button = (name, action, text, title, className) => ({
    name,
    action,
    text,
    title,
    ...(className ? { className } : {}), // EasyMDE refuses an empty class name
  });
  const E = window.EasyMDE;
  const editor = new E({
    element: textarea,
    forceSync: true, // the separate-tab Preview button and Save post the textarea
    autoDownloadFontAwesome: false, // nothing from other sites (Content-Security-Policy)
    spellChecker: false,
    // CodeMirror's contenteditable input: screen readers read the text, and the
    // scrolled area holds the focusable element (axe-core: scrollable regions).
    inputStyle: "contenteditable",
    nativeSpellcheck: true,
    sideBySideFullscreen: false,
    // In pixels: EasyMDE sizes the preview from this number. The text scrolls inside,
    // and the preview follows it (EasyMDE keeps the two scrolled together).
    maxHeight: `${Math.max(420, Math.round(window.innerHeight * 0.7))}px`,
    status: ["lines", "words", "cursor"],
    toolbar: [
      button("bold", E.toggleBold, "B", "Bold"),
      button("italic", E.toggleItalic, "I", "Italic"),
      button("section", E.toggleHeading2, "Heading", "Section heading (##)"),
      button("subsection", E.toggleHeading3, "Subheading", "Subsection heading (###)"),
      "|",
      button("code", E.toggleCodeBlock, "Code", "Code"),
      button("quote", E.toggleBlockquote, "Quote", "Quote"),
      button("unordered-list", E.toggleUnorderedList, "• List", "Bulleted list"),
      button("ordered-list", E.toggleOrderedList, "1. List", "Numbered list"),
      button("link", E.drawLink, "Link", "Link"),
      button("table", E.drawTable, "Table", "Table"),
      "|",
      button("side-by-side", E.toggleSideBySide, "Preview beside", "Preview beside the text", "no-disable"),
      button("fullscreen", E.toggleFullScreen, "Full screen", "Full screen", "no-disable"),
    ],
    previewRender(text, preview) {
      if (text === rendered) return null; // e.g. the cursor moved: nothing to redo
      clearTimeout(timer);
      timer = setTimeout(() => render(text, preview), DELAY_MS);
      return null; // the preview keeps what it shows until the server answers
    },
  });

  // EasyMDE takes its buttons out of the tab order; staff using a keyboard need them.
  for (const el of editor.gui.toolbar.querySelectorAll("button")) el.tabIndex = 0;
  editor.gui.toolbar.setAttribute("role", "toolbar");
  editor.gui.toolbar.setAttribute("aria-label", "Formatting");
  editor.codemirror.getInputField().setAttribute("aria-labelledby", `${textarea.id}-label`);
  const label = document.querySelector(`label[for='${textarea.id}']`);
  if (label) label.id = `${textarea.id}-label`;
  const preview = editor.gui.sideBySide;
  preview.setAttribute("aria-label", "Preview, as learners will see it");
  preview.setAttribute("role", "region");
  preview.tabIndex = 0; // it scrolls: keyboard users need to reach it
  preview.classList.add("lesson-body-preview");
  editor.toggleSideBySide();
}
