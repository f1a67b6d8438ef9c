// People: list, create, change role, disable/enable, reset password.

import { h, clear, setText } from '../shared/dom.js';
import { call, listOf, fail, ok, ROLES, ctx } from './common.js';

export class UsersView {
  constructor(section) {
    this.section = section;
    this.users = [];
    this._build();
  }

  _build() {
    const f = this.form = {
      username: h('input', { id: 'nu-username', testid: 'new-username', autocomplete: 'off', required: true }),
      displayName: h('input', { id: 'nu-display', testid: 'new-display-name', autocomplete: 'off', required: true }),
      role: h('select', { id: 'nu-role', testid: 'new-role' }, ROLES.map(([v, l]) => h('option', { value: v }, l))),
      password: h('input', { id: 'nu-password', testid: 'new-password', type: 'password', autocomplete: 'new-password', required: true }),
      error: h('p', { class: 'form-error', testid: 'new-user-error', props: { hidden: true } }),
      submit: h('button', { type: 'submit', class: 'btn btn-primary', testid: 'create-user' }, 'Add person'),
    };
    const form = h('form', { class: 'card form-grid', testid: 'new-user-form', novalidate: true, on: { submit: (e) => { e.preventDefault(); this._create(); } } },
      h('h3', { class: 'card-title' }, 'Add a person'),
      field('Username', f.username, 'nu-username'),
      field('Display name (shown to visitors)', f.displayName, 'nu-display'),
      field('Role', f.role, 'nu-role'),
      field('Initial password', f.password, 'nu-password'),
      h('div', { class: 'form-actions' }, f.error, f.submit));
    this.tbody = h('tbody');
    const table = h('table', { class: 'table', testid: 'users-table' },
      h('thead', {}, h('tr', {}, ['Username', 'Display name', 'Role', 'Status', ''].map((t) => h('th', {}, t)))),
      this.tbody);
    append(this.section,
      h('div', { class: 'view-head' }, h('h1', {}, 'People'),
        h('button', { type: 'button', class: 'btn btn-small', testid: 'users-refresh', on: { click: () => this.load() } }, 'Refresh')),
      form, h('div', { class: 'card' }, table));
  }

  async load() {
    try {
      this.users = listOf(await call('GET', '/api/admin/users'), 'users');
    } catch (err) {
      fail(err, 'Could not load people');
      return;
    }
    this._render();
  }

  _render() {
    clear(this.tbody);
    if (!this.users.length) this.tbody.append(h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No people yet.')));
    for (const u of this.users) this.tbody.append(...this._row(u));
  }

  _row(u) {
    const role = h('select', { testid: 'user-role', 'aria-label': `Role of ${u.username}` },
      ROLES.map(([v, l]) => h('option', { value: v, selected: u.role === v }, l)));
    role.value = u.role;
    role.addEventListener('change', () => this._patch(u, { role: role.value }, `${u.username} is now ${role.value}`, () => { role.value = u.role; }));
    const toggle = h('button', { type: 'button', class: ['btn', 'btn-small', u.disabled ? '' : 'btn-danger'], testid: 'user-toggle' },
      u.disabled ? 'Enable' : 'Disable');
    toggle.addEventListener('click', () => this._patch(u, { disabled: !u.disabled }, `${u.username} ${u.disabled ? 'enabled' : 'disabled'}`));
    const resetRow = this._resetRow(u);
    const reset = h('button', { type: 'button', class: 'btn btn-small', testid: 'user-reset', on: { click: () => {
      resetRow.hidden = !resetRow.hidden;
      if (!resetRow.hidden) resetRow.querySelector('input').focus();
    } } }, 'Reset password');
    const isMe = ctx.user && String(ctx.user.id) === String(u.id);
    const row = h('tr', { testid: 'user-row', data: { userId: u.id, username: u.username, disabled: String(!!u.disabled) }, class: u.disabled ? 'row-disabled' : '' },
      h('td', { testid: 'user-username' }, h('strong', {}, u.username), isMe ? h('span', { class: 'pill' }, 'you') : null),
      h('td', { testid: 'user-display-name' }, u.display_name || ''),
      h('td', {}, role),
      h('td', { testid: 'user-status' }, h('span', { class: ['status', u.disabled ? 'status-off' : 'status-on'] }, u.disabled ? 'Disabled' : 'Active')),
      h('td', {}, h('div', { class: 'row-actions' }, reset, toggle)));
    return [row, resetRow];
  }

  _resetRow(u) {
    const password = h('input', { type: 'password', testid: 'reset-password', autocomplete: 'new-password', placeholder: 'New password', 'aria-label': `New password for ${u.username}` });
    const row = h('tr', { class: 'reset-row', testid: 'reset-row', data: { userId: u.id }, props: { hidden: true } },
      h('td', { colspan: 5 },
        h('form', { class: 'inline-form', on: { submit: async (e) => {
          e.preventDefault();
          if (!password.value) return;
          await this._patch(u, { password: password.value }, `New password set for ${u.username}`);
        } } },
          h('input', { type: 'text', autocomplete: 'username', value: u.username, hidden: true, readonly: true, tabindex: -1, 'aria-hidden': 'true' }),
          h('span', {}, `New password for ${u.username}:`), password,
          h('button', { type: 'submit', class: 'btn btn-primary btn-small', testid: 'reset-save' }, 'Set password'),
          h('button', { type: 'button', class: 'btn btn-small', testid: 'reset-cancel', on: { click: () => { row.hidden = true; password.value = ''; } } }, 'Cancel'))));
    return row;
  }

  async _patch(u, body, message, undo) {
    try {
      await call('PATCH', `/api/admin/users/${encodeURIComponent(u.id)}`, body);
    } catch (err) {
      fail(err, `Could not change ${u.username}`);
      undo?.();
      return;
    }
    ok(message);
    await this.load();
  }

  async _create() {
    const f = this.form;
    const body = {
      username: f.username.value.trim(),
      display_name: f.displayName.value.trim(),
      role: f.role.value,
      password: f.password.value,
    };
    const showError = (text) => { setText(f.error, text); f.error.hidden = !text; };
    if (!body.username || !body.display_name || !body.password) {
      showError('Fill in username, display name and password.');
      return;
    }
    showError('');
    f.submit.disabled = true;
    try {
      await call('POST', '/api/admin/users', body);
    } catch (err) {
      showError(err.message || 'Could not create the account.');
      return;
    } finally {
      f.submit.disabled = false;
    }
    ok(`Added ${body.username}`);
    f.username.value = '';
    f.displayName.value = '';
    f.password.value = '';
    f.role.value = 'rep';
    await this.load();
  }
}

function field(label, input, id) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

function append(parent, ...children) {
  parent.append(...children);
}
