// Audit log: every admin action (people, roles, queues, members, sites,
// policies), newest first, from the admin center and the command line
// (GET /api/admin/audit?limit=&before=). Shown in words; an action this page
// does not know is still shown, by its name and details. Everything is text.

import { h, clear, setText, formatDateTime } from '../shared/dom.js';
import { call, fail } from './common.js';

const PAGE = 50;

/** "user alice" -> "alice"; "queue billing" -> "billing". */
function subjectOf(target) {
  return String(target || '').replace(/^(user|queue) /, '');
}

function list(values) {
  const items = (values || []).map(String);
  return items.length ? items.join(', ') : 'none';
}

function quoted(value) {
  return `“${value ?? ''}”`;
}

/** What changed in a queue's file policy, in words. */
function policyChanges(from, to) {
  const limit = (n, unit) => (n ? `${n}${unit}` : 'the server limit');
  const words = {
    to_visitor: (v) => `files to the visitor ${v ? 'allowed' : 'not allowed'}`,
    from_visitor: (v) => `files from the visitor ${v ? 'allowed' : 'not allowed'}`,
    max_file_bytes: (v) => `largest file ${limit(v, ' bytes')}`,
    max_files_per_session: (v) => `files per session ${limit(v, '')}`,
    blocked_extensions: (v) => `blocked extensions ${list(v)}`,
  };
  const parts = Object.entries(words)
    .filter(([key]) => JSON.stringify(from[key]) !== JSON.stringify(to[key]))
    .map(([key, say]) => say(to[key]));
  return parts.length ? parts.join('; ') : 'no change';
}

/** One entry as a sentence after the actor's name ("changed the role of ..."). */
export function describe(entry) {
  const d = entry.data || {};
  const who = subjectOf(entry.target);
  switch (entry.action) {
    case 'user.create': return `added ${who} as ${d.role || 'rep'}${d.queues?.length ? ` (queues: ${list(d.queues)})` : ''}`;
    case 'user.role': return `changed the role of ${who} from ${d.from} to ${d.to}`;
    case 'user.disable': return `disabled ${who}`;
    case 'user.enable': return `enabled ${who}`;
    case 'user.password': return `set a new password for ${who}`;
    case 'user.display_name': return `changed the display name of ${who} from ${quoted(d.from)} to ${quoted(d.to)}`;
    case 'user.second_factor_reset': return `reset the second factor of ${who}`;
    case 'queue.create': return `created the queue ${who} (${quoted(d.name)}; sites: ${list(d.allowed_origins)})`;
    case 'queue.rename': return `renamed the queue ${who} from ${quoted(d.from)} to ${quoted(d.to)}`;
    case 'queue.origins': return `changed the sites allowed to embed ${who} from ${list(d.from)} to ${list(d.to)}`;
    case 'queue.files': return `changed the file policy of the queue ${who}: ${policyChanges(d.from || {}, d.to || {})}`;
    case 'queue.members': {
      const parts = [];
      if (d.added?.length) parts.push(`added ${list(d.added)} to`);
      if (d.removed?.length) parts.push(`removed ${list(d.removed)} from`);
      return `${parts.join(' and ') || 'changed the members of'} the queue ${who}`;
    }
    case 'canned.create': return `added the canned reply ${entry.target}${d.title ? ` (${quoted(d.title)})` : ''}`;
    case 'canned.update': return `changed the canned reply ${entry.target}${d.changed?.length ? ` (${list(d.changed)})` : ''}`;
    case 'canned.delete': return `deleted the canned reply ${entry.target}`;
    default: {
      // Unknown to this page (a newer server, another part's action): its name in words.
      const words = String(entry.action || 'action').replace(/[._]/g, ' ');
      return entry.target ? `${words}: ${entry.target}` : words;
    }
  }
}

/** Actions whose sentence says everything; others also show their data. */
const DESCRIBED = new Set(['user.create', 'user.role', 'user.disable', 'user.enable', 'user.password',
  'user.display_name', 'user.second_factor_reset', 'queue.create', 'queue.rename', 'queue.origins', 'queue.members', 'queue.files',
  'canned.create', 'canned.update', 'canned.delete']);

function details(entry) {
  if (DESCRIBED.has(entry.action) || !entry.data || !Object.keys(entry.data).length) return '';
  return JSON.stringify(entry.data);
}

export class AuditView {
  constructor(section) {
    this.section = section;
    this.pages = [];  // the `before` ids of the pages shown so far (null = newest)
    this.tbody = h('tbody');
    this.position = h('span', { class: 'muted', testid: 'audit-position' });
    this.newer = h('button', { type: 'button', class: 'btn btn-small', testid: 'audit-newer', on: { click: () => this._page(this.pages.length - 2) } }, 'Newer');
    this.older = h('button', { type: 'button', class: 'btn btn-small', testid: 'audit-older', on: { click: () => this._older() } }, 'Older');
    this.section.append(
      h('div', { class: 'view-head' }, h('h1', {}, 'Audit log'),
        h('button', { type: 'button', class: 'btn btn-small', testid: 'audit-refresh', on: { click: () => this.load() } }, 'Refresh')),
      h('p', { class: 'muted' }, 'Every change to people, roles, queues and their sites, made here or on the command line. Newest first.'),
      h('div', { class: 'card' },
        h('table', { class: 'table table-compact', testid: 'audit-table' },
          h('thead', {}, h('tr', {}, ['When', 'Who', 'What', 'Details'].map((t) => h('th', {}, t)))),
          this.tbody),
        h('div', { class: 'pager' }, this.newer, this.position, this.older)));
    this.next = null;
  }

  /** Back to the newest entries. */
  async load() {
    this.pages = [];
    await this._show(null);
  }

  async _older() {
    if (this.next !== null) await this._show(this.next);
  }

  async _page(index) {
    if (index < 0) return this.load();
    const before = this.pages[index];
    this.pages = this.pages.slice(0, index);
    return this._show(before);
  }

  async _show(before) {
    const query = before === null ? `?limit=${PAGE}` : `?limit=${PAGE}&before=${encodeURIComponent(before)}`;
    let answer;
    try {
      answer = await call('GET', `/api/admin/audit${query}`);
    } catch (err) {
      fail(err, 'Could not load the audit log');
      return;
    }
    this.pages.push(before);
    this.next = answer?.before ?? null;
    const entries = Array.isArray(answer?.entries) ? answer.entries : [];
    clear(this.tbody);
    if (!entries.length) this.tbody.append(h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'Nothing has been changed yet.')));
    for (const e of entries) {
      this.tbody.append(h('tr', { testid: 'audit-row', data: { action: e.action, entryId: e.id } },
        h('td', { class: 'nowrap', testid: 'audit-when', title: e.at || '' }, formatDateTime(e.at)),
        h('td', { testid: 'audit-who' }, e.actor || 'unknown'),
        h('td', { testid: 'audit-what' }, describe(e)),
        h('td', { class: 'mono', testid: 'audit-details' }, details(e))));
    }
    this.newer.disabled = this.pages.length <= 1;
    this.older.disabled = this.next === null;
    setText(this.position, `Page ${this.pages.length}`);
  }
}
