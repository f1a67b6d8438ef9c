// Sessions: the list (GET /api/sessions), one session's facts and transcript
// (GET /api/sessions/{id}) and its timeline in words, chat and events in one
// order (GET /api/sessions/{id}/timeline). Everything shown is text.

import { h, clear, formatDateTime, formatDuration, parseTime } from '../shared/dom.js';
import { ChatLog, normalizeMessage } from '../shared/chatlog.js';
import { downloadBlob, fetchBlob } from '../shared/http.js';
import { call, listOf, fail } from './common.js';
import { SessionSearch } from './session-search.js';
import { SessionView } from '../replay/session-view.js';
import { ApiError } from '../shared/http.js';

/** Save the session's transcript (the same document the visitor downloads). */
async function saveTranscript(id, format) {
  try {
    const { blob, filename } = await fetchBlob(`/api/sessions/${encodeURIComponent(id)}/transcript?format=${format}`, { credentials: 'same-origin' });
    downloadBlob(blob, filename || `desklink-chat.${format === 'html' ? 'html' : 'txt'}`);
  } catch (err) {
    fail(err, 'Could not download the transcript');
  }
}

/** What each timeline marker reads as beside its line. */
const MARKERS = {
  chat: 'Chat', request: 'Request', screen: 'Screen', control: 'Control', annotation: 'Drawing',
  clipboard: 'Clipboard', files: 'Files', watcher: 'Watcher', rating: 'Rating',
};

/** The timeline as a list: time, a marker by kind, the sentence. */
function timelineList(items) {
  const list = h('ol', { class: 'timeline', testid: 'timeline' });
  for (const item of items) {
    const marker = MARKERS[item.marker] ? item.marker : 'request';
    list.append(h('li', { class: `timeline-item marker-${marker}`, testid: 'timeline-item', data: { kind: String(item.kind || ''), marker } },
      h('time', { class: 'nowrap', datetime: String(item.at || '') }, formatDateTime(item.at)),
      h('span', { class: 'timeline-marker' }, MARKERS[marker]),
      h('span', { class: 'timeline-text' }, String(item.text || ''))));
  }
  if (!items.length) list.append(h('li', { class: 'empty' }, 'Nothing happened yet.'));
  return list;
}

/** The session's internal notes (reps and supervisors only; never the visitor's). */
function notesList(notes) {
  const list = h('ol', { class: 'timeline session-notes', testid: 'detail-notes' });
  if (!notes.length) list.append(h('li', { class: 'empty' }, 'No internal notes.'));
  for (const n of notes) {
    list.append(h('li', { class: 'timeline-item', testid: 'detail-note-item' },
      h('time', { class: 'nowrap', datetime: String(n.at || '') }, formatDateTime(n.at)),
      h('span', { class: 'timeline-marker' }, n.author || 'someone'),
      h('span', { class: 'timeline-text pre' }, n.body)));
  }
  return list;
}

/** Save the whole session (timeline, transcripts, recording) as one ZIP; the server logs it. */
async function exportSession(id) {
  try {
    const { blob, filename } = await fetchBlob(`/api/sessions/${encodeURIComponent(id)}/export`, { credentials: 'same-origin' });
    downloadBlob(blob, filename || `desklink-session-${id}.zip`);
  } catch (err) {
    fail(err, 'Could not export the session');
  }
}

function nameOf(v) {
  if (!v) return '';
  return typeof v === 'string' ? v : (v.display_name || v.name || v.username || v.slug || '');
}

/** One session record in a predictable shape, whatever the server's field names. */
function normalize(s) {
  return {
    id: s.id,
    requestId: s.request_id,
    visitor: nameOf(s.visitor) || s.visitor_name || '',
    email: s.visitor?.email || s.visitor_email || '',
    question: s.question || s.request?.question || '',
    queue: nameOf(s.queue) || s.queue_slug || '',
    rep: nameOf(s.rep) || s.rep_name || (s.rep_id !== undefined ? `#${s.rep_id}` : ''),
    startedAt: s.started_at,
    endedAt: s.ended_at,
    endedBy: s.ended_by || '',
    disposition: s.disposition || '',
    note: s.note || '',
    match: s.match || null,
    rating: s.rating && Number.isInteger(s.rating.value) ? { value: s.rating.value, comment: s.rating.comment || '', at: s.rating.at } : null,
  };
}

/** The visitor's rating as stars and a number ("★★★★☆ 4/5"); empty when not rated. */
function ratingCell(rating) {
  if (!rating) return h('span', { class: 'muted' }, '–');
  const v = Math.max(0, Math.min(5, rating.value));
  return h('span', { class: 'rating', title: rating.comment || `${v} out of 5`, 'aria-label': `${v} out of 5` },
    h('span', { class: 'rating-stars', 'aria-hidden': 'true' }, '★'.repeat(v) + '☆'.repeat(5 - v)), ` ${v}/5`);
}

function ratingWords(rating) {
  if (!rating) return 'Not rated';
  return `${rating.value} out of 5${rating.comment ? `: “${rating.comment}”` : ''}`;
}

function duration(s) {
  const a = parseTime(s.startedAt);
  const b = parseTime(s.endedAt);
  if (!a) return '';
  return formatDuration(((b || new Date()) - a) / 1000) + (b ? '' : ' (open)');
}

export class SessionsView {
  constructor(section) {
    this.section = section;
    this.sessions = [];
    this.query = new URLSearchParams();
    this.search = new SessionSearch((params) => { this.query = params; this.load(); });
    this.search.loadQueues();
    this.tbody = h('tbody');
    this.listCard = h('div', { class: 'card' },
      h('table', { class: 'table table-click', testid: 'sessions-table' },
        h('thead', {}, h('tr', {}, ['Started', 'Visitor', 'Question', 'Queue', 'Rep', 'Length', 'Outcome', 'Rating'].map((t) => h('th', {}, t)))),
        this.tbody));
    this.detail = h('div', { class: 'card session-detail', testid: 'session-detail', props: { hidden: true } });
    this.section.append(
      h('div', { class: 'view-head' }, h('h1', {}, 'Sessions'),
        h('button', { type: 'button', class: 'btn btn-small', testid: 'sessions-refresh', on: { click: () => this.load() } }, 'Refresh')),
      this.search.form, this.detail, this.listCard);
  }

  async load() {
    try {
      const q = this.query.toString();
      this.sessions = listOf(await call('GET', `/api/sessions${q ? `?${q}` : ''}`), 'sessions').map(normalize);
    } catch (err) {
      fail(err, 'Could not load sessions');
      return;
    }
    clear(this.tbody);
    if (!this.sessions.length) this.tbody.append(h('tr', {}, h('td', { colspan: 8, class: 'empty' }, this.query.toString() ? 'No session matches this search.' : 'No sessions yet.')));
    for (const s of this.sessions) {
      const row = h('tr', { testid: 'session-row', data: { sessionId: s.id }, tabindex: 0 },
        h('td', { class: 'nowrap' }, formatDateTime(s.startedAt)),
        h('td', { testid: 'session-visitor' }, s.visitor),
        h('td', { class: 'clip', testid: 'session-question' }, s.question,
          s.match ? h('div', { class: 'match', testid: 'session-match' }, `“${s.match.excerpt}” at ${formatDateTime(s.match.at)}`) : null),
        h('td', {}, s.queue),
        h('td', {}, s.rep),
        h('td', { class: 'nowrap' }, duration(s)),
        h('td', { testid: 'session-disposition' }, s.disposition ? h('span', { class: ['status', `disp-${s.disposition}`] }, s.disposition.replace('_', ' ')) : (s.endedAt ? s.endedBy : 'open')),
        h('td', { class: 'nowrap', testid: 'session-rating', data: { rating: s.rating ? s.rating.value : '' } }, ratingCell(s.rating)));
      const at = s.match ? s.match.at : null; // opens the replay where the searched words were said
      row.addEventListener('click', () => this.show(s.id, at));
      row.addEventListener('keydown', (e) => { if (e.key === 'Enter') this.show(s.id, at); });
      this.tbody.append(row);
    }
  }

  async show(id, openAt = null) {
    let detail;
    let timeline;
    let notes;
    try {
      [detail, timeline, notes] = await Promise.all([
        call('GET', `/api/sessions/${encodeURIComponent(id)}`),
        call('GET', `/api/sessions/${encodeURIComponent(id)}/timeline`),
        call('GET', `/api/sessions/${encodeURIComponent(id)}/notes`),
      ]);
    } catch (err) {
      fail(err, 'Could not load the session');
      return;
    }
    const s = normalize(detail.session || detail);
    const messages = (detail.messages || []).map(normalizeMessage);
    const items = timeline.items || [];
    const list = h('ol', { class: 'messages transcript', testid: 'transcript' });
    const log = new ChatLog(list, { self: 'rep', ownName: true });
    for (const m of messages) log.add(m);
    if (!messages.length) list.append(h('li', { class: 'empty' }, 'No messages.'));
    clear(this.detail).append(
      h('div', { class: 'view-head' },
        h('h2', { class: 'detail-title' }, `Session with ${s.visitor || 'visitor'}`),
        h('div', { class: 'view-actions' },
          h('button', { type: 'button', class: 'btn btn-small', testid: 'transcript-text', on: { click: () => saveTranscript(s.id, 'text') } }, 'Transcript (.txt)'),
          h('button', { type: 'button', class: 'btn btn-small', testid: 'transcript-html', on: { click: () => saveTranscript(s.id, 'html') } }, 'Transcript (.html)'),
          h('button', { type: 'button', class: 'btn btn-small', testid: 'session-export', title: 'Timeline, transcripts and the screen recording, in one ZIP file (logged)', on: { click: () => exportSession(s.id) } }, 'Export (.zip)'),
          h('button', { type: 'button', class: 'btn btn-small', testid: 'session-detail-close', on: { click: () => { this.detail.hidden = true; } } }, 'Close'))),
      h('dl', { class: 'facts facts-grid' },
        h('dt', {}, 'Session'), h('dd', { testid: 'detail-id' }, h('code', {}, s.id)),
        h('dt', {}, 'Visitor'), h('dd', { testid: 'detail-visitor' }, s.email ? `${s.visitor} <${s.email}>` : s.visitor),
        h('dt', {}, 'Question'), h('dd', { class: 'pre', testid: 'detail-question' }, s.question),
        h('dt', {}, 'Rep'), h('dd', {}, s.rep),
        h('dt', {}, 'Started'), h('dd', {}, formatDateTime(s.startedAt)),
        h('dt', {}, 'Ended'), h('dd', {}, s.endedAt ? `${formatDateTime(s.endedAt)} by ${s.endedBy}` : 'still open'),
        h('dt', {}, 'Outcome'), h('dd', { testid: 'detail-disposition' }, s.disposition.replace('_', ' ')),
        h('dt', {}, 'Note'), h('dd', { class: 'pre', testid: 'detail-note' }, s.note),
        h('dt', {}, 'Rating'), h('dd', { class: 'pre', testid: 'detail-rating' }, ratingWords(s.rating))),
      h('h3', { class: 'section-title' }, `Internal notes (${(notes.notes || []).length})`), notesList(notes.notes || []),
      h('h3', { class: 'section-title' }, `Transcript (${messages.length})`), list,
      h('h3', { class: 'section-title' }, `Timeline (${items.length})`), timelineList(items));
    this.detail.hidden = false;
    this.detail.scrollIntoView({ block: 'start' });
    await this.attachReplay(id, messages, items, openAt);
  }

  /** The Session View, when the session's screen was recorded. */
  async attachReplay(id, messages, timeline, openAt) {
    if (this.replay) this.replay.destroy();
    this.replay = null;
    let index;
    try {
      index = await call('GET', `/api/sessions/${encodeURIComponent(id)}/recording`);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) fail(err, 'Could not open the recording');
      return;
    }
    // Chat lines for the transcript beside the picture; the timeline's
    // moments (in words) for the markers.
    const items = [
      ...messages.map((m) => ({ at: m.ts || m.at, kind: 'chat', who: m.name || m.from || '', text: m.text })),
      ...timeline.filter((e) => e.kind !== 'chat').map((e) => ({ at: e.at, kind: e.kind, marker: e.marker, text: e.text })),
    ];
    const fetchBuffer = async (url) => {
      const r = await fetch(url, { credentials: 'same-origin' });
      if (!r.ok) throw new Error(`segment not served (${r.status})`);
      return r.arrayBuffer();
    };
    const view = new SessionView({ sessionId: id, index, items, fetchBuffer });
    if (openAt) {
      const t = view.tOf(openAt);
      if (t !== null) view.seek(t);
    }
    this.replay = view;
    this.detail.append(h('h3', { class: 'section-title' }, 'Screen recording'), view.element);
  }
}
