// The code editor of the logic view: CodeMirror 6 with Python. esbuild bundles this file into
// dist/editor.js (npm ci && npm run build); the admin compiles the bundle in and logic.js uses
// window.HeroLogicEditor when it is there (a plain text area with line numbers otherwise).
// It stays a classic script (not a module): logic.js reads window.HeroLogicEditor.
import { EditorView, basicSetup } from 'codemirror';
import { python } from '@codemirror/lang-python';
import { EditorState, StateEffect, StateField } from '@codemirror/state';
import { Decoration } from '@codemirror/view';

const setErrorLine = StateEffect.define();

const errorLine = StateField.define({
  create() { return Decoration.none; },
  update(deco, tr) {
    deco = deco.map(tr.changes);
    for (const effect of tr.effects) {
      if (effect.is(setErrorLine)) {
        const line = effect.value;
        deco = line ? Decoration.set([Decoration.line({ class: 'cm-error-line' }).range(tr.state.doc.line(line).from)]) : Decoration.none;
      }
    }
    return deco;
  },
  provide: (field) => EditorView.decorations.from(field),
});

// The editor's own styles. CodeMirror puts its theme in a <style> element when it sits in
// the document, which a Content-Security-Policy without 'unsafe-inline' refuses; inside a
// shadow root it uses a constructed style sheet instead, which the policy allows. So the
// editor lives in a shadow root, with these rules (and CodeMirror's) adopted there.
const EDITOR_CSS = `
:host { display: flex; flex: 1; min-width: 0; height: 100%; }
.cm-editor { flex: 1; min-width: 0; height: 100%; font-size: 12.5px; }
.cm-scroller { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.cm-error-line { background: #fde2e2 !important; }
`;

function shadowRoot(parent) {
  const host = document.createElement('div');
  host.className = 'cm-host';
  parent.appendChild(host);
  const root = host.attachShadow({ mode: 'open' });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(EDITOR_CSS);
  root.adoptedStyleSheets = [sheet];
  return root;
}

function create(parent, options) {
  const opts = options || {};
  const root = shadowRoot(parent);
  const view = new EditorView({
    parent: root,
    root,
    state: EditorState.create({
      doc: opts.doc || '',
      extensions: [
        basicSetup,
        python(),
        errorLine,
        EditorView.contentAttributes.of({ 'aria-label': opts.label || 'Python source' }),
        EditorView.updateListener.of((update) => { if (update.docChanged && opts.onChange) opts.onChange(); }),
      ],
    }),
  });
  function clampLine(n) { return Math.max(1, Math.min(view.state.doc.lines, n | 0)); }
  return {
    kind: 'codemirror',
    view,
    getValue() { return view.state.doc.toString(); },
    setValue(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, effects: setErrorLine.of(0) });
    },
    scrollToLine(n, column) {
      const line = view.state.doc.line(clampLine(n));
      const pos = Math.min(line.to, line.from + Math.max(0, (column || 1) - 1));
      view.dispatch({ selection: { anchor: pos }, effects: EditorView.scrollIntoView(pos, { y: 'center' }) });
    },
    markError(n) { view.dispatch({ effects: setErrorLine.of(n ? clampLine(n) : 0) }); },
    focus() { view.focus(); },
  };
}

window.HeroLogicEditor = { create };
