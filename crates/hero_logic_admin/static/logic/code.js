// The Code tab: the viewed version's source in CodeMirror 6 (the bundle /static/editor.js,
// window.HeroLogicEditor) when the admin was built with it, else the page's text area with a
// line-number gutter. Save creates a new version (Python, or bound in mapping mode); a parse
// error is marked at its line and the text stays. A source that declares several logics is
// offered a split first (the daemon's logic_split: each logic its own Logic, this one calling
// them with logic.invoke). Slices: viewed, code, codeError.

import { rpc, sourceLines } from './api.js';
import { byId, clear, el } from './dom.js';
import { logicHref } from './format.js';
import { bindingParams, mappingTarget, showMappingError } from './mapping.js';
import { isBound, page, store } from './state.js';

const codeBox = byId('code-editor');
const codeText = byId('code-text');
let editor = null;
let dirty = false;   // edits not saved: a picked version does not replace them

function plainEditor(textarea) {
  const gutter = el('pre', { class: 'code-gutter', 'aria-hidden': 'true' });
  const wrap = el('div', { class: 'code-plain' });
  textarea.parentNode.insertBefore(wrap, textarea);
  wrap.appendChild(gutter);
  wrap.appendChild(textarea);
  let errorAt = 0;
  function numbers() {
    const n = textarea.value.split('\n').length;
    clear(gutter);
    for (let i = 1; i <= n; i++) gutter.appendChild(el('span', { class: i === errorAt ? 'ln-error' : null, text: String(i) }));
    gutter.scrollTop = textarea.scrollTop;
  }
  textarea.addEventListener('input', function () { dirty = true; numbers(); });
  textarea.addEventListener('scroll', function () { gutter.scrollTop = textarea.scrollTop; });
  numbers();
  return {
    kind: 'plain',
    getValue: function () { return textarea.value; },
    setValue: function (text) { textarea.value = text; errorAt = 0; numbers(); },
    scrollToLine: function (line, column) {
      const lines = textarea.value.split('\n');
      line = Math.max(1, Math.min(lines.length, line | 0));
      let pos = 0;
      for (let i = 0; i < line - 1; i++) pos += lines[i].length + 1;
      pos += Math.min(lines[line - 1].length, Math.max(0, (column || 1) - 1));
      textarea.setSelectionRange(pos, pos);
      const lh = parseFloat(window.getComputedStyle(textarea).lineHeight) || 18;
      textarea.scrollTop = Math.max(0, (line - 1) * lh - textarea.clientHeight / 2);
      gutter.scrollTop = textarea.scrollTop;
    },
    markError: function (line) { errorAt = line || 0; numbers(); },
    focus: function () { textarea.focus(); }
  };
}

function setupEditor() {
  let made = null;
  if (window.HeroLogicEditor && typeof window.HeroLogicEditor.create === 'function') {
    const doc = codeText.value;
    codeText.remove();
    try {
      made = window.HeroLogicEditor.create(codeBox, { doc: doc, label: 'Python source', onChange: function () { dirty = true; } });
    } catch (e) {
      clear(codeBox).appendChild(codeText);
      made = null;
    }
  }
  editor = made || plainEditor(codeText);
  codeBox.setAttribute('data-editor', editor.kind);
}

// A flow label shows its line in the code too, when the code shows that version.
export function scrollCodeToLine(versionSid, line) {
  if (editor && versionSid === store.get().code.versionSid) editor.scrollToLine(line);
}

function markCodeError(line) {
  if (line) codeBox.setAttribute('data-error-line', String(line));
  else codeBox.removeAttribute('data-error-line');
  editor.markError(line || 0);
}

function renderCodeError(state) {
  const err = state.codeError;
  const box = clear(byId('code-error'));
  if (!err) { box.hidden = true; markCodeError(0); return; }
  const data = err.data || {};
  const where = data.line ? 'Line ' + data.line + (data.column ? ', column ' + data.column : '') + ': ' : '';
  box.appendChild(el('strong', { text: where }));
  box.appendChild(document.createTextNode(err.message || String(err)));
  if (data.hint) box.appendChild(el('span', { class: 'muted', text: ' — ' + data.hint }));
  box.hidden = false;
  if (data.line) {
    markCodeError(data.line);
    editor.scrollToLine(data.line, data.column);
  } else {
    markCodeError(0);
  }
}

function aboutText(code, version) {
  if (code.note) return code.note;
  if (code.mode === 'mapping' && !isBound(version)) return 'A new bound version: it runs another Logic with mapped inputs and outputs.';
  if (!version) return '';
  return isBound(version)
    ? 'Version ' + version.label + ' is ' + version.kind + ': it runs that Logic with mapped inputs and outputs.'
    : 'Python source of ' + version.label;
}

function renderCodeBar(state) {
  const code = state.code;
  const version = page.versionsBySid[code.versionSid];
  byId('mode-python').setAttribute('aria-pressed', code.mode === 'python' ? 'true' : 'false');
  byId('mode-mapping').setAttribute('aria-pressed', code.mode === 'mapping' ? 'true' : 'false');
  codeBox.hidden = code.mode !== 'python';
  byId('code-tab-label').textContent = version ? version.label : '';
  byId('code-about').textContent = aboutText(code, version);
}

function setMode(mode) {
  store.set({ code: Object.assign({}, store.get().code, { mode: mode, note: '' }) });
}

// Shows the viewed version's source in the editor, unless there are unsaved edits.
function loadCode(state) {
  const versionSid = state.viewed.version.sid;
  const code = state.code;
  if (!versionSid || versionSid === code.versionSid) return;
  const version = page.versionsBySid[versionSid];
  if (dirty) {
    store.set({ code: Object.assign({}, code, { note: 'Unsaved edits kept; save them or reload to see ' + ((version || {}).label || versionSid) + '.' }) });
    return;
  }
  store.set({ code: { versionSid: versionSid, mode: isBound(version) ? 'mapping' : 'python', note: '' } });
  sourceLines(versionSid).then(function (lines) {
    if (store.get().code.versionSid !== versionSid || dirty) return;
    editor.setValue(lines.join('\n'));
    dirty = false;
    store.set({ codeError: null });
  }, function (err) { store.set({ codeError: err }); });
}

function setupCodeSave() {
  const form = byId('code-save-form');
  const toggle = byId('code-save');
  function open(on) {
    form.hidden = !on;
    toggle.setAttribute('aria-expanded', on ? 'true' : 'false');
    if (on) byId('code-label').focus();
  }
  toggle.addEventListener('click', function () { open(form.hidden); });
  byId('code-save-cancel').addEventListener('click', function () { open(false); toggle.focus(); });
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    const submit = byId('code-save-submit');
    submit.disabled = true;
    store.set({ codeError: null });
    const label = byId('code-label').value.trim();
    const bound = store.get().code.mode === 'mapping';
    if (bound && !mappingTarget()) {
      submit.disabled = false;
      store.set({ codeError: { message: 'Pick the target Logic of the mapping first.', data: {} } });
      return;
    }
    const save = function (source) {
      return rpc('LogicService.logic_create_version', {
        logic: page.logic.sid,
        python_source: bound ? undefined : source,
        binding: bound ? bindingParams() : undefined,
        version_label: label || undefined,
        notes: byId('code-notes').value.trim(),
        make_current: byId('code-current').checked
      }).then(function (version) {
        dirty = false;
        location.assign(logicHref(page.logic.sid, '') + '?version=' + encodeURIComponent(version.sid) + '&tab=code');
      }, function (err) {
        submit.disabled = false;
        store.set({ codeError: err });
        if (bound) showMappingError(err);
      });
    };
    if (bound) { save(); return; }
    offerSplit(editor.getValue(), save, function () { submit.disabled = false; });
  });
}

// Asks the daemon how the source splits; with more than one logic in it, shows the offer and
// lets the person pick: split (each part its own Logic, then this one's new version) or one.
function offerSplit(source, save, cancelled) {
  const offer = byId('code-split-offer');
  rpc('LogicService.logic_split', { python_source: source }).then(function (split) {
    const parts = split.parts || [];
    if (parts.length < 2) return save(source);
    const entry = parts.find(function (p) { return p.entry; }) || parts[0];
    const others = parts.filter(function (p) { return p !== entry; });
    byId('code-split-text').textContent = 'This source declares ' + parts.length + ' logics. Split it: '
      + others.map(function (p) { return p.logic_name; }).join(', ')
      + (others.length === 1 ? ' becomes its own Logic' : ' become Logics of their own')
      + ' and this version calls ' + (others.length === 1 ? 'it' : 'them') + ' with logic.invoke.';
    const list = byId('code-split-parts');
    clear(list);
    parts.forEach(function (p) {
      list.appendChild(el('li', { text: p.logic_name + (p === entry ? ' (this Logic\'s new version)' : ' (created, or a new version if it exists)') }));
    });
    (split.notes || []).forEach(function (note) { list.appendChild(el('li', { class: 'muted', text: note })); });
    offer.hidden = false;
    byId('code-split-do').focus();
    const done = function () {
      offer.hidden = true;
      byId('code-split-do').onclick = null;
      byId('code-split-one').onclick = null;
    };
    byId('code-split-do').onclick = function () {
      done();
      storeParts(others).then(function () { return save(entry.python_source); }, function (err) {
        store.set({ codeError: err });
        cancelled();
      });
    };
    byId('code-split-one').onclick = function () { done(); save(source); };
  }, function () {
    // The daemon could not split it (a syntax error, say): saving reports why.
    save(source);
  });
}

// Each split-out logic as a new Logic, or as a new current version of the Logic of that name.
function storeParts(parts) {
  return parts.reduce(function (previous, part) {
    return previous.then(function () {
      return rpc('LogicService.logic_create', { name: part.logic_name, description: '', python_source: part.python_source })
        .catch(function (err) {
          if (err.code !== -32009) throw err;
          return rpc('LogicService.logic_create_version', { logic: part.logic_name, python_source: part.python_source });
        });
    });
  }, Promise.resolve());
}

export function mountCode() {
  setupEditor();
  setupCodeSave();
  byId('mode-python').addEventListener('click', function () { setMode('python'); });
  byId('mode-mapping').addEventListener('click', function () { setMode('mapping'); });
  store.subscribe(['viewed'], loadCode);
  store.subscribe(['code'], renderCodeBar);
  store.subscribe(['codeError'], renderCodeError);
  renderCodeBar(store.get());
}
