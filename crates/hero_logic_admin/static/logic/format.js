// Text for the page: statuses, durations, times, money, links. Pure functions, no DOM.

const TERMINAL = { success: true, failed: true, cancelled: true, timed_out: true };
const STATUS_LABEL = {
  pending: 'pending', running: 'running', awaiting_resume: 'waiting for an answer',
  success: 'success', failed: 'failed', cancelled: 'cancelled', timed_out: 'timed out',
  not_ok: 'returned ok: false'
};

export function isTerminal(status) { return TERMINAL[status] === true; }

export function statusLabel(status) { return STATUS_LABEL[status] || status || ''; }

// What a view shows for a Play: its status, except that a Play that returned normally but
// says in its own output that it did not work (`ok: false`, as script_execution does) shows
// that verdict, not a green success.
export function shownStatus(play) {
  if (play && play.status === 'success' && play.output_data && play.output_data.ok === false) return 'not_ok';
  return play ? play.status : '';
}

export function fmtDuration(ms) {
  ms = Math.max(0, Math.round(ms || 0));
  if (ms < 1000) return ms + ' ms';
  if (ms < 60000) { const s = ms / 1000; return (s < 10 ? s.toFixed(2) : s.toFixed(1)) + ' s'; }
  if (ms < 3600000) return Math.floor(ms / 60000) + ' min ' + Math.floor((ms % 60000) / 1000) + ' s';
  return Math.floor(ms / 3600000) + ' h ' + Math.floor((ms % 3600000) / 60000) + ' min';
}

export function relTime(ms) {
  if (!ms) return 'never';
  const secs = Math.max(0, Math.floor((Date.now() - ms) / 1000));
  if (secs < 10) return 'just now';
  if (secs < 60) return secs + ' s ago';
  if (secs < 3600) return Math.floor(secs / 60) + ' min ago';
  if (secs < 86400) return Math.floor(secs / 3600) + ' h ago';
  if (secs < 30 * 86400) return Math.floor(secs / 86400) + ' d ago';
  return new Date(ms).toISOString().slice(0, 10);
}

function pad(n, width) { return String(n).padStart(width, '0'); }

export function clock(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  return pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) + '.' + pad(d.getMilliseconds(), 3);
}

export function fullTime(ms) { return ms ? new Date(ms).toLocaleString() : ''; }

export function fmtCost(usd) {
  usd = usd || 0;
  if (usd === 0) return '$0';
  if (usd < 0.01) return '$' + usd.toFixed(4);
  return '$' + usd.toFixed(usd < 1 ? 3 : 2);
}

export function fmtInt(n) { return (n || 0).toLocaleString('en-US'); }

export function percent(rate) { return Math.round(Math.max(0, Math.min(1, rate || 0)) * 100) + '%'; }

export function playDuration(play) {
  if (isTerminal(play.status)) return play.duration_ms || Math.max(0, (play.completed_at || 0) - (play.started_at || 0));
  if (play.started_at) return Date.now() - play.started_at;
  return 0;
}

export function logicHref(logicSid, playSid) {
  return '/logics/' + encodeURIComponent(logicSid) + (playSid ? '?play=' + encodeURIComponent(playSid) : '');
}

// "message\n\ntraceback" -> {message, traceback}
export function splitError(text) {
  const at = text.indexOf('\n\n');
  if (at < 0) return { message: text, traceback: '' };
  return { message: text.slice(0, at), traceback: text.slice(at + 2) };
}
