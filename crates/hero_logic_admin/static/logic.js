// The logic view: play bar (typed inputs, examples, recent Plays, Run), live trace with pause
// forms, output cards, the Play tree and the stats sidebar. Everything starts from the JSON
// the page carries (#boot); an overlaid Play comes from /api/plays/{sid}/overlay and stays
// live through the Server-Sent Events of /api/plays/{sid}/events. No framework, no globals.
(function () {
  'use strict';

  var TERMINAL = { success: true, failed: true, cancelled: true, timed_out: true };
  var STATUS_LABEL = {
    pending: 'pending', running: 'running', awaiting_resume: 'waiting for an answer',
    success: 'success', failed: 'failed', cancelled: 'cancelled', timed_out: 'timed out'
  };
  var MAX_TREE_NODES = 600;
  var MAX_TRACE_ROWS = 400;
  var MULTILINE_NAMES = /^(text|prompt|body|content|message|source|code|notes|document|query|instructions|description)$/;

  // ---------------------------------------------------------------- small helpers

  function byId(id) { return document.getElementById(id); }

  // el('div', {class: 'x', text: 'hi', onclick: fn, 'aria-label': '...'}, [children])
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === undefined || value === null || value === false) return;
        if (key === 'text') node.textContent = value;
        else if (key === 'class') node.className = value;
        else if (key.slice(0, 2) === 'on' && typeof value === 'function') node.addEventListener(key.slice(2), value);
        else if (key === 'value') node.value = value;
        else if (key === 'checked') node.checked = !!value;
        else node.setAttribute(key, value === true ? '' : String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function svgEl(tag, attrs) {
    var node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function isTerminal(status) { return TERMINAL[status] === true; }

  function fmtDuration(ms) {
    ms = Math.max(0, Math.round(ms || 0));
    if (ms < 1000) return ms + ' ms';
    if (ms < 60000) { var s = ms / 1000; return (s < 10 ? s.toFixed(2) : s.toFixed(1)) + ' s'; }
    if (ms < 3600000) return Math.floor(ms / 60000) + ' min ' + Math.floor((ms % 60000) / 1000) + ' s';
    return Math.floor(ms / 3600000) + ' h ' + Math.floor((ms % 3600000) / 60000) + ' min';
  }

  function relTime(ms) {
    if (!ms) return 'never';
    var secs = Math.max(0, Math.floor((Date.now() - ms) / 1000));
    if (secs < 10) return 'just now';
    if (secs < 60) return secs + ' s ago';
    if (secs < 3600) return Math.floor(secs / 60) + ' min ago';
    if (secs < 86400) return Math.floor(secs / 3600) + ' h ago';
    if (secs < 30 * 86400) return Math.floor(secs / 86400) + ' d ago';
    return new Date(ms).toISOString().slice(0, 10);
  }

  function pad(n, width) { var s = String(n); while (s.length < width) s = '0' + s; return s; }

  function clock(ms) {
    if (!ms) return '';
    var d = new Date(ms);
    return pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) + '.' + pad(d.getMilliseconds(), 3);
  }

  function fullTime(ms) { return ms ? new Date(ms).toLocaleString() : ''; }

  function fmtCost(usd) {
    usd = usd || 0;
    if (usd === 0) return '$0';
    if (usd < 0.01) return '$' + usd.toFixed(4);
    return '$' + usd.toFixed(usd < 1 ? 3 : 2);
  }

  function fmtInt(n) { return (n || 0).toLocaleString('en-US'); }

  function percent(rate) { return Math.round(Math.max(0, Math.min(1, rate || 0)) * 100) + '%'; }

  function statusLabel(status) { return STATUS_LABEL[status] || status || ''; }

  function dot(status) { return el('span', { class: 'dot', 'aria-hidden': 'true' }); }

  function pauseIcon() { return el('span', { class: 'i-pause', 'aria-hidden': 'true' }); }

  function statusPill(status) {
    return el('span', { class: 'pill status status-' + status }, [dot(status), statusLabel(status)]);
  }

  function playDuration(play) {
    if (isTerminal(play.status)) return play.duration_ms || Math.max(0, (play.completed_at || 0) - (play.started_at || 0));
    if (play.started_at) return Date.now() - play.started_at;
    return 0;
  }

  // A duration element that keeps counting while its Play runs (see tick()).
  function durationNode(play, cls) {
    var running = !isTerminal(play.status) && play.started_at && play.status !== 'awaiting_resume';
    var node = el('span', { class: cls, text: play.started_at || isTerminal(play.status) ? fmtDuration(playDuration(play)) : '' });
    if (running) node.setAttribute('data-since', String(play.started_at));
    return node;
  }

  function logicHref(logicSid, playSid) {
    return '/logics/' + encodeURIComponent(logicSid) + (playSid ? '?play=' + encodeURIComponent(playSid) : '');
  }

  // JSON-RPC through the admin's /rpc proxy. Rejects with {code, message, data}.
  var rpcId = 0;
  function rpc(method, params) {
    rpcId += 1;
    return fetch('/rpc', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: rpcId, method: method, params: params || {} })
    }).then(function (response) {
      return response.json().catch(function () {
        throw { code: 0, message: 'the admin answered HTTP ' + response.status + ' without JSON', data: {} };
      });
    }, function (err) {
      throw { code: 0, message: 'cannot reach the admin: ' + err, data: {} };
    }).then(function (answer) {
      if (answer.error) throw { code: answer.error.code, message: answer.error.message, data: answer.error.data || {} };
      return answer.result;
    });
  }

  function getJSON(url) {
    return fetch(url, { headers: { accept: 'application/json' } }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw { message: body.error || ('HTTP ' + response.status), data: { hint: body.hint || '' } };
        return body;
      });
    });
  }

  function errorText(err) {
    if (!err) return 'unknown error';
    var text = err.message || String(err);
    if (err.data && err.data.hint) text += ' — ' + err.data.hint;
    return text;
  }

  // ---------------------------------------------------------------- page state

  var boot = JSON.parse(byId('boot').textContent);
  var logic = boot.logic;
  var versions = boot.versions || [];
  var versionsBySid = {};
  versions.forEach(function (v) { versionsBySid[v.sid] = v; });
  var currentVersion = versions.filter(function (v) { return v.current; })[0] || versions[0] || { inputs: [], outputs: [], label: '' };
  // The version the play bar runs: the current one unless a version of the list was picked.
  var runVersion = currentVersion;

  var state = {
    stats: boot.stats,
    examples: boot.examples || [],
    plays: boot.plays || [],
    overlaySid: '',
    root: null,          // the overlaid Play
    descendants: [],
    ancestors: [],
    stream: null,
    ticker: 0,
    overlayLoad: 0,      // increments per overlay, so late answers for an old one are dropped
    pauseForms: {}       // key -> form element, kept across live updates
  };

  // ---------------------------------------------------------------- input widgets

  var fieldsBox = byId('input-fields');
  var runForm = byId('run-form');
  var runButton = byId('run-button');
  var runMsg = byId('run-msg');

  function inputId(name) { return 'in-' + name.replace(/[^A-Za-z0-9_-]/g, '_'); }

  function isMultiline(field) {
    if (field.field_type !== 'string') return false;
    if (typeof field['default'] === 'string' && field['default'].indexOf('\n') >= 0) return true;
    return MULTILINE_NAMES.test(field.name);
  }

  function widgetKind(field) {
    if (field.options && field.options.length) return 'select';
    switch (field.field_type) {
      case 'boolean': return 'checkbox';
      case 'integer': case 'number': return 'number';
      case 'object': case 'array': case 'any': return 'json';
      default: return isMultiline(field) ? 'textarea' : 'text';
    }
  }

  function isRequired(field) { return !!field.required && field['default'] === undefined; }

  function renderInputs() {
    clear(fieldsBox);
    var fields = runVersion.inputs || [];
    if (!fields.length) {
      fieldsBox.appendChild(el('p', { class: 'no-inputs', text: 'This Logic takes no inputs. Press Run.' }));
      return;
    }
    fields.forEach(function (field) {
      var id = inputId(field.name);
      var kind = widgetKind(field);
      var required = isRequired(field);
      var described = [];
      if (field.description) described.push(id + '-help');
      described.push(id + '-err');
      var common = {
        id: id, name: field.name, 'data-field': field.name, 'data-kind': kind,
        'aria-describedby': described.join(' '), 'aria-required': required ? 'true' : null
      };
      var widget;
      if (kind === 'select') {
        var options = [];
        if (!required) options.push(el('option', { value: '', text: '— not set —' }));
        else if (field['default'] === undefined) options.push(el('option', { value: '', text: 'Choose…' }));
        field.options.forEach(function (o) { options.push(el('option', { value: o, text: o })); });
        widget = el('select', common, options);
      } else if (kind === 'checkbox') {
        common.type = 'checkbox';
        widget = el('input', common);
      } else if (kind === 'number') {
        common.type = 'number';
        common.step = field.field_type === 'integer' ? '1' : 'any';
        common.inputmode = field.field_type === 'integer' ? 'numeric' : 'decimal';
        widget = el('input', common);
      } else if (kind === 'json') {
        common['class'] = 'code';
        common.rows = field.field_type === 'any' ? 2 : 3;
        common.spellcheck = 'false';
        common.placeholder = field.field_type === 'array' ? '[ ]  JSON array' : field.field_type === 'object' ? '{ }  JSON object' : 'JSON, or plain text';
        widget = el('textarea', common);
      } else if (kind === 'textarea') {
        common.rows = 3;
        widget = el('textarea', common);
      } else {
        common.type = 'text';
        common.autocomplete = 'off';
        widget = el('input', common);
      }
      var label = el('label', { class: 'flabel', 'for': id }, [
        field.name,
        required ? el('span', { class: 'req', 'aria-hidden': 'true', text: '*' }) : null,
        required ? el('span', { class: 'sr-only', text: '(required)' }) : null,
        el('span', { class: 'ftype', text: field.field_type + (field.options && field.options.length ? ' · choice' : '') })
      ]);
      var body = kind === 'checkbox'
        ? el('div', { class: 'check' }, [widget, el('span', { class: 'muted', text: 'true when checked' })])
        : widget;
      fieldsBox.appendChild(el('div', { class: 'field', 'data-name': field.name }, [
        label,
        body,
        field.description ? el('p', { class: 'help', id: id + '-help', text: field.description }) : null,
        el('p', { class: 'field-error', id: id + '-err', hidden: true })
      ]));
      if (field['default'] !== undefined) setWidget(field, widget, field['default']);
    });
  }

  function setWidget(field, widget, value) {
    var kind = widget.getAttribute('data-kind');
    if (kind === 'checkbox') { widget.checked = value === true || value === 'true'; return; }
    if (value === undefined || value === null) { widget.value = ''; return; }
    if (kind === 'json') {
      if (field.field_type === 'any' && typeof value === 'string' && !parsesAsJson(value)) widget.value = value;
      else widget.value = JSON.stringify(value, null, 2);
      return;
    }
    widget.value = typeof value === 'string' ? value : String(value);
  }

  function parsesAsJson(text) { try { JSON.parse(text); return true; } catch (e) { return false; } }

  function widgetFor(name) { return fieldsBox.querySelector('[data-field="' + CSS.escape(name) + '"]'); }

  // Fills the form from saved or past inputs; fields the values leave out keep their default.
  function fillInputs(values) {
    renderInputs();
    (runVersion.inputs || []).forEach(function (field) {
      if (values && Object.prototype.hasOwnProperty.call(values, field.name)) {
        var widget = widgetFor(field.name);
        if (widget) setWidget(field, widget, values[field.name]);
      }
    });
  }

  function setFieldError(name, message) {
    var widget = widgetFor(name);
    if (!widget) return false;
    var box = byId(widget.id + '-err');
    widget.setAttribute('aria-invalid', message ? 'true' : 'false');
    if (box) { box.textContent = message || ''; box.hidden = !message; }
    return true;
  }

  function clearFieldErrors() {
    (runVersion.inputs || []).forEach(function (field) { setFieldError(field.name, ''); });
  }

  // Reads and checks every field: {values, errors: [[name, message]]}.
  function readInputs() {
    var values = {};
    var errors = [];
    (runVersion.inputs || []).forEach(function (field) {
      var widget = widgetFor(field.name);
      if (!widget) return;
      var kind = widget.getAttribute('data-kind');
      var required = isRequired(field);
      if (kind === 'checkbox') { values[field.name] = widget.checked; return; }
      var raw = widget.value;
      var text = kind === 'textarea' || kind === 'text' ? raw : raw.trim();
      if (text === '' || (kind === 'text' && raw.trim() === '' && required)) {
        if (required) errors.push([field.name, field.name + ' is required']);
        return;
      }
      if (kind === 'number') {
        var n = Number(text);
        if (!isFinite(n)) { errors.push([field.name, 'enter a number']); return; }
        if (field.field_type === 'integer' && Math.floor(n) !== n) { errors.push([field.name, 'enter a whole number']); return; }
        values[field.name] = n;
      } else if (kind === 'json') {
        var parsed;
        try { parsed = JSON.parse(text); } catch (e) {
          if (field.field_type === 'any') { values[field.name] = raw; return; }
          errors.push([field.name, 'not valid JSON: ' + e.message]);
          return;
        }
        if (field.field_type === 'array' && !Array.isArray(parsed)) { errors.push([field.name, 'enter a JSON array, e.g. ["a", "b"]']); return; }
        if (field.field_type === 'object' && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) {
          errors.push([field.name, 'enter a JSON object, e.g. {"key": "value"}']);
          return;
        }
        values[field.name] = parsed;
      } else {
        values[field.name] = raw;
      }
    });
    return { values: values, errors: errors };
  }

  function setRunMessage(text, isError) {
    runMsg.textContent = text || '';
    runMsg.className = 'run-msg' + (isError ? ' error' : '');
  }

  function startRun(event) {
    if (event) event.preventDefault();
    clearFieldErrors();
    var read = readInputs();
    if (read.errors.length) {
      read.errors.forEach(function (e) { setFieldError(e[0], e[1]); });
      setRunMessage('Fix ' + (read.errors.length === 1 ? 'the marked field' : 'the ' + read.errors.length + ' marked fields') + ' first.', true);
      var first = widgetFor(read.errors[0][0]);
      if (first) first.focus();
      return;
    }
    runButton.disabled = true;
    setRunMessage('Starting…');
    var params = { logic: logic.sid, inputs: read.values };
    if (runVersion.sid && runVersion !== currentVersion) params.version = runVersion.sid;
    rpc('LogicService.play_start', params).then(function (play) {
      setRunMessage('Started Play ' + play.sid + '.');
      rememberPlay(play);
      showOverlay(play.sid, 'push', { play: play, descendants: [], ancestors: [] });
    }, function (err) {
      var field = err.data && err.data.field ? String(err.data.field) : '';
      var shown = field.indexOf('inputs.') === 0 && setFieldError(field.slice(7).split(/[.[]/)[0], err.message + (err.data.hint ? ' (' + err.data.hint + ')' : ''));
      setRunMessage(shown ? 'The daemon refused an input; see the marked field.' : 'Could not start: ' + errorText(err), true);
    }).then(function () { runButton.disabled = false; });
  }

  runForm.addEventListener('submit', startRun);
  runForm.addEventListener('keydown', function (event) {
    if (event.key !== 'Enter' || event.isComposing) return;
    var target = event.target;
    if (target.closest && target.closest('.menu')) return;
    if (event.ctrlKey || event.metaKey) { event.preventDefault(); runForm.requestSubmit(runButton); return; }
    var tag = target.tagName;
    // Enter in a field runs, as in any form; in a text area it stays a new line.
    if (tag === 'SELECT' || (tag === 'INPUT' && target.type === 'checkbox')) {
      event.preventDefault();
      runForm.requestSubmit(runButton);
    }
  });

  // Picking a version in the info sidebar: the play bar shows its inputs and runs it.
  function pickVersion(sid) {
    var version = versionsBySid[sid];
    if (!version) return;
    var values = readInputs().values;
    runVersion = version;
    fillInputs(values);
    Array.prototype.forEach.call(document.querySelectorAll('.version-btn'), function (button) {
      button.setAttribute('aria-pressed', button.getAttribute('data-version') === sid ? 'true' : 'false');
    });
    runButton.textContent = version === currentVersion ? '▶ Run' : '▶ Run ' + version.label;
    setRunMessage(version === currentVersion ? '' : 'Runs version ' + version.label + ', not the current one.');
    if (!state.root) renderOutput();
    versionPicked = true;
    if (editor) loadCode(sid);
    renderSideFields(version);
    renderMakeCurrent();
    state.stats = null;
    refreshStats();
    renderFlow();
  }

  var versionPicked = false;

  function defaultText(value) {
    return typeof value === 'string' ? '"' + value + '"' : JSON.stringify(value);
  }

  // The sidebar's declared inputs and outputs, for the viewed version.
  function renderSideFields(version) {
    function list(fields, withInputBits) {
      if (!fields || !fields.length) return el('p', { class: 'muted small', text: 'None declared.' });
      return el('ul', { class: 'field-list' }, fields.map(function (f) {
        var hasDefault = f['default'] !== undefined && f['default'] !== null;
        return el('li', {}, [
          el('code', { class: 'fname', text: f.name }), ' ', el('span', { class: 'ftype', text: f.field_type }),
          withInputBits && f.required && !hasDefault ? ' ' : null,
          withInputBits && f.required && !hasDefault ? el('span', { class: 'freq', text: 'required' }) : null,
          f.description ? el('p', { text: f.description }) : null,
          withInputBits && hasDefault ? el('p', { class: 'fdefault' }, ['default ', el('code', { text: defaultText(f['default']) })]) : null
        ]);
      }));
    }
    clear(byId('side-inputs')).appendChild(list(version.inputs, true));
    clear(byId('side-outputs')).appendChild(list(version.outputs, false));
  }

  function renderMakeCurrent() {
    var row = byId('make-current-row');
    row.hidden = runVersion === currentVersion || !runVersion.sid;
    byId('make-current-label').textContent = runVersion.label || '';
    byId('make-current-msg').textContent = '';
  }

  byId('make-current').addEventListener('click', function () {
    var version = runVersion;
    var button = byId('make-current');
    button.disabled = true;
    rpc('LogicService.logic_set_current_version', { logic: logic.sid, version: version.sid }).then(function () {
      location.assign(logicHref(logic.sid, state.overlaySid) + (state.overlaySid ? '&' : '?') + 'version=' + encodeURIComponent(version.sid));
    }, function (err) {
      button.disabled = false;
      byId('make-current-msg').textContent = errorText(err);
    });
  });

  function refreshStats() {
    var sid = runVersion.sid;
    rpc('LogicService.logic_stats', { logic: logic.sid, version: sid || undefined }).then(function (stats) {
      if (runVersion.sid !== sid) return;
      state.stats = stats;
      renderStats();
    }, function () { if (runVersion.sid === sid) renderStats(); });
  }

  Array.prototype.forEach.call(document.querySelectorAll('.version-btn'), function (button) {
    button.addEventListener('click', function () { pickVersion(button.getAttribute('data-version')); });
  });

  // ---------------------------------------------------------------- menus: examples, plays

  var examplesMenu = byId('examples-menu');
  var playsMenu = byId('plays-menu');

  function closeMenus(except) {
    [examplesMenu, playsMenu].forEach(function (menu) { if (menu !== except) menu.open = false; });
  }

  [examplesMenu, playsMenu].forEach(function (menu) {
    menu.addEventListener('toggle', function () { if (menu.open) closeMenus(menu); });
    menu.addEventListener('keydown', function (event) {
      if (event.key === 'Escape' && menu.open) { menu.open = false; menu.querySelector('summary').focus(); }
    });
  });
  document.addEventListener('click', function (event) {
    if (!event.target.closest || !event.target.closest('.menu')) closeMenus(null);
  });

  function renderExamples() {
    var pop = clear(byId('examples-pop'));
    byId('examples-count').textContent = state.examples.length ? '(' + state.examples.length + ')' : '';
    if (!state.examples.length) pop.appendChild(el('p', { class: 'menu-empty', text: 'No saved examples yet.' }));
    state.examples.forEach(function (example) {
      var keys = Object.keys(example.input_values || {});
      pop.appendChild(el('button', {
        type: 'button', class: 'menu-item', 'data-example': example.name,
        onclick: function () {
          fillInputs(example.input_values || {});
          examplesMenu.open = false;
          setRunMessage('Filled from example “' + example.name + '”.');
          var first = fieldsBox.querySelector('input, select, textarea');
          if (first) first.focus();
        }
      }, [el('span', { class: 'mi-main' }, [
        el('span', { class: 'mi-title', text: example.name }),
        el('span', { class: 'mi-sub', text: example.description || keys.map(function (k) { return k + '=' + JSON.stringify(example.input_values[k]); }).join(', ') || 'no inputs' })
      ])]));
    });
    pop.appendChild(el('hr', { class: 'menu-sep' }));
    pop.appendChild(el('p', { class: 'menu-label', text: 'Save current inputs as an example' }));
    var nameInput = el('input', { type: 'text', id: 'example-name', placeholder: 'Example name', 'aria-label': 'Example name', autocomplete: 'off' });
    var error = el('p', { class: 'menu-error', role: 'alert', hidden: true });
    var save = el('button', { type: 'button', class: 'btn btn-small btn-primary', id: 'save-example', text: 'Save current as example' });
    function doSave() {
      var name = nameInput.value.trim();
      error.hidden = true;
      if (!name) { error.textContent = 'Give the example a name.'; error.hidden = false; nameInput.focus(); return; }
      var read = readInputs();
      if (read.errors.length) {
        read.errors.forEach(function (e) { setFieldError(e[0], e[1]); });
        error.textContent = 'Fix the marked inputs first.'; error.hidden = false;
        return;
      }
      save.disabled = true;
      rpc('LogicService.logic_example_create', { logic: logic.sid, name: name, input_values: read.values }).then(function (example) {
        state.examples = state.examples.filter(function (e) { return e.sid !== example.sid; }).concat([example]);
        renderExamples();
        setRunMessage('Saved example “' + example.name + '”.');
        examplesMenu.open = false;
      }, function (err) {
        save.disabled = false;
        error.textContent = errorText(err); error.hidden = false;
      });
    }
    save.addEventListener('click', doSave);
    nameInput.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') { event.preventDefault(); event.stopPropagation(); doSave(); }
    });
    pop.appendChild(el('div', { class: 'save-example' }, [nameInput, save]));
    pop.appendChild(error);
  }

  // Top-level Plays first: those are the runs started from here; child Plays show when
  // this Logic only ever ran inside others.
  function listedPlays() {
    var top = state.plays.filter(function (p) { return !p.parent_play_sid; });
    return (top.length ? top : state.plays).slice(0, 25);
  }

  function renderPlays() {
    var pop = clear(byId('plays-pop'));
    var shown = listedPlays();
    byId('plays-count').textContent = shown.length ? '(' + shown.length + (state.plays.length >= 50 ? '+' : '') + ')' : '';
    if (!shown.length) { pop.appendChild(el('p', { class: 'menu-empty', text: 'No Plays yet. Run it.' })); return; }
    pop.appendChild(el('p', { class: 'menu-label', text: 'Recent Plays — click to overlay' }));
    shown.forEach(function (play) {
      pop.appendChild(el('button', {
        type: 'button', class: 'menu-item status-' + play.status + (play.sid === state.overlaySid ? ' selected' : ''),
        'data-play': play.sid, 'aria-label': 'Play ' + play.sid + ', ' + statusLabel(play.status) + ', ' + relTime(play.created_at),
        onclick: function () { playsMenu.open = false; showOverlay(play.sid, 'push'); }
      }, [
        dot(play.status),
        el('span', { class: 'mi-main' }, [
          el('span', { class: 'mi-title' }, [el('code', { text: play.sid }), ' ', el('span', { class: 'muted', text: statusLabel(play.status) })]),
          el('span', { class: 'mi-sub', text: relTime(play.created_at) + (play.parent_play_sid ? ' · inside Play ' + play.parent_play_sid : '') })
        ]),
        el('span', { class: 'mi-right', text: isTerminal(play.status) ? fmtDuration(play.duration_ms) : '' })
      ]));
    });
  }

  function rememberPlay(play) {
    var summary = {
      sid: play.sid, name: play.name, logic_sid: play.logic_sid, logic_version_sid: play.logic_version_sid,
      parent_play_sid: play.parent_play_sid, status: play.status, created_at: play.created_at,
      started_at: play.started_at, completed_at: play.completed_at, duration_ms: play.duration_ms
    };
    var found = false;
    state.plays = state.plays.map(function (p) { if (p.sid === play.sid) { found = true; return summary; } return p; });
    if (!found && play.logic_sid === logic.sid) state.plays.unshift(summary);
    renderPlays();
  }

  function refreshSideData() {
    refreshStats();
    rpc('LogicService.play_list_for_logic', { logic: logic.sid, limit: 50 }).then(function (page) {
      state.plays = page.items || [];
      renderPlays();
    }, function () {});
  }

  // ---------------------------------------------------------------- overlay and live updates

  function allPlays() { return state.root ? [state.root].concat(state.descendants) : []; }

  function closeStream() {
    if (state.stream) { state.stream.close(); state.stream = null; }
  }

  function openStream(sid) {
    closeStream();
    if (typeof EventSource === 'undefined') return;
    var source = new EventSource('/api/plays/' + encodeURIComponent(sid) + '/events');
    state.stream = source;
    source.addEventListener('tree', function (event) {
      if (state.overlaySid !== sid) return;
      var tree;
      try { tree = JSON.parse(event.data); } catch (e) { return; }
      applyTree(tree.play, tree.descendants || []);
    });
    source.addEventListener('end', function () {
      if (state.stream === source) closeStream();
      if (state.overlaySid === sid) refreshSideData();
    });
    source.addEventListener('failure', function (event) {
      if (state.stream === source) closeStream();
      var info = {};
      try { info = JSON.parse(event.data); } catch (e) { info = {}; }
      byId('trace-meta').textContent = 'Live updates stopped: ' + (info.error || 'the daemon did not answer');
    });
  }

  // Overlays a Play (or none, with sid ''). how: 'push' adds a history entry, 'replace'
  // rewrites the current one, 'none' leaves the URL (back/forward, first load).
  function showOverlay(sid, how, preloaded) {
    closeStream();
    state.overlayLoad += 1;
    var load = state.overlayLoad;
    state.overlaySid = sid;
    state.pauseForms = {};
    clear(byId('pause-forms'));
    if (how === 'push' || how === 'replace') {
      var url = logicHref(logic.sid, sid);
      if (how === 'push') history.pushState({ play: sid }, '', url);
      else history.replaceState({ play: sid }, '', url);
    }
    if (!sid) {
      state.root = null; state.descendants = []; state.ancestors = [];
      renderAll();
      return;
    }
    if (preloaded) {
      state.ancestors = preloaded.ancestors || [];
      applyTree(preloaded.play, preloaded.descendants || []);
      if (!isTerminal(preloaded.play.status)) openStream(sid);
      return;
    }
    state.root = null;
    renderLoading();
    getJSON('/api/plays/' + encodeURIComponent(sid) + '/overlay').then(function (overlay) {
      if (load !== state.overlayLoad) return;
      if (overlay.play.logic_sid !== logic.sid) {
        // A Play of another Logic: its own view is where it belongs.
        location.replace(logicHref(overlay.play.logic_sid, sid));
        return;
      }
      state.ancestors = overlay.ancestors || [];
      fillInputs(overlay.play.input_data || {});
      applyTree(overlay.play, overlay.descendants || []);
      if (!isTerminal(overlay.play.status)) openStream(sid);
    }, function (err) {
      if (load !== state.overlayLoad) return;
      state.root = null;
      renderAll();
      var panel = clear(byId('panel-tree'));
      panel.appendChild(el('div', { class: 'empty-state', role: 'alert' }, [
        el('p', {}, [el('strong', { text: 'Play ' + sid + ' could not be shown.' })]),
        el('p', { text: errorText(err) }),
        el('p', {}, [el('a', { href: logicHref(logic.sid, ''), text: 'Back to ' + logic.name })])
      ]));
    });
  }

  function applyTree(play, descendants) {
    var before = state.root && state.root.sid === play.sid ? state.root.status : '';
    if (before && !isTerminal(before) && isTerminal(play.status)) {
      setRunMessage('Play ' + play.sid + ' ended: ' + statusLabel(play.status) + ' in ' + fmtDuration(play.duration_ms) + '.');
    } else if (before && before !== 'awaiting_resume' && play.status === 'awaiting_resume') {
      setRunMessage('Play ' + play.sid + ' waits for an answer (see the trace).');
    }
    state.root = play;
    state.descendants = descendants;
    scheduleRender();
  }

  // Live trees can arrive faster than a frame; draw only the latest one per frame.
  var renderPending = false;
  function scheduleRender() {
    if (renderPending) return;
    renderPending = true;
    window.requestAnimationFrame(function () {
      renderPending = false;
      if (state.root && state.root.sid === state.overlaySid) rememberPlay(state.root);
      renderAll();
    });
  }

  window.addEventListener('popstate', function () {
    var sid = new URLSearchParams(location.search).get('play') || '';
    if (sid !== state.overlaySid) showOverlay(sid, 'none');
  });

  // Running durations count up once a second in place; nothing is fetched for it.
  function tick() {
    var nodes = document.querySelectorAll('[data-since]');
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = fmtDuration(Date.now() - Number(nodes[i].getAttribute('data-since')));
    }
  }

  function updateTicker() {
    var live = state.root && !isTerminal(state.root.status);
    if (live && !state.ticker) state.ticker = window.setInterval(tick, 1000);
    if (!live && state.ticker) { window.clearInterval(state.ticker); state.ticker = 0; }
  }

  // ---------------------------------------------------------------- rendering

  function renderAll() {
    renderBreadcrumb();
    renderFlow();
    renderTree();
    renderLogs();
    renderTrace();
    renderPauseForms();
    renderOutput();
    renderStats();
    renderPlays();
    updateTicker();
  }

  function renderLoading() {
    clear(byId('panel-tree')).appendChild(el('div', { class: 'empty-state' }, [el('p', { text: 'Loading Play ' + state.overlaySid + '…' })]));
    clear(byId('trace'));
    clear(byId('output'));
    byId('trace-meta').textContent = '';
    byId('center-meta').textContent = '';
  }

  function renderBreadcrumb() {
    var nav = clear(byId('breadcrumb'));
    nav.appendChild(el('a', { href: '/', text: 'Logics' }));
    state.ancestors.forEach(function (a) {
      nav.appendChild(el('span', { 'aria-hidden': 'true', text: '/' }));
      nav.appendChild(el('a', { href: logicHref(a.logic_sid, a.sid), title: 'Play ' + a.sid, text: a.name }));
    });
    nav.appendChild(el('span', { 'aria-hidden': 'true', text: '/' }));
    nav.appendChild(el('span', { 'aria-current': 'page', text: logic.name }));
    if (state.root) {
      nav.appendChild(el('span', { 'aria-hidden': 'true', text: '·' }));
      nav.appendChild(el('span', { class: 'muted' }, ['Play ', el('code', { text: state.root.sid })]));
    }
  }

  // parent sid -> children in invocation order (the parent's sub_play_sids), then any child
  // the parent's list does not name yet (a live tree mid-write). One pass over the tree.
  function childrenIndex() {
    var byParent = {};
    state.descendants.forEach(function (p) {
      (byParent[p.parent_play_sid] = byParent[p.parent_play_sid] || []).push(p);
    });
    var index = {};
    allPlays().forEach(function (parent) {
      var kids = byParent[parent.sid] || [];
      if (!kids.length) { index[parent.sid] = kids; return; }
      var position = {};
      (parent.sub_play_sids || []).forEach(function (sid, i) { position[sid] = i; });
      var listed = kids.filter(function (k) { return position[k.sid] !== undefined; });
      listed.sort(function (a, b) { return position[a.sid] - position[b.sid]; });
      index[parent.sid] = listed.concat(kids.filter(function (k) { return position[k.sid] === undefined; }));
    });
    return index;
  }

  function renderTree() {
    var panel = clear(byId('panel-tree'));
    var meta = clear(byId('center-meta'));
    var root = state.root;
    if (!root) {
      var latest = listedPlays()[0];
      panel.appendChild(el('div', { class: 'empty-state' }, [
        el('p', {}, [el('strong', { text: 'No Play overlaid.' })]),
        el('p', { text: 'Fill the inputs below and press ▶ Run, or open one of the recent Plays.' }),
        latest ? el('p', {}, [el('button', {
          type: 'button', class: 'btn', id: 'show-latest',
          onclick: function () { showOverlay(latest.sid, 'push'); }
        }, [dot(latest.status), 'Show the latest Play, ' + latest.sid + ' (' + statusLabel(latest.status) + ', ' + relTime(latest.created_at) + ')'])]) : null
      ]));
      return;
    }
    var index = childrenIndex();
    meta.appendChild(el('span', {}, [fmtInt(state.descendants.length) + ' sub-Play' + (state.descendants.length === 1 ? '' : 's')]));
    var count = 0;
    function node(play, depth, isRoot) {
      count += 1;
      var kids = index[play.sid] || [];
      var asks = (play.pending_resumes || []).length;
      var answered = Object.keys(play.received_resumes || {});
      var nameNode = isRoot
        ? el('span', { class: 'node-name', text: play.name })
        : el('a', {
          class: 'node-name', href: logicHref(play.logic_sid, play.sid), title: 'Open ' + play.name + ' with this Play',
          onclick: function (event) {
            if (play.logic_sid === logic.sid && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
              event.preventDefault();
              showOverlay(play.sid, 'push');
            }
          }
        }, [play.name]);
      var row = el('div', { class: 'node-row status-' + play.status }, [
        dot(play.status),
        nameNode,
        el('span', { class: 'node-sid', text: play.sid }),
        play.replayed ? el('span', { class: 'node-flag replayed', title: 'Output came from the recorded step on replay', text: '↻ replayed' }) : null,
        asks ? el('span', { class: 'node-flag asks' }, [pauseIcon(), 'asks ' + (asks === 1 ? '1 question' : asks + ' questions')]) : null,
        answered.length ? el('span', {
          class: 'node-flag answered',
          title: answered.map(function (id) { return id + ' = ' + JSON.stringify(play.received_resumes[id]); }).join('\n'),
          text: '✓ ' + (answered.length === 1 ? '1 answer' : answered.length + ' answers')
        }) : null,
        el('span', { class: 'node-status', text: statusLabel(play.status) }),
        durationNode(play, 'node-dur')
      ]);
      var li = el('li', { class: 'node' + (isRoot ? ' node-root' : '') + (play.replayed ? ' node-replayed' : ''), 'data-play': play.sid }, [row]);
      if ((play.status === 'failed' || play.status === 'timed_out') && play.error_message) {
        li.appendChild(el('div', { class: 'node-error', text: splitError(play.error_message).message }));
      }
      if (kids.length && depth < 64) {
        var ul = el('ul');
        for (var i = 0; i < kids.length; i++) {
          if (count >= MAX_TREE_NODES) {
            ul.appendChild(el('li', { class: 'tree-more', text: '… ' + (kids.length - i) + ' more sub-Plays not drawn' }));
            break;
          }
          ul.appendChild(node(kids[i], depth + 1, false));
        }
        li.appendChild(ul);
      }
      return li;
    }
    var card = el('div', { class: 'tree-card' }, [el('ul', { class: 'tree', 'aria-label': 'Play tree' }, [node(root, 0, true)])]);
    panel.appendChild(card);
  }

  function renderLogs() {
    var pre = byId('logs');
    if (!state.root) { pre.textContent = 'Logs of the overlaid Play appear here.'; return; }
    pre.textContent = state.root.logs || 'Play ' + state.root.sid + ' wrote no logs.';
  }

  function depthMap() {
    var depth = {};
    var bySid = {};
    allPlays().forEach(function (p) { bySid[p.sid] = p; });
    function of(p) {
      if (depth[p.sid] !== undefined) return depth[p.sid];
      var parent = p === state.root ? null : bySid[p.parent_play_sid];
      depth[p.sid] = 0;
      depth[p.sid] = parent ? of(parent) + 1 : 0;
      return depth[p.sid];
    }
    allPlays().forEach(of);
    return depth;
  }

  var LOG_LINE = /^\[(\d{4}-\d\d-\d\dT[^\]]+)\]\s?(.*)$/;

  function traceRows() {
    var rows = [];
    var depth = depthMap();
    allPlays().forEach(function (p) {
      var d = depth[p.sid] || 0;
      var start = p.started_at || p.created_at;
      rows.push({ t: start, kind: 'start', play: p, depth: d });
      var lastT = start;
      (p.logs || '').split('\n').forEach(function (line) {
        if (!line) return;
        var m = LOG_LINE.exec(line);
        var t = m ? Date.parse(m[1]) : NaN;
        if (isFinite(t)) lastT = t;
        rows.push({ t: lastT, kind: 'log', play: p, depth: d, text: m ? m[2] : line });
      });
      (p.pending_resumes || []).forEach(function (r) {
        rows.push({ t: r.asked_at || lastT, kind: 'ask', play: p, depth: d, text: (r.ui && r.ui.prompt) || r.name || r.id });
      });
      if (isTerminal(p.status)) rows.push({ t: p.completed_at || lastT, kind: 'end', play: p, depth: d });
    });
    rows.forEach(function (r, i) { r.i = i; });
    rows.sort(function (a, b) { return (a.t - b.t) || (a.i - b.i); });
    return rows;
  }

  function renderTrace() {
    var list = byId('trace');
    var scroller = byId('trace-scroll');
    var atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 24;
    clear(list);
    var meta = clear(byId('trace-meta'));
    var root = state.root;
    if (!root) {
      list.appendChild(el('li', { class: 'trace-empty', text: 'The live trace of a run shows here: one row per Play started or finished, its logs and its questions.' }));
      return;
    }
    meta.appendChild(el('span', { class: 'status status-' + root.status }, [dot(root.status), 'Play ' + root.sid + ' · ' + statusLabel(root.status)]));
    meta.appendChild(durationNode(root, 'muted'));
    var rows = traceRows();
    if (rows.length > MAX_TRACE_ROWS) {
      list.appendChild(el('li', { class: 'trace-more', text: (rows.length - MAX_TRACE_ROWS) + ' earlier rows not shown; the Play tree has every Play.' }));
      rows = rows.slice(rows.length - MAX_TRACE_ROWS);
    }
    rows.forEach(function (row) {
      var p = row.play;
      var what;
      var status = row.kind === 'end' ? p.status : row.kind === 'start' ? 'running' : p.status;
      if (row.kind === 'start') what = p.replayed ? 'replayed' : 'started';
      else if (row.kind === 'end') what = statusLabel(p.status) + (p.status !== 'success' && p.error_message ? ': ' + splitError(p.error_message).message : '');
      else if (row.kind === 'ask') what = 'asks: ' + row.text;
      else what = row.text;
      list.appendChild(el('li', { class: 'tr tr-' + row.kind + ' status-' + status, style: '--depth: ' + row.depth }, [
        el('span', { class: 'tr-time', title: fullTime(row.t), text: clock(row.t) }),
        el('span', { class: 'tr-main' }, [
          row.kind === 'log' ? el('span', { class: 'dot dot-none', 'aria-hidden': 'true' }) : dot(status),
          el('span', { class: 'tr-name', text: p.name }),
          el('span', { class: 'tr-what', title: what }, [row.kind === 'ask' ? pauseIcon() : null, what])
        ]),
        el('span', { class: 'tr-dur', text: row.kind === 'end' ? fmtDuration(p.duration_ms) : '' })
      ]));
    });
    if (atBottom || !isTerminal(root.status)) scroller.scrollTop = scroller.scrollHeight;
  }

  // ---------------------------------------------------------------- pause forms

  function renderPauseForms() {
    var box = byId('pause-forms');
    var wanted = {};
    var order = [];
    allPlays().forEach(function (p) {
      if (p.status !== 'awaiting_resume') return;
      (p.pending_resumes || []).forEach(function (r) {
        var key = p.sid + '|' + r.id;
        wanted[key] = { play: p, request: r };
        order.push(key);
      });
    });
    Object.keys(state.pauseForms).forEach(function (key) {
      if (!wanted[key]) { state.pauseForms[key].remove(); delete state.pauseForms[key]; }
    });
    order.forEach(function (key) {
      if (state.pauseForms[key]) return;
      var form = pauseForm(wanted[key].play, wanted[key].request);
      state.pauseForms[key] = form;
      box.appendChild(form);
      var active = document.activeElement;
      if (!active || active === document.body || active === runButton || (active.closest && active.closest('.pause-form.sent'))) {
        var first = form.querySelector('input, textarea, button');
        if (first) first.focus({ preventScroll: true });
      }
    });
  }

  var pauseCounter = 0;

  function pauseForm(play, request) {
    pauseCounter += 1;
    var ui = request.ui || {};
    var kind = ui.kind || 'text';
    var base = 'pause-' + pauseCounter;
    var prompt = ui.prompt || request.name || 'Answer needed';
    var form = el('form', { class: 'pause-form', 'data-play': play.sid, 'data-resume': request.id, 'data-kind': kind, 'aria-labelledby': base + '-prompt', novalidate: true });
    form.appendChild(el('p', { class: 'pause-head' }, [
      pauseIcon(), play.name + ' asks', el('span', { class: 'node-sid', text: 'Play ' + play.sid })
    ]));
    form.appendChild(el('p', { class: 'pause-prompt', id: base + '-prompt', text: prompt }));
    var error = el('p', { class: 'pause-error', id: base + '-error', role: 'alert', hidden: true });
    var read;
    var dflt = ui['default'];
    var actions = el('div', { class: 'pause-actions' });
    if (kind === 'confirm') {
      var yes = el('button', { type: 'submit', class: 'btn ' + (dflt === false ? '' : 'btn-primary'), value: 'yes', 'data-answer': 'yes', text: 'Yes' });
      var no = el('button', { type: 'submit', class: 'btn ' + (dflt === false ? 'btn-primary' : ''), value: 'no', 'data-answer': 'no', text: 'No' });
      actions.appendChild(yes);
      actions.appendChild(no);
      read = function (submitter) { return submitter && submitter.getAttribute('data-answer') === 'no' ? false : true; };
    } else if (kind === 'choice' || kind === 'multi_choice') {
      var multi = kind === 'multi_choice';
      var set = el('fieldset', { 'aria-labelledby': base + '-prompt', 'aria-describedby': base + '-error' });
      (ui.options || []).forEach(function (option, i) {
        var id = base + '-o' + i;
        set.appendChild(el('label', { class: 'opt', 'for': id }, [
          el('input', { type: multi ? 'checkbox' : 'radio', name: base, id: id, value: option, checked: multi ? false : dflt === option }),
          option
        ]));
      });
      form.appendChild(set);
      if (multi && (ui.min != null || ui.max != null)) {
        var bounds = [];
        if (ui.min != null) bounds.push('at least ' + ui.min);
        if (ui.max != null) bounds.push('at most ' + ui.max);
        actions.appendChild(el('span', { class: 'pause-hint', text: 'Pick ' + bounds.join(' and ') + '.' }));
      }
      read = function () {
        var picked = Array.prototype.map.call(set.querySelectorAll('input:checked'), function (i) { return i.value; });
        if (multi) return picked;
        if (!picked.length) throw new Error('pick one of the options');
        return picked[0];
      };
      actions.insertBefore(el('button', { type: 'submit', class: 'btn btn-primary', text: 'Submit answer' }), actions.firstChild);
    } else if (kind === 'number') {
      var num = el('input', {
        type: 'number', id: base + '-input', step: ui.integer ? '1' : 'any', min: ui.min, max: ui.max,
        value: dflt != null ? String(dflt) : '', placeholder: ui.placeholder || '',
        'aria-labelledby': base + '-prompt', 'aria-describedby': base + '-error'
      });
      form.appendChild(num);
      if (ui.min != null || ui.max != null) {
        actions.appendChild(el('span', { class: 'pause-hint', text: (ui.integer ? 'A whole number' : 'A number') +
          (ui.min != null ? ' from ' + ui.min : '') + (ui.max != null ? ' to ' + ui.max : '') + '.' }));
      }
      read = function () {
        if (num.value.trim() === '') throw new Error('enter a number');
        var n = Number(num.value);
        if (!isFinite(n)) throw new Error('enter a number');
        return n;
      };
      actions.insertBefore(el('button', { type: 'submit', class: 'btn btn-primary', text: 'Submit answer' }), actions.firstChild);
    } else {
      var attrs = {
        id: base + '-input', placeholder: ui.placeholder || '', 'aria-labelledby': base + '-prompt', 'aria-describedby': base + '-error',
        value: typeof dflt === 'string' ? dflt : ''
      };
      var text;
      if (ui.multiline) { attrs.rows = 3; text = el('textarea', attrs); } else { attrs.type = 'text'; attrs.autocomplete = 'off'; text = el('input', attrs); }
      form.appendChild(text);
      read = function () { return text.value; };
      actions.insertBefore(el('button', { type: 'submit', class: 'btn btn-primary', text: 'Submit answer' }), actions.firstChild);
    }
    form.appendChild(actions);
    form.appendChild(error);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var payload;
      error.hidden = true;
      try { payload = read(event.submitter); } catch (e) {
        error.textContent = e.message; error.hidden = false;
        return;
      }
      var buttons = form.querySelectorAll('button');
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
      rpc('LogicService.play_resume', { play_sid: play.sid, resume_id: request.id, payload: payload }).then(function () {
        form.classList.add('sent');
        actions.appendChild(el('span', { class: 'pause-sent', role: 'status', text: 'Answer sent; the run continues…' }));
      }, function (err) {
        Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
        error.textContent = errorText(err);
        error.hidden = false;
      });
    });
    return form;
  }

  // ---------------------------------------------------------------- output

  // "message\n\ntraceback" -> {message, traceback}
  function splitError(text) {
    var at = text.indexOf('\n\n');
    if (at < 0) return { message: text, traceback: '' };
    return { message: text.slice(0, at), traceback: text.slice(at + 2) };
  }

  function isScalar(v) { return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'; }

  function scalarText(v) { return typeof v === 'string' ? v : JSON.stringify(v); }

  // Small, flat shapes read better as a list or a table than as JSON (the card keeps the
  // value as JSON in its data-json attribute).
  function valueNode(value) {
    if (typeof value === 'string') return el('div', { class: 'out-value', text: value });
    if (isScalar(value)) return el('div', { class: 'out-value out-scalar', text: JSON.stringify(value) });
    if (Array.isArray(value) && value.length && value.length <= 50 && value.every(isScalar)) {
      return el('ul', { class: 'out-value out-list' }, value.map(function (v) {
        return el('li', { text: scalarText(v) });
      }));
    }
    if (Array.isArray(value) && value.length && value.length <= 50 && value.every(function (row) {
      return row && typeof row === 'object' && !Array.isArray(row) && Object.keys(row).every(function (k) { return isScalar(row[k]); });
    })) {
      var columns = [];
      value.forEach(function (row) { Object.keys(row).forEach(function (k) { if (columns.indexOf(k) < 0) columns.push(k); }); });
      if (columns.length <= 6) {
        return el('div', { class: 'out-value out-table' }, [el('table', {}, [
          el('thead', {}, [el('tr', {}, columns.map(function (c) { return el('th', { scope: 'col', text: c }); }))]),
          el('tbody', {}, value.map(function (row) {
            return el('tr', {}, columns.map(function (c) {
              return el('td', { class: typeof row[c] === 'number' ? 'num' : '', text: row[c] === undefined ? '' : scalarText(row[c]) });
            }));
          }))
        ])]);
      }
    }
    if (value && !Array.isArray(value) && Object.keys(value).length && Object.keys(value).length <= 12 &&
        Object.keys(value).every(function (k) { return isScalar(value[k]); })) {
      var dl = el('dl', { class: 'out-value out-dict' });
      Object.keys(value).forEach(function (k) {
        dl.appendChild(el('dt', { text: k }));
        dl.appendChild(el('dd', { text: scalarText(value[k]) }));
      });
      return dl;
    }
    return el('pre', { class: 'out-value out-json', text: JSON.stringify(value, null, 2) });
  }

  function renderOutput() {
    var box = clear(byId('output'));
    var meta = clear(byId('output-meta'));
    var root = state.root;
    var version = root ? (versionsBySid[root.logic_version_sid] || currentVersion) : runVersion;
    var declared = version.outputs || [];
    if (!root) {
      var idle = el('div', { class: 'output-empty' }, [
        declared.length ? 'Run it to see ' + (declared.length === 1 ? 'its output' : 'its ' + declared.length + ' outputs') + ' here:' : 'Run it to see its output here.'
      ]);
      if (declared.length) {
        idle.appendChild(el('ul', {}, declared.map(function (f) {
          return el('li', {}, [el('code', { class: 'fname', text: f.name }), ' ', el('span', { class: 'ftype', text: f.field_type })]);
        })));
      }
      box.appendChild(idle);
      return;
    }
    if (version !== currentVersion && version.label) meta.textContent = 'version ' + version.label;
    if (root.error_message && (root.status === 'failed' || root.status === 'timed_out' || root.status === 'cancelled')) {
      var parts = splitError(root.error_message);
      var title = root.status === 'timed_out' ? 'Timed out' : root.status === 'cancelled' ? 'Cancelled' : 'Failed';
      box.appendChild(el('div', { class: 'error-card status-' + root.status, role: 'alert' }, [
        el('p', { class: 'error-title', text: title }),
        el('p', { class: 'error-message', text: parts.message }),
        parts.traceback ? el('details', {}, [el('summary', { text: 'Traceback' }), el('pre', { text: parts.traceback })]) : null
      ]));
    } else if (root.status === 'cancelled') {
      box.appendChild(el('div', { class: 'error-card status-cancelled' }, [el('p', { class: 'error-title', text: 'Cancelled' })]));
    }
    var data = root.output_data || {};
    var keys = Object.keys(data);
    var finished = isTerminal(root.status);
    if (!declared.length) {
      if (keys.length) box.appendChild(el('pre', { class: 'out-raw', 'aria-label': 'Output JSON', text: JSON.stringify(data, null, 2) }));
      else if (!finished) box.appendChild(el('p', { class: 'output-empty', text: root.status === 'awaiting_resume' ? 'Waiting for an answer (see the trace).' : 'Waiting for output…' }));
      else if (root.status === 'success') box.appendChild(el('p', { class: 'output-empty', text: 'No output.' }));
      return;
    }
    if (root.status === 'failed' || root.status === 'timed_out') {
      if (!keys.length) return;
    }
    var seen = {};
    declared.forEach(function (field) {
      seen[field.name] = true;
      var has = Object.prototype.hasOwnProperty.call(data, field.name);
      box.appendChild(el('section', {
        class: 'out-card', 'data-output': field.name, 'aria-label': 'Output ' + field.name,
        'data-json': has ? JSON.stringify(data[field.name]) : null
      }, [
        el('div', { class: 'out-head' }, [
          el('code', { class: 'fname', text: field.name }),
          el('span', { class: 'ftype', text: field.field_type }),
          field.description ? el('span', { class: 'out-desc', title: field.description, text: field.description }) : null
        ]),
        has ? valueNode(data[field.name]) : el('div', { class: 'out-value out-missing', text: finished ? 'not produced' : 'waiting…' })
      ]));
    });
    keys.forEach(function (key) {
      if (seen[key]) return;
      box.appendChild(el('section', { class: 'out-card', 'data-output': key, 'aria-label': 'Output ' + key, 'data-json': JSON.stringify(data[key]) }, [
        el('div', { class: 'out-head' }, [el('code', { class: 'fname', text: key }), el('span', { class: 'out-desc', text: 'not declared' })]),
        valueNode(data[key])
      ]));
    });
  }

  // ---------------------------------------------------------------- stats sidebar

  function kpi(label, value) { return el('div', {}, [el('dt', { text: label }), el('dd', { text: value })]); }

  function chart(recent) {
    var runs = (recent || []).slice(0, 50).reverse();   // oldest first, newest at the right
    var width = 260, height = 84, gap = 2;
    var svg = svgEl('svg', { viewBox: '0 0 ' + width + ' ' + height, preserveAspectRatio: 'none', role: 'img', 'aria-label': 'Durations of the last ' + runs.length + ' Plays, coloured by status' });
    if (!runs.length) return svg;
    var max = Math.max.apply(null, runs.map(function (r) { return r.duration_ms || 0; })) || 1;
    var slot = width / Math.max(runs.length, 12);
    runs.forEach(function (r, i) {
      var h = Math.max(3, Math.round(((r.duration_ms || 0) / max) * (height - 8)));
      var rect = svgEl('rect', {
        x: (i * slot + gap / 2).toFixed(2), y: height - h, width: Math.max(1, slot - gap).toFixed(2), height: h, rx: 1.5,
        fill: 'var(--st-' + r.status + ', #98a2b3)', 'class': 'bar status-' + r.status
      });
      var title = svgEl('title', {});
      title.textContent = 'Play ' + r.play_sid + ' · ' + statusLabel(r.status) + ' · ' + fmtDuration(r.duration_ms) + ' · ' + relTime(r.created_at);
      rect.appendChild(title);
      svg.appendChild(rect);
    });
    return svg;
  }

  function versionCard() {
    var s = state.stats;
    var card = el('section', { class: 'stat-card', 'aria-labelledby': 'h-version-stats' });
    var refresh = el('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Refresh stats', title: 'Refresh stats', text: '↻',
      onclick: function () { refresh.disabled = true; refreshSideData(); } });
    card.appendChild(el('div', { class: 'card-head' }, [
      el('h2', { id: 'h-version-stats' }, ['Version', el('span', { class: 'plain', text: (s && s.version_label) || runVersion.label || '' })]),
      refresh
    ]));
    if (!s) { card.appendChild(el('p', { class: 'muted small', text: 'Stats are not available right now.' })); return card; }
    if (!s.runs) {
      card.appendChild(el('p', { class: 'muted small', text: 'No runs of this version yet. Run it to see its success rate, durations and cost here.' }));
      return card;
    }
    card.appendChild(el('dl', { class: 'kpis' }, [
      kpi('Runs', fmtInt(s.runs)),
      kpi('Success', percent(s.success_rate)),
      kpi('p50', fmtDuration(s.p50_duration_ms)),
      kpi('p95', fmtDuration(s.p95_duration_ms)),
      kpi('Avg cost', fmtCost(s.avg_cost_usd)),
      kpi('Max', fmtDuration(s.max_duration_ms))
    ]));
    card.appendChild(el('figure', { class: 'chart' }, [
      chart(s.recent),
      el('figcaption', {}, [el('span', { text: 'Recent durations' }), el('span', { text: 'newest →' })])
    ]));
    var counts = s.status_counts || {};
    card.appendChild(el('ul', { class: 'legend', 'aria-label': 'Plays by status' }, Object.keys(counts).map(function (status) {
      return el('li', { class: 'status-' + status }, [dot(status), counts[status] + ' ' + statusLabel(status)]);
    })));
    card.appendChild(el('p', { class: 'muted small' }, ['Last ' + s.runs + ' of at most ' + s.last_n + ' Plays · latest ' + relTime(s.latest_run_at)]));
    return card;
  }

  function attempts(root) {
    var counts = {};
    state.descendants.forEach(function (p) { if (p.parent_play_sid === root.sid) counts[p.name] = (counts[p.name] || 0) + 1; });
    var loops = Object.keys(counts).filter(function (name) { return counts[name] > 1; });
    return loops.length ? loops.map(function (name) { return name + ' × ' + counts[name]; }).join(', ') : '1';
  }

  function playCard(root) {
    var card = el('section', { class: 'stat-card', 'aria-labelledby': 'h-play-stats' });
    card.appendChild(el('div', { class: 'card-head' }, [
      el('h2', { id: 'h-play-stats' }, ['Play', el('span', { class: 'plain', text: root.sid })]),
      el('a', { class: 'btn btn-small', href: logicHref(logic.sid, ''), id: 'close-overlay', 'aria-label': 'Close the overlay',
        onclick: function (event) { event.preventDefault(); showOverlay('', 'push'); } }, ['✕ Close'])
    ]));
    card.appendChild(statusPill(root.status));
    var version = versionsBySid[root.logic_version_sid];
    var subtree = root.subtree || {};
    var facts = el('dl', { class: 'facts' });
    function fact(label, value) { facts.appendChild(el('dt', { text: label })); facts.appendChild(el('dd', {}, [value])); }
    fact('Duration', durationNode(root, ''));
    fact('Started', root.started_at ? el('time', { title: fullTime(root.started_at), text: clock(root.started_at) + ' · ' + relTime(root.started_at) }) : 'not yet');
    if (root.completed_at) fact('Finished', el('time', { title: fullTime(root.completed_at), text: clock(root.completed_at) }));
    fact('Version', version ? version.label + (version.current ? ' (current)' : '') : root.logic_version_sid);
    fact('Sub-Plays', fmtInt(subtree.descendants != null ? subtree.descendants : state.descendants.length));
    fact('Attempts', attempts(root));
    fact('Tokens', fmtInt(root.total_tokens_prompt) + ' + ' + fmtInt(root.total_tokens_completion) + ' own');
    fact('with sub-Plays', fmtInt(subtree.tokens_prompt) + ' + ' + fmtInt(subtree.tokens_completion));
    fact('Cost', fmtCost(root.total_cost_usd) + ' own · ' + fmtCost(subtree.cost_usd) + ' total');
    if (root.replayed) fact('Replayed', 'yes: output from the recorded step');
    if (root.parent_play_sid) fact('Parent', el('a', { href: logicHref(state.ancestors.length ? state.ancestors[state.ancestors.length - 1].logic_sid : logic.sid, root.parent_play_sid), text: 'Play ' + root.parent_play_sid }));
    card.appendChild(facts);
    if (!isTerminal(root.status)) {
      var cancel = el('button', { type: 'button', class: 'btn btn-danger', id: 'cancel-play', text: 'Cancel run',
        onclick: function () {
          cancel.disabled = true;
          rpc('LogicService.play_cancel', { play_sid: root.sid }).then(function () {}, function (err) {
            cancel.disabled = false;
            byId('trace-meta').textContent = 'Cancel failed: ' + errorText(err);
          });
        } });
      card.appendChild(el('div', { class: 'stat-actions' }, [cancel]));
    }
    return card;
  }

  function renderStats() {
    var box = clear(byId('stats'));
    if (state.root) box.appendChild(playCard(state.root));
    box.appendChild(versionCard());
  }

  // ---------------------------------------------------------------- flow view
  // The static graph of the drawn Play's version (logic_parse_graph) with the Play's children
  // filling their invoke nodes. Idle, the latest Play of the Logic is drawn.

  var graphs = {};    // version sid -> Promise of its FlowGraph (versions never change)
  var sources = {};   // version sid -> Promise of its source lines
  var flowIdle = { sid: '', overlay: null, failed: false };
  var flowDraw = 0;

  function graphFor(versionSid) {
    if (!graphs[versionSid]) {
      graphs[versionSid] = rpc('LogicService.logic_parse_graph', { version_sid: versionSid });
      graphs[versionSid].catch(function () { delete graphs[versionSid]; });
    }
    return graphs[versionSid];
  }

  function versionRecord(versionSid) {
    if (!sources[versionSid]) {
      sources[versionSid] = rpc('logicversion.get', { sid: versionSid });
      sources[versionSid].catch(function () { delete sources[versionSid]; });
    }
    return sources[versionSid];
  }

  function sourceLines(versionSid) {
    return versionRecord(versionSid).then(function (v) { return String(v.python_source || '').split('\n'); });
  }

  // The Play the flow draws ({play, descendants}) or null; may start loading the latest one.
  function flowPlay() {
    if (state.root) return { play: state.root, descendants: state.descendants, idle: false };
    var latest = listedPlays().filter(function (p) {
      return p.logic_sid === logic.sid && (!versionPicked || p.logic_version_sid === runVersion.sid);
    })[0];
    if (!latest) return null;
    if (flowIdle.sid !== latest.sid) {
      flowIdle = { sid: latest.sid, overlay: null, failed: false };
      getJSON('/api/plays/' + encodeURIComponent(latest.sid) + '/overlay').then(function (overlay) {
        if (flowIdle.sid !== latest.sid) return;
        flowIdle.overlay = overlay;
        if (!state.root) renderFlow();
      }, function () { if (flowIdle.sid === latest.sid) { flowIdle.failed = true; if (!state.root) renderFlow(); } });
    }
    if (!flowIdle.overlay) return flowIdle.failed ? null : { loading: true };
    return { play: flowIdle.overlay.play, descendants: flowIdle.overlay.descendants || [], idle: true };
  }

  function directChildren(play, descendants) {
    var kids = descendants.filter(function (p) { return p.parent_play_sid === play.sid; });
    var position = {};
    (play.sub_play_sids || []).forEach(function (sid, i) { position[sid] = i; });
    kids.sort(function (a, b) {
      var pa = position[a.sid], pb = position[b.sid];
      if (pa === undefined && pb === undefined) return (a.created_at || 0) - (b.created_at || 0);
      if (pa === undefined) return 1;
      if (pb === undefined) return -1;
      return pa - pb;
    });
    return kids;
  }

  function renderFlow() {
    flowDraw += 1;
    var draw = flowDraw;
    var head = clear(byId('flow-head'));
    var box = byId('flow');
    var drawn = flowPlay();
    if (drawn && drawn.loading) return;
    var play = drawn ? drawn.play : null;
    var versionSid = play ? play.logic_version_sid : runVersion.sid;
    if (!versionSid) { clear(box).appendChild(el('p', { class: 'muted', text: 'This Logic has no version.' })); return; }
    var version = versionsBySid[versionSid];
    head.appendChild(el('span', { class: 'flow-version' }, ['Version ', el('strong', { text: version ? version.label : versionSid })]));
    if (play) {
      head.appendChild(el('span', { class: 'muted' }, [drawn.idle ? 'latest Play ' : 'Play ', el('code', { text: play.sid }), ' ']));
      head.appendChild(statusPill(play.status));
    } else {
      head.appendChild(el('span', { class: 'muted', text: 'no Play yet: the static flow only' }));
    }
    graphFor(versionSid).then(function (graph) {
      if (draw !== flowDraw) return;
      drawFlow(clear(box), graph, play, play ? directChildren(play, drawn.descendants) : [], versionSid);
    }, function (err) {
      if (draw !== flowDraw) return;
      clear(box).appendChild(el('p', { class: 'muted', role: 'alert', text: 'The flow could not be read: ' + errorText(err) }));
    });
  }

  function showFlowLine(versionSid, line, what) {
    var box = byId('flow-line');
    sourceLines(versionSid).then(function (lines) {
      clear(box).hidden = false;
      box.appendChild(el('span', { class: 'muted', text: (what ? what + ' · ' : '') + 'line ' + line }));
      box.appendChild(el('pre', { class: 'flow-line-code' }, [el('code', { text: (lines[line - 1] || '').replace(/\s+$/, '') })]));
      if (editor && versionSid === codeVersionSid) editor.scrollToLine(line);
    }, function (err) {
      clear(box).hidden = false;
      box.textContent = 'line ' + line + ' (source not readable: ' + errorText(err) + ')';
    });
  }

  function drawFlow(box, graph, play, kids, versionSid) {
    var pool = {};
    kids.forEach(function (k) { (pool[k.name] = pool[k.name] || []).push(k); });
    var matched = 0;
    function take(name, all) {
      var list = pool[name] || [];
      if (!list.length) return [];
      var got = all ? list.splice(0, list.length) : list.splice(0, 1);
      matched += got.length;
      return got;
    }

    function chip(k, attempt) {
      var cost = (k.subtree && k.subtree.cost_usd) || k.total_cost_usd || 0;
      return el('a', {
        class: 'flow-play status-' + k.status + (k.replayed ? ' flow-replayed' : ''),
        href: logicHref(k.logic_sid, k.sid), 'data-play': k.sid,
        title: 'Open ' + k.name + ' with Play ' + k.sid + (k.replayed ? ' (replayed from the record)' : '')
      }, [
        dot(k.status),
        attempt ? el('span', { class: 'flow-attempt', text: 'attempt ' + attempt }) : null,
        el('span', { class: 'flow-status', text: statusLabel(k.status) }),
        durationNode(k, 'flow-dur'),
        cost ? el('span', { class: 'flow-cost', text: fmtCost(cost) }) : null,
        k.replayed ? el('span', { class: 'flow-replay-mark', 'aria-label': 'replayed', text: '↻' }) : null
      ]);
    }

    function lineButton(n, text, cls) {
      return el('button', {
        type: 'button', class: 'flow-label ' + (cls || ''), 'data-line': n.line,
        title: 'Show line ' + n.line + ' of the source',
        onclick: function () { showFlowLine(versionSid, n.line, text); }
      }, [text]);
    }

    function steps(nodes, inLoop) {
      var ol = el('ol', { class: 'flow-steps' });
      nodes.forEach(function (n) { ol.appendChild(step(n, inLoop)); });
      return ol;
    }

    function step(n, inLoop) {
      var helper = n.helper ? el('span', { class: 'flow-helper', text: 'in ' + n.helper + '()' }) : null;
      switch (n.kind) {
        case 'invoke': {
          var target = n.target || '';
          // A fan-out (logic.map/spawn/ainvoke) fills its node with every branch, side by side.
          var fan = n.via === 'parallel';
          var got = target ? take(target, inLoop || fan) : [];
          var li = el('li', { class: 'flow-node flow-invoke' + (play && !got.length ? ' flow-notrun' : ''), 'data-target': target }, [
            el('div', { class: 'flow-node-head' }, [
              el('span', { class: 'flow-kind', text: n.via === 'binding' ? 'runs' : fan ? '∥ runs side by side' : 'invokes' }),
              lineButton(n, target || n.label, 'flow-target'), helper
            ])
          ]);
          if (got.length) {
            li.appendChild(el('div', { class: 'flow-plays' + (fan ? ' flow-parallel' : got.length > 1 ? ' flow-stack' : '') },
              got.map(function (k, i) { return chip(k, got.length > 1 && !fan ? i + 1 : 0); })));
          }
          return li;
        }
        case 'rpc': {
          var text = n.api === 'http' ? n.label : (n.service ? n.service + '.' + n.method : n.label);
          return el('li', { class: 'flow-node flow-leaf flow-rpc' }, [
            el('span', { class: 'flow-kind', text: n.api === 'http' ? 'HTTP' : n.service === 'Model' ? 'model' : 'RPC' }),
            lineButton(n, text), helper
          ]);
        }
        case 'pause':
          return el('li', { class: 'flow-node flow-leaf flow-pause' }, [
            pauseIcon(), el('span', { class: 'flow-kind', text: 'asks' + (n.form ? ' (' + n.form + ')' : '') }),
            lineButton(n, n.prompt || n.name || n.label), helper
          ]);
        case 'loop':
          return el('li', { class: 'flow-node flow-loop' }, [
            el('div', { class: 'flow-node-head' }, [el('span', { class: 'flow-kind', text: '⟳ loop' }), lineButton(n, n.header || n.label), helper]),
            steps(n.children || [], true),
            (n.orelse && n.orelse.length) ? el('div', { class: 'flow-sub' }, [el('span', { class: 'flow-kind', text: 'else' }), steps(n.orelse, inLoop)]) : null
          ]);
        case 'if': {
          var counts = [];
          var branches = (n.branches || []).map(function (b) {
            var before = matched;
            var body = steps(b.children || [], inLoop);
            counts.push(matched - before);
            return el('div', { class: 'flow-branch' }, [
              el('div', { class: 'flow-node-head' }, [
                el('span', { class: 'flow-kind', text: b.condition ? (b.condition.indexOf('case') === 0 ? '' : 'if') : 'else' }),
                b.condition ? lineButton(b, b.condition, 'flow-cond') : null
              ]),
              body
            ]);
          });
          var anyTaken = counts.some(function (c) { return c > 0; });
          branches.forEach(function (b, i) { if (play && anyTaken && !counts[i]) b.classList.add('flow-dim'); });
          return el('li', { class: 'flow-node flow-if' }, [el('div', { class: 'flow-fork' }, branches), helper]);
        }
        case 'try': {
          var parts = [el('div', { class: 'flow-branch' }, [el('div', { class: 'flow-node-head' }, [el('span', { class: 'flow-kind', text: 'try' })]), steps(n.body || [], inLoop)])];
          (n.handlers || []).forEach(function (h) {
            parts.push(el('div', { class: 'flow-branch' }, [el('div', { class: 'flow-node-head' }, [el('span', { class: 'flow-kind', text: 'except' }), lineButton(h, h.exception || '(any)', 'flow-cond')]), steps(h.children || [], inLoop)]));
          });
          if (n.finalbody && n.finalbody.length) parts.push(el('div', { class: 'flow-branch' }, [el('div', { class: 'flow-node-head' }, [el('span', { class: 'flow-kind', text: 'finally' })]), steps(n.finalbody, inLoop)]));
          return el('li', { class: 'flow-node flow-try' }, [el('div', { class: 'flow-fork' }, parts)]);
        }
        case 'return':
          return el('li', { class: 'flow-node flow-return' }, [el('span', { class: 'flow-kind', text: 'return' }), lineButton(n, n.value || n.label || ''), helper]);
        default:
          return el('li', { class: 'flow-node' }, [lineButton(n, n.label || n.kind)]);
      }
    }

    if (graph.error) {
      box.appendChild(el('p', { class: 'flow-error', role: 'alert', text: 'The source could not be read' + (graph.error.line ? ' at line ' + graph.error.line : '') + ': ' + graph.error.message }));
    }
    if (graph.entry) {
      box.appendChild(el('div', { class: 'flow-entry' }, [
        el('span', { class: 'flow-kind', text: 'entry' }),
        lineButton(graph.entry, graph.entry.function + '()', 'flow-target')
      ]));
    }
    var nodes = graph.nodes || [];
    if (nodes.length) box.appendChild(steps(nodes, false));
    else if (!graph.error) box.appendChild(el('p', { class: 'muted', text: 'No calls to other Logics, services or people: this version runs on its own.' }));
    var rest = [];
    Object.keys(pool).forEach(function (name) { rest = rest.concat(pool[name]); });
    if (rest.length) {
      box.appendChild(el('div', { class: 'flow-rest' }, [
        el('p', { class: 'muted small', text: 'Calls the static flow does not place (computed names):' }),
        el('div', { class: 'flow-plays' }, rest.map(function (k) {
          var c = chip(k, 0);
          c.insertBefore(el('span', { class: 'flow-name', text: k.name }), c.childNodes[1]);
          return c;
        }))
      ]));
    }
    if (graph.truncated) box.appendChild(el('p', { class: 'muted small', text: 'The flow is cut short: it nests deeper or is larger than drawn.' }));
  }

  // ---------------------------------------------------------------- code view
  // CodeMirror 6 (the bundle /static/editor.js, window.HeroLogicEditor) when the admin was
  // built with it; otherwise the page's text area with a line-number gutter. Save creates a
  // new version; a parse error is marked at its line and the text stays.

  var codeBox = byId('code-editor');
  var codeText = byId('code-text');
  var codeVersionSid = currentVersion.sid || '';
  var codeDirty = false;
  var editor = null;

  function plainEditor(textarea) {
    var gutter = el('pre', { class: 'code-gutter', 'aria-hidden': 'true' });
    var wrap = el('div', { class: 'code-plain' });
    textarea.parentNode.insertBefore(wrap, textarea);
    wrap.appendChild(gutter);
    wrap.appendChild(textarea);
    var errorAt = 0;
    function numbers() {
      var n = textarea.value.split('\n').length;
      clear(gutter);
      for (var i = 1; i <= n; i++) gutter.appendChild(el('span', { class: i === errorAt ? 'ln-error' : null, text: String(i) }));
      gutter.scrollTop = textarea.scrollTop;
    }
    textarea.addEventListener('input', function () { codeDirty = true; numbers(); });
    textarea.addEventListener('scroll', function () { gutter.scrollTop = textarea.scrollTop; });
    numbers();
    return {
      kind: 'plain',
      getValue: function () { return textarea.value; },
      setValue: function (text) { textarea.value = text; errorAt = 0; numbers(); },
      scrollToLine: function (line, column) {
        var lines = textarea.value.split('\n');
        line = Math.max(1, Math.min(lines.length, line | 0));
        var pos = 0;
        for (var i = 0; i < line - 1; i++) pos += lines[i].length + 1;
        pos += Math.min(lines[line - 1].length, Math.max(0, (column || 1) - 1));
        textarea.setSelectionRange(pos, pos);
        var lh = parseFloat(window.getComputedStyle(textarea).lineHeight) || 18;
        textarea.scrollTop = Math.max(0, (line - 1) * lh - textarea.clientHeight / 2);
        gutter.scrollTop = textarea.scrollTop;
      },
      markError: function (line) { errorAt = line || 0; numbers(); },
      focus: function () { textarea.focus(); }
    };
  }

  function setupEditor() {
    var made = null;
    if (window.HeroLogicEditor && typeof window.HeroLogicEditor.create === 'function') {
      var doc = codeText.value;
      codeText.remove();
      try {
        made = window.HeroLogicEditor.create(codeBox, { doc: doc, label: 'Python source', onChange: function () { codeDirty = true; } });
      } catch (e) {
        clear(codeBox).appendChild(codeText);
        made = null;
      }
    }
    editor = made || plainEditor(codeText);
    codeBox.setAttribute('data-editor', editor.kind);
  }

  function markCodeError(line) {
    if (line) codeBox.setAttribute('data-error-line', String(line));
    else codeBox.removeAttribute('data-error-line');
    editor.markError(line || 0);
  }

  function showCodeError(err) {
    var box = clear(byId('code-error'));
    if (!err) { box.hidden = true; markCodeError(0); return; }
    var data = err.data || {};
    var where = data.line ? 'Line ' + data.line + (data.column ? ', column ' + data.column : '') + ': ' : '';
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

  function setCodeLabel(version) {
    byId('code-tab-label').textContent = version ? version.label : '';
    byId('code-about').textContent = version
      ? (version.kind && version.kind !== 'python' ? 'Version ' + version.label + ' is ' + version.kind + ': it runs that Logic with mapped inputs and outputs.' : 'Python source of ' + version.label)
      : '';
  }

  // Shows a version's source in the editor (unless there are unsaved edits).
  function loadCode(versionSid) {
    if (!versionSid || versionSid === codeVersionSid) return;
    if (codeDirty) {
      byId('code-about').textContent = 'Unsaved edits kept; save them or reload to see ' + ((versionsBySid[versionSid] || {}).label || versionSid) + '.';
      return;
    }
    codeVersionSid = versionSid;
    sourceLines(versionSid).then(function (lines) {
      if (codeVersionSid !== versionSid || codeDirty) return;
      editor.setValue(lines.join('\n'));
      codeDirty = false;
      showCodeError(null);
      setCodeLabel(versionsBySid[versionSid]);
    }, function (err) { showCodeError(err); });
    showVersionKind(versionSid);
  }

  function setupCodeSave() {
    var form = byId('code-save-form');
    var toggle = byId('code-save');
    function open(on) {
      form.hidden = !on;
      toggle.setAttribute('aria-expanded', on ? 'true' : 'false');
      if (on) byId('code-label').focus();
    }
    toggle.addEventListener('click', function () { open(form.hidden); });
    byId('code-save-cancel').addEventListener('click', function () { open(false); toggle.focus(); });
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var submit = byId('code-save-submit');
      submit.disabled = true;
      showCodeError(null);
      var label = byId('code-label').value.trim();
      var bound = mapping.mode === 'mapping';
      if (bound && !mapping.target) {
        submit.disabled = false;
        showCodeError({ message: 'Pick the target Logic of the mapping first.', data: {} });
        return;
      }
      rpc('LogicService.logic_create_version', {
        logic: logic.sid,
        python_source: bound ? undefined : editor.getValue(),
        binding: bound ? bindingParams() : undefined,
        version_label: label || undefined,
        notes: byId('code-notes').value.trim(),
        make_current: byId('code-current').checked
      }).then(function (version) {
        codeDirty = false;
        location.assign(logicHref(logic.sid, '') + '?version=' + encodeURIComponent(version.sid) + '&tab=code');
      }, function (err) {
        submit.disabled = false;
        showCodeError(err);
        if (bound) showMappingError(err);
      });
    });
  }

  // ---------------------------------------------------------------- mapping editor
  // A bound version (§8) runs another Logic with mapped inputs and outputs. Picking the target
  // fills identity rows from logic_binding_identity; each row is `target ← source`.

  var mapping = { mode: 'python', target: '', identity: null, rows: { input: [], output: [] }, targets: null };

  function setMode(mode) {
    mapping.mode = mode;
    byId('mode-python').setAttribute('aria-pressed', mode === 'python' ? 'true' : 'false');
    byId('mode-mapping').setAttribute('aria-pressed', mode === 'mapping' ? 'true' : 'false');
    byId('code-editor').hidden = mode !== 'python';
    byId('mapping').hidden = mode !== 'mapping';
    var viewed = versionsBySid[codeVersionSid];
    var viewedBound = viewed && viewed.kind && viewed.kind !== 'python';
    if (mode === 'mapping' && !viewedBound) byId('code-about').textContent = 'A new bound version: it runs another Logic with mapped inputs and outputs.';
    else if (viewed) setCodeLabel(viewed);
    if (mode === 'mapping') loadTargets();
  }

  function loadTargets() {
    if (mapping.targets) return mapping.targets;
    mapping.targets = rpc('logic.find', { limit: 500 }).then(function (page) {
      var select = byId('map-target');
      var names = (page.items || []).filter(function (l) { return l.sid !== logic.sid; })
        .map(function (l) { return l.name; }).sort();
      names.forEach(function (name) {
        if (!select.querySelector('option[value="' + CSS.escape(name) + '"]')) select.appendChild(el('option', { value: name, text: name }));
      });
      if (mapping.target) select.value = mapping.target;
      return names;
    }, function (err) { mapping.targets = null; showCodeError(err); });
    return mapping.targets;
  }

  function identityOf(kind) {
    return ((mapping.identity && mapping.identity[kind + '_mappings']) || []).map(function (m) { return { target: m.target, source: m.source }; });
  }

  // Picks a target: identity rows, then (when given) the saved rows over them.
  function pickTarget(target, saved) {
    mapping.target = target;
    byId('map-target').value = target;
    byId('map-reset').disabled = !target;
    if (!target) { mapping.identity = null; mapping.rows = { input: [], output: [] }; renderMapping(); return Promise.resolve(); }
    return rpc('LogicService.logic_binding_identity', { target: target }).then(function (identity) {
      if (mapping.target !== target) return;
      mapping.identity = identity;
      mapping.rows = { input: merge(identityOf('input'), saved && saved.input_mappings), output: merge(identityOf('output'), saved && saved.output_mappings) };
      renderMapping();
    }, function (err) { showCodeError(err); });
  }

  function merge(rows, saved) {
    (saved || []).forEach(function (m) {
      var row = rows.filter(function (r) { return r.target === m.target; })[0];
      if (row) row.source = m.source; else rows.push({ target: m.target, source: m.source });
    });
    return rows;
  }

  function identitySource(kind, target) {
    var row = identityOf(kind).filter(function (r) { return r.target === target; })[0];
    return row ? row.source : null;
  }

  function renderMapping() {
    ['input', 'output'].forEach(function (kind) {
      var list = clear(byId('map-sources-' + kind));
      var options = [];
      if (kind === 'output') identityOf('output').forEach(function (r) { options.push(r.source); });
      identityOf('input').forEach(function (r) { options.push(r.source); });
      options.push('literal:', 'literal_json:');
      options.forEach(function (o) { list.appendChild(el('option', { value: o })); });
      var body = clear(byId(kind === 'input' ? 'map-inputs' : 'map-outputs').tBodies[0]);
      if (!mapping.target) { body.appendChild(el('tr', {}, [el('td', { class: 'muted small', text: 'Pick a target Logic first.' })])); return; }
      if (!mapping.rows[kind].length) body.appendChild(el('tr', {}, [el('td', { class: 'muted small', text: 'None declared.' })]));
      mapping.rows[kind].forEach(function (row, i) {
        var input = el('input', {
          type: 'text', class: 'map-source', list: 'map-sources-' + kind, value: row.source, spellcheck: 'false',
          'aria-label': 'Source of ' + row.target, autocomplete: 'off'
        });
        var tr = el('tr', { class: 'map-row', 'data-kind': kind, 'data-index': i, 'data-target': row.target }, [
          el('th', { scope: 'row' }, [el('code', { text: row.target })]),
          el('td', { class: 'map-arrow', 'aria-hidden': 'true', text: '←' }),
          el('td', {}, [input, el('div', { class: 'map-err', role: 'alert' })])
        ]);
        function mark() {
          row.source = input.value;
          var same = identitySource(kind, row.target) === row.source;
          tr.classList.toggle('map-identity', same);
          tr.classList.toggle('map-changed', !same);
        }
        input.addEventListener('input', function () { tr.classList.remove('map-invalid'); tr.querySelector('.map-err').textContent = ''; mark(); });
        mark();
        body.appendChild(tr);
      });
    });
  }

  function showMappingError(err) {
    var field = (err && err.data && err.data.field) || '';
    var m = /binding\.(input|output)_mappings\[(\d+)\]/.exec(field);
    if (!m) return false;
    var tr = document.querySelector('.map-row[data-kind="' + m[1] + '"][data-index="' + m[2] + '"]');
    if (!tr) return false;
    tr.classList.add('map-invalid');
    tr.querySelector('.map-err').textContent = err.message || 'not valid';
    tr.querySelector('input').focus();
    return true;
  }

  function bindingParams() {
    return { target: mapping.target, input_mappings: mapping.rows.input.slice(), output_mappings: mapping.rows.output.slice() };
  }

  function setupMapping() {
    byId('mode-python').addEventListener('click', function () { setMode('python'); });
    byId('mode-mapping').addEventListener('click', function () { setMode('mapping'); });
    byId('map-target').addEventListener('change', function () { pickTarget(byId('map-target').value, null); });
    byId('map-reset').addEventListener('click', function () {
      mapping.rows = { input: identityOf('input'), output: identityOf('output') };
      renderMapping();
    });
    renderMapping();
  }

  // A bound version opens in the mapping editor with its own rows.
  function showVersionKind(versionSid) {
    var version = versionsBySid[versionSid];
    if (!version || !version.kind || version.kind === 'python') { setMode('python'); return; }
    setMode('mapping');
    versionRecord(versionSid).then(function (record) {
      if (!record.binding) return;
      var target = record.binding.target;
      loadTargets();
      var select = byId('map-target');
      if (!select.querySelector('option[value="' + CSS.escape(target) + '"]')) select.appendChild(el('option', { value: target, text: target }));
      pickTarget(target, record.binding);
    }, function () {});
  }

  // ---------------------------------------------------------------- tabs

  var selectTab = function () {};
  var splitOn = false;

  function setupTabs() {
    var tabs = Array.prototype.slice.call(document.querySelectorAll('.tabs [role=tab]'));
    var center = document.querySelector('.center');
    function show(tab) {
      tabs.forEach(function (t) {
        var id = t.getAttribute('aria-controls');
        var both = splitOn && (id === 'panel-flow' || id === 'panel-source');
        byId(id).hidden = splitOn ? !both : t !== tab;
      });
    }
    function select(tab, focus) {
      var id = tab.getAttribute('aria-controls');
      if (splitOn && id !== 'panel-flow' && id !== 'panel-source') setSplit(false);
      tabs.forEach(function (t) {
        var on = t === tab;
        t.setAttribute('aria-selected', on ? 'true' : 'false');
        t.tabIndex = on ? 0 : -1;
      });
      show(tab);
      if (focus) tab.focus();
    }
    function setSplit(on) {
      splitOn = on;
      center.classList.toggle('split', on);
      byId('split-toggle').setAttribute('aria-pressed', on ? 'true' : 'false');
      show(tabs.filter(function (t) { return t.getAttribute('aria-selected') === 'true'; })[0] || tabs[0]);
    }
    byId('split-toggle').addEventListener('click', function () { setSplit(!splitOn); });
    tabs.forEach(function (tab, i) {
      tab.addEventListener('click', function () { select(tab, false); });
      tab.addEventListener('keydown', function (event) {
        var next = null;
        if (event.key === 'ArrowRight') next = tabs[(i + 1) % tabs.length];
        else if (event.key === 'ArrowLeft') next = tabs[(i - 1 + tabs.length) % tabs.length];
        else if (event.key === 'Home') next = tabs[0];
        else if (event.key === 'End') next = tabs[tabs.length - 1];
        if (next) { event.preventDefault(); select(next, true); }
      });
    });
    selectTab = function (id) { var tab = byId(id); if (tab) select(tab, false); };
  }

  // ---------------------------------------------------------------- start

  setupTabs();
  setupEditor();
  setupCodeSave();
  setupMapping();
  showVersionKind(codeVersionSid);
  renderInputs();
  renderExamples();
  var params = new URLSearchParams(location.search);
  if (params.get('version') && versionsBySid[params.get('version')]) pickVersion(params.get('version'));
  if (params.get('tab') === 'code') selectTab('tab-source');
  var initial = new URLSearchParams(location.search).get('play') || '';
  if (initial) showOverlay(initial, 'none');
  else showOverlay('', 'none');
  window.addEventListener('pagehide', closeStream);
})();
