// The flow view: the static graph of the drawn Play's version (logic_parse_graph) with the
// Play's children filling their invoke nodes. Idle, the latest Play of the Logic is drawn.
// Slices: overlay, viewed, plays (the latest Play when nothing is overlaid).

import { errorText, fetchOverlay, graphFor, sourceLines } from './api.js';
import { byId, clear, dot, durationNode, el, pauseIcon, statusPill } from './dom.js';
import { fmtCost, fmtInt, logicHref, shownStatus, statusLabel } from './format.js';
import { scrollCodeToLine } from './code.js';
import { listedPlays, page, store } from './state.js';
import { forkButton } from './durable.js';

const RPC_KINDS = { http: 'HTTP', model: 'model', stdlib: 'stdlib' };
// Leaves that leave the Play (a model, a service, the network) carry ⚡; a stdlib marker
// (re.search, ast.parse) is local work.
const OUTSIDE_CALL = { http: true, model: true, client: true, hero_logic: true };

let idle = { sid: '', overlay: null, failed: false };   // the latest Play, drawn when none is overlaid
let draws = 0;

// The Play the flow draws ({play, descendants, idle}), {loading: true}, or null; may start
// loading the latest one.
function flowPlay(state) {
  const overlay = state.overlay;
  if (overlay.root) return { play: overlay.root, descendants: overlay.descendants, idle: false };
  const viewed = state.viewed;
  const latest = listedPlays(state.plays).filter(function (p) {
    return p.logic_sid === page.logic.sid && (!viewed.picked || p.logic_version_sid === viewed.version.sid);
  })[0];
  if (!latest) return null;
  if (idle.sid !== latest.sid) {
    idle = { sid: latest.sid, overlay: null, failed: false };
    fetchOverlay(latest.sid).then(function (found) {
      if (idle.sid !== latest.sid) return;
      idle.overlay = found;
      if (!store.get().overlay.root) renderFlow(store.get());
    }, function () {
      if (idle.sid !== latest.sid) return;
      idle.failed = true;
      if (!store.get().overlay.root) renderFlow(store.get());
    });
  }
  if (!idle.overlay) return idle.failed ? null : { loading: true };
  return { play: idle.overlay.play, descendants: idle.overlay.descendants || [], idle: true };
}

function directChildren(play, descendants) {
  const kids = descendants.filter(function (p) { return p.parent_play_sid === play.sid; });
  const position = {};
  (play.sub_play_sids || []).forEach(function (sid, i) { position[sid] = i; });
  kids.sort(function (a, b) {
    const pa = position[a.sid], pb = position[b.sid];
    if (pa === undefined && pb === undefined) return (a.created_at || 0) - (b.created_at || 0);
    if (pa === undefined) return 1;
    if (pb === undefined) return -1;
    return pa - pb;
  });
  return kids;
}

function renderFlow(state, changed) {
  if (state.overlay.phase === 'loading') return;
  // With a Play overlaid, the recent Plays do not change the drawing.
  if (changed && state.overlay.root && changed.length === 1 && changed[0] === 'plays') return;
  draws += 1;
  const draw = draws;
  const head = clear(byId('flow-head'));
  const box = byId('flow');
  const drawn = flowPlay(state);
  if (drawn && drawn.loading) return;
  const play = drawn ? drawn.play : null;
  const versionSid = play ? play.logic_version_sid : state.viewed.version.sid;
  if (!versionSid) { clear(box).appendChild(el('p', { class: 'muted', text: 'This Logic has no version.' })); return; }
  const version = page.versionsBySid[versionSid];
  head.appendChild(el('span', { class: 'flow-version' }, ['Version ', el('strong', { text: version ? version.label : versionSid })]));
  if (play) {
    head.appendChild(el('span', { class: 'muted' }, [drawn.idle ? 'latest Play ' : 'Play ', el('code', { text: play.sid }), ' ']));
    head.appendChild(statusPill(shownStatus(play)));
  } else if (state.overlay.phase === 'error') {
    head.appendChild(el('span', { class: 'flow-error', role: 'alert', text: 'Play ' + state.overlay.sid + ' could not be shown: ' + errorText(state.overlay.error) + '. The static flow only.' }));
  } else {
    head.appendChild(el('span', { class: 'muted', text: 'no Play yet: the static flow only' }));
  }
  graphFor(versionSid).then(function (graph) {
    if (draw !== draws) return;
    drawFlow(clear(box), graph, play, play ? directChildren(play, drawn.descendants) : [], versionSid);
  }, function (err) {
    if (draw !== draws) return;
    clear(box).appendChild(el('p', { class: 'muted', role: 'alert', text: 'The flow could not be read: ' + errorText(err) }));
  });
}

function showFlowLine(versionSid, line, what) {
  const box = byId('flow-line');
  sourceLines(versionSid).then(function (lines) {
    clear(box).hidden = false;
    box.appendChild(el('span', { class: 'muted', text: (what ? what + ' · ' : '') + 'line ' + line }));
    box.appendChild(el('pre', { class: 'flow-line-code' }, [el('code', { text: (lines[line - 1] || '').replace(/\s+$/, '') })]));
    scrollCodeToLine(versionSid, line);
  }, function (err) {
    clear(box).hidden = false;
    box.textContent = 'line ' + line + ' (source not readable: ' + errorText(err) + ')';
  });
}

// The questions the Play asked, by the name the SDK gave them ("<play>:<name>:<n>" ids):
// answered or still open, each shows that the code around its ask ran.
function askedNames(play) {
  const names = {};
  if (!play) return names;
  const ids = Object.keys(play.received_resumes || {}).concat((play.pending_resumes || []).map(function (r) { return r.id; }));
  ids.forEach(function (id) {
    const parts = id.split(':');
    if (parts.length < 3) return;
    const name = parts[parts.length - 2];
    names[name] = (names[name] || 0) + 1;
  });
  return names;
}

// How many calls or questions under these nodes a run would have recorded had it gone there.
function recordable(nodes) {
  let n = 0;
  (nodes || []).forEach(function (node) {
    if (node.kind === 'invoke' && node.target) n += 1;
    if (node.kind === 'pause') n += 1;
    n += recordable(node.children) + recordable(node.orelse) + recordable(node.body) + recordable(node.finalbody);
    (node.branches || []).concat(node.handlers || []).forEach(function (b) { n += recordable(b.children); });
  });
  return n;
}

function drawFlow(box, graph, play, kids, versionSid) {
  const pool = {};
  kids.forEach(function (k) { (pool[k.name] = pool[k.name] || []).push(k); });
  const asked = askedNames(play);
  // A Play that ran to its end went through every branch it was going to.
  const ranToEnd = !!play && play.status === 'success';
  let matched = 0;
  function take(name, all) {
    const list = pool[name] || [];
    if (!list.length) return [];
    const got = all ? list.splice(0, list.length) : list.splice(0, 1 + retriesAfter(list));
    matched += got.length;
    return got;
  }

  function chip(k, attempt) {
    const cost = (k.subtree && k.subtree.cost_usd) || k.total_cost_usd || 0;
    return el('a', {
      class: 'flow-play status-' + shownStatus(k) + (k.replayed ? ' flow-replayed' : ''),
      href: logicHref(k.logic_sid, k.sid), 'data-play': k.sid,
      title: 'Open ' + k.name + ' with Play ' + k.sid + (k.replayed ? ' (replayed from the record)' : '')
    }, [
      dot(),
      attempt ? el('span', { class: 'flow-attempt', text: 'attempt ' + attempt }) : null,
      el('span', { class: 'flow-status', text: statusLabel(shownStatus(k)) }),
      durationNode(k, 'flow-dur'),
      cost ? el('span', { class: 'flow-cost', text: fmtCost(cost) }) : null,
      k.replayed ? el('span', { class: 'flow-replay-mark', 'aria-label': 'replayed', text: '↻' }) : null
    ]);
  }

  // `detail`: what the run recorded about this leaf, shown with its line.
  function lineButton(n, text, cls, detail) {
    return el('button', {
      type: 'button', class: 'flow-label ' + (cls || ''), 'data-line': n.line,
      title: 'Show line ' + n.line + ' of the source',
      onclick: function () { showFlowLine(versionSid, n.line, text + (detail ? ' · ' + detail : '')); }
    }, [text]);
  }

  // The model calls' cost as the Play recorded it (the daemon adds every call's tokens to
  // the Play that made it, so the figure is the Play's, over all its model calls).
  function modelCost() {
    if (!play) return '';
    const tokensIn = play.total_tokens_prompt || 0;
    const tokensOut = play.total_tokens_completion || 0;
    if (!tokensIn && !tokensOut && !play.total_cost_usd) return 'this Play recorded no model tokens';
    return 'this Play\'s model calls: ' + fmtInt(tokensIn) + ' prompt + ' + fmtInt(tokensOut) + ' completion tokens, ' + fmtCost(play.total_cost_usd || 0);
  }

  function steps(nodes, inLoop) {
    const ol = el('ol', { class: 'flow-steps' });
    nodes.forEach(function (n) { ol.appendChild(step(n, inLoop)); });
    return ol;
  }

  function head(kind, rest) { return el('div', { class: 'flow-node-head' }, [el('span', { class: 'flow-kind', text: kind })].concat(rest || [])); }

  function step(n, inLoop) {
    const helper = n.helper ? el('span', { class: 'flow-helper', text: 'in ' + n.helper + '()' }) : null;
    switch (n.kind) {
      case 'invoke': {
        const target = n.target || '';
        // A fan-out (logic.map/spawn/ainvoke) fills its node with every branch, side by side.
        const fan = n.via === 'parallel';
        const got = target ? take(target, inLoop || fan) : [];
        const li = el('li', { class: 'flow-node flow-invoke' + (play && !got.length ? ' flow-notrun' : ''), 'data-target': target }, [
          head(n.via === 'binding' ? 'runs' : fan ? '∥ runs side by side' : 'invokes', [lineButton(n, target || n.label, 'flow-target'), helper])
        ]);
        if (got.length) {
          li.appendChild(el('div', { class: 'flow-plays' + (fan ? ' flow-parallel' : got.length > 1 ? ' flow-stack' : '') },
            withForks(got.map(function (k, i) { return [fan ? null : k, chip(k, k.attempt || (got.length > 1 && !fan ? i + 1 : 0))]; }))));
          // A fan-out's branches stay on one row; the node forks from its first branch.
          const fanFork = fan && forkButton(got[0]);
          if (fanFork) li.appendChild(el('div', { class: 'flow-plays' }, [fanFork]));
        }
        return li;
      }
      case 'rpc': {
        // The leaf's kind as read: HTTP, a model call, a stdlib marker, else an RPC.
        const text = n.api === 'http' ? n.label : (n.service ? n.service + '.' + n.method : n.label);
        const outside = OUTSIDE_CALL[n.api] === true;
        return el('li', { class: 'flow-node flow-leaf flow-rpc flow-api-' + (n.api || 'rpc'), 'data-api': n.api || '' }, [
          el('span', { class: 'flow-kind', text: (outside ? '⚡ ' : '') + (RPC_KINDS[n.api] || 'RPC') }),
          lineButton(n, text, '', n.api === 'model' ? modelCost() : ''), helper
        ]);
      }
      case 'pause': {
        const sleeps = n.via === 'logic.sleep';
        const askName = n.name || n.form || 'pause';
        const wasAsked = (asked[askName] || 0) > 0;
        if (wasAsked) { asked[askName] -= 1; matched += 1; }
        return el('li', { class: 'flow-node flow-leaf flow-pause' + (wasAsked ? ' flow-asked' : '') }, [
          sleeps ? null : pauseIcon(),
          el('span', { class: 'flow-kind', text: sleeps ? 'sleeps' : 'asks' + (n.form ? ' (' + n.form + ')' : '') }),
          lineButton(n, n.prompt || n.name || n.label), helper
        ]);
      }
      case 'loop':
        return el('li', { class: 'flow-node flow-loop' }, [
          head('⟳ loop', [lineButton(n, n.header || n.label), helper]),
          steps(n.children || [], true),
          (n.orelse && n.orelse.length) ? el('div', { class: 'flow-sub' }, [el('span', { class: 'flow-kind', text: 'else' }), steps(n.orelse, inLoop)]) : null
        ]);
      case 'if': {
        const counts = [];
        const branches = (n.branches || []).map(function (b) {
          const before = matched;
          const body = steps(b.children || [], inLoop);
          counts.push(matched - before);
          return el('div', { class: 'flow-branch' }, [
            head(b.condition ? (b.condition.indexOf('case') === 0 ? '' : 'if') : 'else', [b.condition ? lineButton(b, b.condition, 'flow-cond') : null]),
            body
          ]);
        });
        // Not taken: a sibling left a record and this one none, or the Play ran to its end
        // without the calls or questions this branch would have recorded.
        const anyTaken = counts.some(function (c) { return c > 0; });
        branches.forEach(function (b, i) {
          const leftNoTrace = ranToEnd && recordable(n.branches[i].children) > 0;
          if (play && !counts[i] && (anyTaken || leftNoTrace)) b.classList.add('flow-dim');
        });
        return el('li', { class: 'flow-node flow-if' }, [el('div', { class: 'flow-fork' }, branches), helper]);
      }
      case 'try': {
        const parts = [el('div', { class: 'flow-branch' }, [head('try'), steps(n.body || [], inLoop)])];
        (n.handlers || []).forEach(function (h) {
          parts.push(el('div', { class: 'flow-branch' }, [head('except', [lineButton(h, h.exception || '(any)', 'flow-cond')]), steps(h.children || [], inLoop)]));
        });
        if (n.finalbody && n.finalbody.length) parts.push(el('div', { class: 'flow-branch' }, [head('finally'), steps(n.finalbody, inLoop)]));
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
  const nodes = graph.nodes || [];
  if (nodes.length) box.appendChild(steps(nodes, false));
  else if (!graph.error) box.appendChild(el('p', { class: 'muted', text: 'No calls to other Logics, services or people: this version runs on its own.' }));
  let rest = [];
  Object.keys(pool).forEach(function (name) { rest = rest.concat(pool[name]); });
  if (rest.length) {
    box.appendChild(el('div', { class: 'flow-rest' }, [
      el('p', { class: 'muted small', text: 'Calls the static flow does not place (computed names):' }),
      el('div', { class: 'flow-plays' }, rest.map(function (k) {
        const c = chip(k, 0);
        c.insertBefore(el('span', { class: 'flow-name', text: k.name }), c.childNodes[1]);
        return c;
      }))
    ]));
  }
  if (graph.truncated) box.appendChild(el('p', { class: 'muted small', text: 'The flow is cut short: it nests deeper or is larger than drawn.' }));
}

export function mountFlow() {
  store.subscribe(['overlay', 'viewed', 'plays'], renderFlow);
  renderFlow(store.get());
}

// The attempts of one retried call (attempt 2, 3, ... right after the first) belong to the
// same node of the flow.
function retriesAfter(list) {
  if (!list[0] || list[0].attempt !== 1) return 0;
  let n = 0;
  while (list[n + 1] && list[n + 1].attempt === list[n].attempt + 1) n += 1;
  return n;
}

// Each chip of a step, followed by its "Re-run from here" when the step can be forked from.
function withForks(pairs) {
  const out = [];
  pairs.forEach(function (pair) {
    out.push(pair[1]);
    const fork = pair[0] && forkButton(pair[0]);
    if (fork) out.push(fork);
  });
  return out;
}
