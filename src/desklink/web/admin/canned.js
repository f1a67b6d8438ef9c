// Canned replies of a queue (GET/POST/PATCH/DELETE /api/canned): admins
// manage every queue's, supervisors those of their queues. Reps type "/"
// and a reply's shortcut in the console to insert it, with {visitor_name}
// and {rep_name} filled in. Everything shown here is text.

import { h, clear, setText } from '../shared/dom.js';
import { call, listOf, fail, ok, ctx } from './common.js';

export class CannedView {
  constructor(section) {
    this.section = section;
    this.queues = [];
    this.editing = null;
    this.queueSelect = h('select', { testid: 'canned-queue', 'aria-label': 'Queue', on: { change: () => this._loadReplies() } });
    this.list = h('tbody', { testid: 'canned-list' });
    const f = this.form = {
      name: h('input', { id: 'cr-name', testid: 'canned-name', autocomplete: 'off', placeholder: 'refund' }),
      title: h('input', { id: 'cr-title', testid: 'canned-title', autocomplete: 'off', placeholder: 'How refunds work' }),
      body: h('textarea', { id: 'cr-body', testid: 'canned-body', rows: 4, placeholder: 'Hello {visitor_name}, …' }),
      error: h('p', { class: 'form-error', testid: 'canned-error', props: { hidden: true } }),
      submit: h('button', { type: 'submit', class: 'btn btn-primary', testid: 'canned-save' }, 'Add reply'),
      cancel: h('button', { type: 'button', class: 'btn', testid: 'canned-cancel', props: { hidden: true }, on: { click: () => this._reset() } }, 'Cancel'),
    };
    this.formTitle = h('h3', { class: 'card-title' }, 'New reply');
    const form = h('form', { class: 'card form-grid', testid: 'canned-form', novalidate: true, on: { submit: (e) => { e.preventDefault(); this._save(); } } },
      this.formTitle,
      h('div', { class: 'field' }, h('label', { for: 'cr-name' }, 'Shortcut (typed after / in the console)'), f.name),
      h('div', { class: 'field' }, h('label', { for: 'cr-title' }, 'Title'), f.title),
      h('div', { class: 'field field-wide' }, h('label', { for: 'cr-body' }, 'Text ({visitor_name} and {rep_name} are filled in)'), f.body),
      h('div', { class: 'form-actions' }, f.error, f.cancel, f.submit));
    this.section.append(
      h('div', { class: 'view-head' }, h('h1', {}, 'Canned replies'),
        h('label', { class: 'inline-field' }, 'Queue ', this.queueSelect)),
      h('p', { class: 'muted' }, 'Answers reps insert in a chat by typing / and the shortcut. Reps keep their own in the console.'),
      h('div', { class: 'card' },
        h('table', { class: 'table table-compact', testid: 'canned-table' },
          h('thead', {}, h('tr', {}, ['Shortcut', 'Title', 'Text', ''].map((t) => h('th', {}, t)))),
          this.list)),
      form);
  }

  async load() {
    try {
      const answer = ctx.user?.role === 'admin' ? await call('GET', '/api/admin/queues') : await call('GET', '/api/me');
      this.queues = listOf(answer, 'queues');
    } catch (err) {
      fail(err, 'Could not load queues');
      return;
    }
    const keep = this.queueSelect.value;
    clear(this.queueSelect);
    for (const q of this.queues) this.queueSelect.append(h('option', { value: q.id }, `${q.name} (${q.slug})`));
    if (keep && this.queues.some((q) => String(q.id) === keep)) this.queueSelect.value = keep;
    await this._loadReplies();
  }

  async _loadReplies() {
    clear(this.list);
    this._reset();
    const queueId = this.queueSelect.value;
    if (!queueId) {
      this.list.append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'Create a queue first.')));
      return;
    }
    let replies;
    try {
      replies = listOf(await call('GET', `/api/canned?queue_id=${encodeURIComponent(queueId)}`), 'replies');
    } catch (err) {
      fail(err, 'Could not load the replies');
      return;
    }
    if (!replies.length) this.list.append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No canned replies in this queue yet.')));
    for (const r of replies) {
      this.list.append(h('tr', { testid: 'canned-row', data: { name: r.name } },
        h('td', {}, h('code', {}, `/${r.name}`)),
        h('td', {}, r.title),
        h('td', { class: 'canned-text' }, r.body),
        h('td', { class: 'row-actions' },
          h('button', { type: 'button', class: 'btn btn-small', testid: 'canned-edit', on: { click: () => this._edit(r) } }, 'Edit'),
          h('button', { type: 'button', class: 'btn btn-small btn-danger', testid: 'canned-delete', on: { click: () => this._delete(r) } }, 'Delete'))));
    }
  }

  _reset() {
    this.editing = null;
    const f = this.form;
    f.name.value = f.title.value = f.body.value = '';
    f.error.hidden = true;
    f.cancel.hidden = true;
    setText(f.submit, 'Add reply');
    setText(this.formTitle, 'New reply');
  }

  _edit(r) {
    this.editing = r.id;
    const f = this.form;
    f.name.value = r.name;
    f.title.value = r.title;
    f.body.value = r.body;
    f.cancel.hidden = false;
    setText(f.submit, 'Save changes');
    setText(this.formTitle, `Edit /${r.name}`);
    f.body.focus();
  }

  async _save() {
    const f = this.form;
    f.error.hidden = true;
    const body = { name: f.name.value, title: f.title.value, body: f.body.value };
    try {
      if (this.editing) await call('PATCH', `/api/canned/${this.editing}`, body);
      else await call('POST', '/api/canned', { ...body, queue_id: Number(this.queueSelect.value) });
    } catch (err) {
      setText(f.error, err.message);
      f.error.hidden = false;
      return;
    }
    ok(this.editing ? 'Reply saved.' : 'Reply added.');
    await this._loadReplies();
  }

  async _delete(r) {
    if (!window.confirm(`Delete the reply /${r.name}?`)) return;
    try {
      await call('DELETE', `/api/canned/${r.id}`);
    } catch (err) {
      fail(err, 'Could not delete the reply');
      return;
    }
    await this._loadReplies();
  }
}
