// The header's Inbox badge: how many questions wait for a person, refreshed while the page
// is open so a new question shows up without a reload.
import { rpc } from './logic/api.js';

const REFRESH_MS = 5000;

function show(count) {
  const badge = document.getElementById('inbox-count');
  if (!badge) return;
  badge.textContent = String(count);
  badge.hidden = count === 0;
  badge.title = count + (count === 1 ? ' question waits' : ' questions wait') + ' for an answer';
}

function refresh() {
  rpc('LogicService.play_inbox', {}).then(function (inbox) { show(inbox.items.length); }, function () { /* the daemon is away; keep the last count */ });
}

refresh();
setInterval(refresh, REFRESH_MS);
