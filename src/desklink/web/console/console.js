// The rep console: log in, go online, take alerts, chat.
//
// One WebSocket (/ws/rep, authenticated by the login cookie) carries
// everything; see docs/protocol.md. On every (re)connect the console sends
// hello with a resume map {session_id: last seq seen}, so chats continue
// without loss or duplicates.

import { CLOSE } from '../shared/wire.js';
import { ReconnectingSocket } from '../shared/socket.js';
import { fetchMe, resumeOrLogin, showLogin, logout } from '../shared/login.js';
import { openSecurity } from '../shared/security.js';
import { toast, describeError } from '../shared/toast.js';
import { wsUrl, setText } from '../shared/dom.js';
import { AlertBoard, unlockAudio, notificationPermission, requestNotifications } from './alerts.js';
import { ChatDesk } from './chat.js';
import { watchedFromAddress } from './supervise.js';
import { CannedBook, openRepliesManager } from './canned.js';
import { Handoff, invitedMode } from './handoff.js';
import { OfflineInbox } from './offline.js';

const PRESENCE_KEY = 'desklink.console.presence';
/** Close codes after which reconnecting cannot help: logged out, origin refused. */
const STOP_CODES = [CLOSE.POLICY, CLOSE.AUTH];
/** After going online, cards not announced again within this time are dropped. */
const STALE_SWEEP_MS = 1500;
/** After a rate_limited error, send the unechoed lines again this much later. */
const RATE_RETRY_MS = 5000;

const $ = (id) => document.getElementById(id);

const state = {
  user: null,
  csrf: null,
  socket: null,
  presence: 'away',
  welcomed: false,
};

const alerts = new AlertBoard($('alerts'), {
  onAccept: (requestId) => send({ t: 'accept', request_id: requestId }),
  me: () => state.user,
  countEl: $('alert-count'),
  emptyEl: $('alerts-empty'),
});

const offline = new OfflineInbox($('offline-section'), { csrf: () => state.csrf, toast: (text, kind) => toast(text, { kind }) });

const canned = new CannedBook({ csrf: () => state.csrf, toast: (text, kind) => toast(text, { kind }) });

const desk = new ChatDesk(
  { tabs: $('session-tabs'), panels: $('chats'), empty: $('chats-empty'), tabsEmpty: $('tabs-empty') },
  { send: (msg) => send(msg), me: () => state.user, canned, csrf: () => state.csrf, sendBinary: (data) => !!state.welcomed && !!state.socket?.sendBinary(data), toast: (text, kind) => toast(text, { kind }) },
);

desk.handoff = new Handoff({ send: (msg) => send(msg), toast: (text, kind) => toast(text, { kind }), me: () => state.user, container: $('handoffs'), section: $('handoff-section'), desk });

function send(msg) {
  if (!state.socket || !state.welcomed) return false;
  return state.socket.send(msg);
}

// ------------------------------------------------------------- start-up

async function boot() {
  document.addEventListener('pointerdown', unlockAudio, { capture: true });
  document.addEventListener('keydown', unlockAudio, { capture: true });
  $('presence-toggle').addEventListener('click', togglePresence);
  $('logout').addEventListener('click', doLogout);
  $('my-replies').addEventListener('click', () => openRepliesManager(canned));
  $('my-security').addEventListener('click', () => openSecurity({
    getCsrf: () => state.csrf,
    onLoggedOut: () => { stopSession(); askLogin('Your login has expired. Please log in again.'); },
  }));
  $('enable-notifications').addEventListener('click', async () => {
    await requestNotifications();
    renderNotificationButton();
  });
  renderNotificationButton();
  await resumeOrLogin(start, askLogin, toast);
}

function askLogin(message = '') {
  $('app').hidden = true;
  showLogin($('login'), {
    title: 'Rep console',
    subtitle: message || 'Log in to answer your visitors.',
    onSuccess: async (result) => {
      unlockAudio();
      let me = result;
      try { me = (await fetchMe()) || result; } catch { /* use the login answer */ }
      start(me);
    },
  });
}

function start(me) {
  state.user = me.user;
  state.csrf = me.csrf;
  $('login').hidden = true;
  $('app').hidden = false;
  const u = me.user || {};
  setText($('me'), `${u.display_name || u.username || ''} · ${u.role || 'rep'}`);
  canned.load();
  offline.start();
  connect();
}

function connect() {
  state.socket?.stop();
  state.welcomed = false;
  state.socket = new ReconnectingSocket(wsUrl(location.origin, '/ws/rep'), {
    onopen: () => state.socket.send({ t: 'hello', resume: desk.resumeMap() }),
    onmessage: onMessage,
    onclose: (event) => {
      state.welcomed = false;
      if (event.code === CLOSE.AUTH) {
        stopSession();
        askLogin('Your login has expired. Please log in again.');
      } else if (event.code === CLOSE.POLICY) {
        toast('This console is not allowed to connect from this address (origin refused).', { kind: 'error', timeout: 0 });
      }
    },
    onstate: renderConnection,
  }, { stopCodes: STOP_CODES });
  state.socket.start();
}

function stopSession() {
  state.socket?.stop();
  state.socket = null;
  state.welcomed = false;
  alerts.clear();
  desk.handoff.clear();
  desk.clear();
  offline.stop();
  renderPresence('away');
}

async function doLogout() {
  try {
    await logout(state.csrf);
  } catch (err) {
    toast(`Could not log out: ${err.message}`, { kind: 'error' });
    return;
  }
  try { sessionStorage.removeItem(PRESENCE_KEY); } catch { /* ignore */ }
  stopSession();
  state.user = null;
  state.csrf = null;
  askLogin('You are logged out.');
}

// ------------------------------------------------------------- messages

function onMessage(msg) {
  switch (msg.t) {
    case 'welcome': onWelcome(msg); break;
    case 'presence': onPresence(msg.status); break;
    case 'alert': alerts.add(msg.request); break;
    case 'alert.withdrawn': alerts.withdraw(msg); break;
    case 'access': onAccess(msg); break;
    case 'accepted':
      alerts.remove(msg.session?.request_id);
      if (msg.session) {
        const chat = desk.open(msg.session, { focus: true });
        // A colleague's transfer: the screen share, if live, comes with it.
        if (desk.handoff.taking(msg.session.id)) chat.openScreen({ resume: true });
      }
      break;
    case 'watching': {
      const chat = msg.session ? desk.open(msg.session, { focus: true, watching: true }) : null;
      if (msg.chat_joined) desk.onChatJoined({ session_id: msg.session?.id });
      if (chat && msg.invited) {
        invitedMode(chat);
        if (!chat.screen) chat.openScreen({ resume: true }); // watch the share beside the rep, if one is live
      }
      break;
    }
    case 'handoff.targets':
    case 'handoff.alert':
    case 'handoff.withdrawn':
    case 'handoff.result':
      desk.handoff.onMessage(msg);
      break;
    case 'unwatched': desk.onUnwatched(msg); break;
    case 'whisper': desk.onWhisper(msg); break;
    case 'watchers': desk.onWatchers(msg); break;
    case 'chat_joined': desk.onChatJoined(msg); break;
    case 'taken_over': desk.onTakenOver(msg); break;
    case 'chat': desk.onChat(msg); break;
    case 'typing': desk.onTyping(msg); break;
    case 'screen.offer': desk.onScreenOffer(msg); break;
    case 'file.state':
    case 'file.ack':
    case 'file.nak':
    case 'file.asked':
      desk.onFile(msg);
      break;
    case 'ended': desk.onEnded(msg); break;
    case 'offline.changed': offline.load(); break;
    case 'error': onError(msg); break;
    default: break;
  }
}

function onWelcome(msg) {
  state.welcomed = true;
  state.socket.resetBackoff();
  if (msg.user) state.user = { ...state.user, ...msg.user };
  renderPresence(msg.status || 'away');
  let wanted = null;
  try { wanted = sessionStorage.getItem(PRESENCE_KEY); } catch { /* ignore */ }
  const restore = (wanted === 'online' || wanted === 'away') && wanted !== state.presence;
  // Going online again re-announces every waiting request: keep the cards
  // until then instead of flashing (and beeping) them all again.
  if (restore && wanted === 'online') alerts.markStale();
  else alerts.reset(msg.alerts);
  if (msg.limits) desk.files.uploads.setLimits(msg.limits); // the server's file chunk and message bounds, when it says them
  desk.sync(msg.sessions);
  if (restore) send({ t: 'presence', status: wanted });
  // Opened from the live board as /console/?watch=<session_id>: watch it.
  const watch = watchedFromAddress();
  if (watch && !desk.chats.has(watch)) send({ t: 'watch', session_id: watch });
}

/** An admin changed who we are (role, name) or which queues we serve. */
function onAccess(msg) {
  if (msg.user) state.user = { ...state.user, ...msg.user };
  const u = state.user || {};
  setText($('me'), `${u.display_name || u.username || ''} · ${u.role || 'rep'}`);
  if (Array.isArray(msg.queues)) alerts.keepQueues(msg.queues.map((q) => q.id));
}

function onPresence(status) {
  renderPresence(status);
  clearTimeout(state.sweepTimer);
  if (state.presence === 'online') {
    // The server sends the waiting requests right after going online.
    state.sweepTimer = setTimeout(() => alerts.sweepStale(), STALE_SWEEP_MS);
  } else {
    // Away: no more alerts or withdrawals arrive, so old cards would lie.
    alerts.clear();
  }
}

function onError(msg) {
  if (desk.files.onError(msg)) return;
  desk.handoff.onError(msg);
  if (msg.code === 'conflict_taken') {
    alerts.conflict(msg.ref);
    const text = msg.message ? msg.message.charAt(0).toUpperCase() + msg.message.slice(1) : 'Someone else accepted that request first.';
    toast(text, { kind: 'error', code: msg.code });
    return;
  }
  if (msg.code === 'rate_limited') {
    clearTimeout(state.resendTimer);
    state.resendTimer = setTimeout(() => desk.resendAll(), RATE_RETRY_MS);
  }
  if (msg.ref === 'accept' || (msg.ref && alerts.cards.has(msg.ref))) alerts.release(msg.ref);
  if (msg.ref === 'chat.send' && ['too_large', 'bad_message', 'bad_state', 'forbidden', 'conflict_closed'].includes(msg.code)) {
    desk.onSendError(msg.code);
  }
  toast(msg.message ? `${describeError(msg.code)} ${msg.message}` : describeError(msg.code), { kind: 'error', code: msg.code });
}

// ------------------------------------------------------------- presence

function togglePresence() {
  unlockAudio();
  const next = state.presence === 'online' ? 'away' : 'online';
  try { sessionStorage.setItem(PRESENCE_KEY, next); } catch { /* ignore */ }
  if (!send({ t: 'presence', status: next })) {
    toast('Not connected. Your status will be sent when the connection is back.', { kind: 'error' });
  }
}

function renderPresence(status) {
  state.presence = status === 'online' ? 'online' : 'away';
  const online = state.presence === 'online';
  const label = $('presence-status');
  label.dataset.status = state.presence;
  setText(label, online ? 'Online' : 'Away');
  const toggle = $('presence-toggle');
  setText(toggle, online ? 'Go away' : 'Go online');
  toggle.setAttribute('aria-pressed', String(online));
  toggle.classList.toggle('is-online', online);
}

function renderConnection(socketState) {
  const el = $('connection');
  el.dataset.state = socketState;
  const text = { open: 'Connected', connecting: 'Connecting…', closed: 'Reconnecting…', stopped: 'Disconnected' }[socketState];
  setText(el, text || socketState);
}

function renderNotificationButton() {
  $('enable-notifications').hidden = notificationPermission() !== 'default';
}

boot();
