// The admin center: people, queues, canned replies, sessions, reports, the live board and the
// audit log. Admins see everything; supervisors see SUPERVISOR_VIEWS (the live board, reports
// and their queues' canned replies, scoped by the API); reps see "admins only", from which
// "Your reports" (or /admin#reports) opens the Reports view alone with their own figures.

import { fetchMe, resumeOrLogin, showLogin, logout } from '../shared/login.js';
import { toast } from '../shared/toast.js';
import { setText } from '../shared/dom.js';
import { ctx } from './common.js';
import { UsersView } from './users.js';
import { QueuesView } from './queues.js';
import { SessionsView } from './sessions.js';
import { SecurityView } from './security.js';
import { openSecurity } from '../shared/security.js';
import { AuditView } from './audit.js';
import { BoardView } from './board.js';
import { ReportsView } from './reports.js';
import { CannedView } from './canned.js';

const $ = (id) => document.getElementById(id);
const views = {};
/** The views a supervisor may open (the API scopes them to the supervisor's queues). */
const SUPERVISOR_VIEWS = ['board', 'reports', 'canned'];
let current = null;

async function boot() {
  $('logout').addEventListener('click', doLogout);
  $('denied-logout').addEventListener('click', doLogout);
  $('denied-reports').addEventListener('click', startReportsOnly);
  $('my-security').addEventListener('click', () => openSecurity({ getCsrf: () => ctx.csrf, onLoggedOut: () => ctx.onLoggedOut() }));
  for (const tab of document.querySelectorAll('.nav-tab')) tab.addEventListener('click', () => showView(tab.dataset.view));
  window.addEventListener('hashchange', () => showView(location.hash.slice(1)));
  ctx.onForbidden = () => showDenied();
  ctx.onLoggedOut = () => askLogin('Your login has expired. Please log in again.');
  await resumeOrLogin(start, askLogin, toast);
}

function askLogin(message = '') {
  $('app').hidden = true;
  $('denied').hidden = true;
  showLogin($('login'), {
    title: 'Admin center',
    subtitle: message || 'Log in with an administrator account.',
    onSuccess: async (result) => {
      let me = result;
      try { me = (await fetchMe()) || result; } catch { /* use the login answer */ }
      start(me);
    },
  });
}

function start(me) {
  ctx.user = me.user;
  ctx.csrf = me.csrf;
  ctx.queues = Array.isArray(me.queues) ? me.queues : [];
  $('login').hidden = true;
  const role = me.user?.role;
  if (role !== 'admin' && role !== 'supervisor') {
    if (location.hash === '#reports' && !views.users) startReportsOnly();
    else showDenied();
    return;
  }
  $('denied').hidden = true;
  $('app').hidden = false;
  setText($('me'), me.user.display_name || me.user.username);
  if (!views.board) {
    if (role === 'admin') {
      views.users = new UsersView($('view-users'));
      views.queues = new QueuesView($('view-queues'));
      views.sessions = new SessionsView($('view-sessions'));
      views.security = new SecurityView($('view-security'));
      views.audit = new AuditView($('view-audit'));
    }
    views.board = new BoardView($('view-board'));
    views.reports = new ReportsView($('view-reports'));
    views.canned = new CannedView($('view-canned'));
  }
  for (const tab of document.querySelectorAll('.nav-tab')) tab.hidden = !views[tab.dataset.view];
  showView(location.hash.slice(1) || (role === 'admin' ? 'users' : SUPERVISOR_VIEWS[0]));
}

function showDenied() {
  $('app').hidden = true;
  $('login').hidden = true;
  setText($('denied-user'), ctx.user?.username || '');
  $('denied-reports').hidden = !['rep', 'supervisor'].includes(ctx.user?.role);
  $('denied').hidden = false;
}

/** A rep or supervisor: the Reports view alone, with their own figures. */
function startReportsOnly() {
  $('denied').hidden = true;
  $('app').hidden = false;
  setText($('me'), ctx.user?.display_name || ctx.user?.username || '');
  for (const tab of document.querySelectorAll('.nav-tab')) tab.hidden = tab.dataset.view !== 'reports';
  if (!views.reports) views.reports = new ReportsView($('view-reports'));
  showView('reports');
}

function showView(name) {
  if (!views[name]) name = views.users ? 'users' : views.board ? SUPERVISOR_VIEWS[0] : 'reports';
  current = name;
  for (const [key, view] of Object.entries(views)) {
    view.section.hidden = key !== name;
    if (key !== name && view.hide) view.hide();
  }
  for (const tab of document.querySelectorAll('.nav-tab')) {
    const on = tab.dataset.view === name;
    tab.classList.toggle('active', on);
    tab.setAttribute('aria-current', on ? 'page' : 'false');
  }
  if (location.hash.slice(1) !== name) history.replaceState(null, '', `#${name}`);
  views[name].load();
}

async function doLogout() {
  try {
    await logout(ctx.csrf);
  } catch (err) {
    toast(`Could not log out: ${err.message}`, { kind: 'error' });
    return;
  }
  ctx.user = null;
  ctx.csrf = null;
  askLogin('You are logged out.');
}

export function currentView() {
  return current;
}

boot();
