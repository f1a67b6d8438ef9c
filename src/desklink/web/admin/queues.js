// Queues: create, edit name, allowed origins, file and recording policy, business hours, set members, embed snippet.

import { h, clear, setText } from '../shared/dom.js';
import { call, listOf, fail, ok } from './common.js';
import { filesFieldset, summary } from './queue-files.js';
import { recordingFieldset, recordingSummary } from './queue-recording.js';
import { hoursFieldset, hoursSummary } from './queue-hours.js';
import { brandingFieldset, brandingSummary } from './queue-branding.js';

function originsOf(text) {
  return text.split(/\r?\n/).map((s) => s.trim().replace(/\/+$/, '')).filter(Boolean);
}

function memberIds(q) {
  if (Array.isArray(q.member_ids)) return q.member_ids.map(String);
  if (Array.isArray(q.members)) return q.members.map((m) => String(typeof m === 'object' ? (m.id ?? m.user_id) : m));
  if (Array.isArray(q.user_ids)) return q.user_ids.map(String);
  return [];
}

export class QueuesView {
  constructor(section) {
    this.section = section;
    this.queues = [];
    this.users = [];
    this.fileLimits = null;
    this._build();
  }

  _build() {
    const f = this.form = {
      slug: h('input', { id: 'nq-slug', testid: 'new-queue-slug', autocomplete: 'off', placeholder: 'support', pattern: '[a-z0-9-]+' }),
      name: h('input', { id: 'nq-name', testid: 'new-queue-name', autocomplete: 'off', placeholder: 'Support' }),
      origins: h('textarea', { id: 'nq-origins', testid: 'new-queue-origins', rows: 3, placeholder: 'https://www.example.com' }),
      error: h('p', { class: 'form-error', testid: 'new-queue-error', props: { hidden: true } }),
      submit: h('button', { type: 'submit', class: 'btn btn-primary', testid: 'create-queue' }, 'Create queue'),
    };
    const form = h('form', { class: 'card form-grid', testid: 'new-queue-form', novalidate: true, on: { submit: (e) => { e.preventDefault(); this._create(); } } },
      h('h3', { class: 'card-title' }, 'New queue'),
      h('div', { class: 'field' }, h('label', { for: 'nq-slug' }, 'Slug (used in the embed code)'), f.slug),
      h('div', { class: 'field' }, h('label', { for: 'nq-name' }, 'Name'), f.name),
      h('div', { class: 'field field-wide' }, h('label', { for: 'nq-origins' }, 'Sites allowed to embed the help box (one origin per line)'), f.origins),
      h('div', { class: 'form-actions' }, f.error, f.submit));
    this.list = h('div', { class: 'queue-list', testid: 'queues-list' });
    this.section.append(
      h('div', { class: 'view-head' }, h('h1', {}, 'Queues'),
        h('button', { type: 'button', class: 'btn btn-small', testid: 'queues-refresh', on: { click: () => this.load() } }, 'Refresh')),
      form, this.list);
  }

  async load() {
    try {
      const [queues, users] = await Promise.all([call('GET', '/api/admin/queues'), call('GET', '/api/admin/users')]);
      this.queues = listOf(queues, 'queues');
      this.fileLimits = queues && queues.file_limits ? queues.file_limits : null;
      this.users = listOf(users, 'users');
    } catch (err) {
      fail(err, 'Could not load queues');
      return;
    }
    this._render();
  }

  _render() {
    clear(this.list);
    if (!this.queues.length) this.list.append(h('p', { class: 'empty card' }, 'No queues yet. Create one above, then add people to it.'));
    for (const q of this.queues) this.list.append(this._card(q));
  }

  _userName(id) {
    const u = this.users.find((x) => String(x.id) === String(id));
    return u ? (u.display_name || u.username) : `#${id}`;
  }

  _card(q) {
    const members = memberIds(q);
    const origins = q.allowed_origins || [];
    const snippet = `<script type="module" src="${location.origin}/static/widget/desklink-help.js" data-queue="${q.slug}"></script>`;
    const card = h('article', { class: 'card queue-card', testid: 'queue-row', data: { queueId: q.id, slug: q.slug } });
    const show = h('div', { class: 'queue-show' },
      h('div', { class: 'queue-head' },
        h('div', {}, h('h3', { testid: 'queue-name' }, q.name || q.slug), h('code', { class: 'muted', testid: 'queue-slug' }, q.slug)),
        h('button', { type: 'button', class: 'btn btn-small', testid: 'queue-edit', on: { click: () => { show.hidden = true; edit.hidden = false; } } }, 'Edit')),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Allowed sites'),
        h('dd', { testid: 'queue-origins' }, origins.length ? origins.map((o) => h('span', { class: 'chip' }, o)) : h('span', { class: 'muted' }, 'None (only this server)')),
        h('dt', {}, 'Members'),
        h('dd', { testid: 'queue-members' }, members.length ? members.map((id) => h('span', { class: 'chip' }, this._userName(id))) : h('span', { class: 'muted' }, 'Nobody yet')),
        h('dt', {}, 'Files'),
        h('dd', { testid: 'queue-files-summary' }, summary(q.files, this.fileLimits).map((t) => h('span', { class: 'chip' }, t))),
        h('dt', {}, 'Screen recording'),
        h('dd', { testid: 'queue-recording-summary', data: { policy: q.recording || 'never' } }, h('span', { class: 'chip' }, recordingSummary(q.recording))),
        h('dt', {}, 'Business hours'),
        h('dd', { testid: 'queue-hours-summary' }, hoursSummary(q.hours).map((t) => h('span', { class: 'chip' }, t))),
        h('dt', {}, 'Branding'),
        h('dd', { testid: 'queue-branding-summary' }, brandingSummary(q.branding).map((t) => h('span', { class: 'chip' }, t))),
        h('dt', {}, 'Embed code'),
        h('dd', {}, h('code', { class: 'snippet', testid: 'queue-snippet' }, snippet))));
    const edit = this._editForm(q, members, () => { show.hidden = false; edit.hidden = true; });
    edit.hidden = true;
    card.append(show, edit);
    return card;
  }

  _editForm(q, members, close) {
    const name = h('input', { testid: 'queue-edit-name', value: q.name || '', 'aria-label': 'Queue name' });
    name.value = q.name || '';
    const origins = h('textarea', { testid: 'queue-edit-origins', rows: 3, 'aria-label': 'Allowed origins, one per line' });
    origins.value = (q.allowed_origins || []).join('\n');
    const boxes = this.users.map((u) => {
      const box = h('input', { type: 'checkbox', testid: 'member-checkbox', data: { userId: u.id, username: u.username } });
      box.checked = members.includes(String(u.id));
      return h('label', { class: ['member', u.disabled ? 'member-disabled' : ''] }, box, ` ${u.display_name || u.username} `, h('span', { class: 'muted' }, `(${u.username}, ${u.role})`));
    });
    const files = filesFieldset(q.files, this.fileLimits);
    const recording = recordingFieldset(q.recording);
    const hours = hoursFieldset(q.hours);
    const branding = brandingFieldset(q.branding);
    const error = h('p', { class: 'form-error', props: { hidden: true } });
    const save = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'queue-save' }, 'Save');
    const form = h('form', { class: 'queue-edit', testid: 'queue-edit-form', novalidate: true, data: { queueId: q.id }, on: { submit: async (e) => {
      e.preventDefault();
      save.disabled = true;
      const ids = [...form.querySelectorAll('input[data-testid=member-checkbox]')].filter((b) => b.checked).map((b) => {
        const n = Number(b.dataset.userId);
        return Number.isFinite(n) && String(n) === b.dataset.userId ? n : b.dataset.userId;
      });
      try {
        const body = { name: name.value.trim(), allowed_origins: originsOf(origins.value), files: files.read(), recording: recording.read(), hours: hours.read(), branding: branding.read() };
        await call('PATCH', `/api/admin/queues/${encodeURIComponent(q.id)}`, body);
        await branding.saveLogo(q.id);
        await call('PUT', `/api/admin/queues/${encodeURIComponent(q.id)}/members`, { user_ids: ids });
      } catch (err) {
        setText(error, err.message || 'Could not save.');
        error.hidden = false;
        save.disabled = false;
        return;
      }
      ok(`Saved queue ${q.slug}`);
      await this.load();
    } } },
      h('h3', {}, 'Edit queue ', h('code', {}, q.slug)),
      h('div', { class: 'field' }, h('label', {}, 'Name'), name),
      h('div', { class: 'field' }, h('label', {}, 'Allowed sites (one origin per line, e.g. https://www.example.com)'), origins),
      h('fieldset', { class: 'members' }, h('legend', {}, 'Members'), boxes.length ? boxes : h('p', { class: 'muted' }, 'No people yet.')),
      files.node,
      recording.node,
      hours.node,
      branding.node,
      error,
      h('div', { class: 'form-actions' },
        h('button', { type: 'button', class: 'btn', testid: 'queue-cancel', on: { click: close } }, 'Cancel'), save));
    return form;
  }

  async _create() {
    const f = this.form;
    const body = { slug: f.slug.value.trim(), name: f.name.value.trim(), allowed_origins: originsOf(f.origins.value) };
    const showError = (text) => { setText(f.error, text); f.error.hidden = !text; };
    if (!body.slug || !body.name) {
      showError('Fill in a slug and a name.');
      return;
    }
    showError('');
    f.submit.disabled = true;
    try {
      await call('POST', '/api/admin/queues', body);
    } catch (err) {
      showError(err.message || 'Could not create the queue.');
      return;
    } finally {
      f.submit.disabled = false;
    }
    ok(`Created queue ${body.slug}`);
    f.slug.value = '';
    f.name.value = '';
    f.origins.value = '';
    await this.load();
  }
}
