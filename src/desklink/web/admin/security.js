// Security: which roles must sign in with a second factor (the policy), and
// each person's second-factor state with a reset (they enrol again at their
// next login). Both changes are written to the audit log by the server.

import { h, clear } from '../shared/dom.js';
import { call, fail, ok, ROLES } from './common.js';

const STATES = { on: 'On', enrolling: 'Setting up', off: 'Off' };

export class SecurityView {
  constructor(section) {
    this.section = section;
    this.boxes = {};
    this._build();
  }

  _build() {
    const boxes = ROLES.map(([value, label]) => {
      const box = h('input', { type: 'checkbox', id: `sf-role-${value}`, testid: `policy-${value}`, value });
      this.boxes[value] = box;
      return h('label', { class: 'sf-role', for: `sf-role-${value}` }, box, ` ${label}s`);
    });
    this.save = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'policy-save' }, 'Save');
    const policy = h('form', { class: 'card', testid: 'policy-form', on: { submit: (e) => { e.preventDefault(); this._savePolicy(); } } },
      h('h3', { class: 'card-title' }, 'Two-step sign-in'),
      h('p', { class: 'muted' }, 'People in the checked roles must use a code from an authenticator app when they log in. Those without one set it up at their next login.'),
      h('div', { class: 'inline-form' }, boxes, this.save));
    this.tbody = h('tbody');
    const table = h('table', { class: 'table', testid: 'second-factor-table' },
      h('thead', {}, h('tr', {}, ['Username', 'Role', 'Two-step sign-in', ''].map((t) => h('th', {}, t)))),
      this.tbody);
    this.section.append(
      h('div', { class: 'view-head' }, h('h1', {}, 'Security'),
        h('button', { type: 'button', class: 'btn btn-small', testid: 'security-refresh', on: { click: () => this.load() } }, 'Refresh')),
      policy, h('div', { class: 'card' }, table));
  }

  async load() {
    let data;
    try {
      data = await call('GET', '/api/admin/second-factor');
    } catch (err) {
      fail(err, 'Could not load the security settings');
      return;
    }
    for (const [role, box] of Object.entries(this.boxes)) box.checked = data.policy.roles.includes(role);
    clear(this.tbody);
    for (const u of data.users) this.tbody.append(this._row(u));
  }

  _row(u) {
    const state = h('span', { class: ['status', u.second_factor === 'on' ? 'status-on' : 'status-off'], testid: 'second-factor-state' },
      STATES[u.second_factor] || u.second_factor);
    const reset = h('button', { type: 'button', class: 'btn btn-small btn-danger', testid: 'second-factor-reset', props: { hidden: u.second_factor === 'off' } }, 'Reset');
    reset.addEventListener('click', async () => {
      if (!window.confirm(`Reset two-step sign-in for ${u.username}? They set it up again at their next login.`)) return;
      try {
        await call('DELETE', `/api/admin/users/${u.id}/second-factor`);
      } catch (err) {
        fail(err, 'Could not reset');
        return;
      }
      ok(`Two-step sign-in reset for ${u.username}`);
      this.load();
    });
    const required = u.second_factor_required ? h('span', { class: 'pill' }, 'required') : null;
    return h('tr', { testid: 'second-factor-row', data: { username: u.username, state: u.second_factor } },
      h('td', {}, h('strong', {}, u.username)),
      h('td', {}, u.role),
      h('td', {}, state, ' ', required),
      h('td', {}, h('div', { class: 'row-actions' }, reset)));
  }

  async _savePolicy() {
    const roles = Object.entries(this.boxes).filter(([, box]) => box.checked).map(([role]) => role);
    this.save.disabled = true;
    try {
      await call('PUT', '/api/admin/second-factor/policy', { roles });
      ok(roles.length ? `Two-step sign-in required for: ${roles.join(', ')}` : 'Two-step sign-in is optional for everyone');
      await this.load();
    } catch (err) {
      fail(err, 'Could not save the policy');
    } finally {
      this.save.disabled = false;
    }
  }
}
