// The logic view's entry module. Each region of the page is a module under logic/ that
// draws from named slices of one store (logic/state.js) and is redrawn only when one of them
// changes; logic/actions.js holds what changes the state from outside (overlaying a Play and
// following it live, picking a version, fresh stats). Everything starts from the JSON the
// page carries (#boot); an overlaid Play comes from /api/plays/{sid}/overlay and stays live
// through the Server-Sent Events of /api/plays/{sid}/events.

import { closeStream, pickVersion, showOverlay } from './logic/actions.js';
import { mountCode } from './logic/code.js';
import { mountCopyButtons } from './logic/copy.js';
import { mountRerun } from './logic/durable.js';
import { tickWhile } from './logic/dom.js';
import { mountFlow } from './logic/flow.js';
import { isTerminal } from './logic/format.js';
import { mountMapping } from './logic/mapping.js';
import { mountOutput } from './logic/output.js';
import { mountPauseForms } from './logic/pause_forms.js';
import { mountPlaybar } from './logic/playbar.js';
import { mountPlaybarSize } from './logic/playbar_size.js';
import { mountSidebar } from './logic/sidebar.js';
import { page, store } from './logic/state.js';
import { mountStats } from './logic/stats.js';
import { mountTabs, showTab } from './logic/tabs.js';
import { mountTrace } from './logic/trace.js';
import { mountTree } from './logic/tree.js';
import { mountTreeExtras } from './logic/tree_extras.js';

mountTabs();
mountCode();
mountMapping();
mountSidebar();
mountPlaybar();
mountPlaybarSize();
mountRerun();
mountFlow();
mountTree();
mountTreeExtras();
mountTrace();
mountPauseForms();
mountOutput();
mountCopyButtons();
mountStats();
store.subscribe(['overlay'], function (state) { tickWhile(!!state.overlay.root && !isTerminal(state.overlay.root.status)); });

const params = new URLSearchParams(location.search);
if (params.get('version') && page.versionsBySid[params.get('version')]) pickVersion(params.get('version'), true);
if (params.get('tab') === 'code') showTab('tab-source');
showOverlay(params.get('play') || '', 'none');

window.addEventListener('popstate', function () {
  const sid = new URLSearchParams(location.search).get('play') || '';
  if (sid !== store.get().overlay.sid) showOverlay(sid, 'none');
});
window.addEventListener('pagehide', closeStream);
