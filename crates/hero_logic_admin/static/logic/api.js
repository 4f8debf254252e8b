// Talking to the admin: JSON-RPC through its /rpc proxy, the overlay JSON and the event
// stream URL, and the per-version reads that never change (cached per version sid).

let rpcId = 0;

// Rejects with {code, message, data}: the daemon's error as it sent it.
export function rpc(method, params) {
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

export function errorText(err) {
  if (!err) return 'unknown error';
  let text = err.message || String(err);
  if (err.data && err.data.hint) text += ' — ' + err.data.hint;
  return text;
}

// A Play, its descendants and its ancestors in one JSON.
export function fetchOverlay(playSid) { return getJSON('/api/plays/' + encodeURIComponent(playSid) + '/overlay'); }

export function eventsUrl(playSid) { return '/api/plays/' + encodeURIComponent(playSid) + '/events'; }

// Versions are immutable, so their graph and record are fetched once; a failed read is
// forgotten so the next asks again.
function cached(cache, key, load) {
  if (!cache[key]) {
    cache[key] = load();
    cache[key].catch(function () { delete cache[key]; });
  }
  return cache[key];
}

const graphs = {};
const records = {};

export function graphFor(versionSid) {
  return cached(graphs, versionSid, function () { return rpc('LogicService.logic_parse_graph', { version_sid: versionSid }); });
}

export function versionRecord(versionSid) {
  return cached(records, versionSid, function () { return rpc('logicversion.get', { sid: versionSid }); });
}

export function sourceLines(versionSid) {
  return versionRecord(versionSid).then(function (v) { return String(v.python_source || '').split('\n'); });
}
