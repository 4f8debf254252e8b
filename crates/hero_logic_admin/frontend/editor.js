// The code editor of the logic view: CodeMirror 6 with Python. esbuild bundles this file into
// dist/editor.js (npm ci && npm run build); the admin compiles the bundle in and logic.js uses
// window.HeroLogicEditor when it is there (a plain text area with line numbers otherwise).
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

// The page's CSP lets in CodeMirror's one <style> element by this nonce (fresh per page).
function styleNonce() {
  const meta = document.querySelector('meta[name="hero-logic-style-nonce"]');
  return meta ? meta.content : '';
}

function create(parent, options) {
  const opts = options || {};
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: opts.doc || '',
      extensions: [
        basicSetup,
        python(),
        errorLine,
        EditorView.cspNonce.of(styleNonce()),
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
