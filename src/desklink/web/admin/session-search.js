// The sessions search form: words said in the chat, visitor, queue, outcome,
// dates and what the session had (screen, control, files). It builds the
// query of GET /api/sessions (see server/session_search.py); the server
// checks every field and says in words what is wrong.

import { h } from '../shared/dom.js';
import { call, listOf } from './common.js';

const OUTCOMES = [['', 'Any outcome'], ['resolved', 'Resolved'], ['not_resolved', 'Not resolved'], ['escalated', 'Escalated']];
const HAD = [['screen', 'Screen'], ['control', 'Control'], ['files', 'Files']];

export class SessionSearch {
  /** onSearch(params: URLSearchParams) runs on submit and on Clear. */
  constructor(onSearch) {
    this.onSearch = onSearch;
    const field = (label, input) => h('label', { class: 'field' }, h('span', {}, label), input);
    this.words = h('input', { type: 'search', testid: 'search-words', placeholder: 'Words said in the chat', maxlength: 200 });
    this.visitor = h('input', { type: 'search', testid: 'search-visitor', placeholder: 'Name or e-mail', maxlength: 200 });
    this.queue = h('select', { testid: 'search-queue' }, h('option', { value: '' }, 'Any queue'));
    this.outcome = h('select', { testid: 'search-outcome' }, OUTCOMES.map(([v, t]) => h('option', { value: v }, t)));
    this.from = h('input', { type: 'date', testid: 'search-from' });
    this.to = h('input', { type: 'date', testid: 'search-to' });
    this.had = HAD.map(([v, t]) => {
      const box = h('input', { type: 'checkbox', value: v, testid: `search-had-${v}` });
      return { box, label: h('label', { class: 'check' }, box, ` ${t}`) };
    });
    this.form = h('form', { class: 'card search-form', testid: 'sessions-search', on: { submit: (e) => { e.preventDefault(); this.onSearch(this.params()); } } },
      field('Words', this.words), field('Visitor', this.visitor), field('Queue', this.queue), field('Outcome', this.outcome),
      field('From', this.from), field('To', this.to),
      h('fieldset', { class: 'had' }, h('legend', {}, 'Had'), this.had.map((x) => x.label)),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'btn btn-primary btn-small', testid: 'search-go' }, 'Search'),
        h('button', { type: 'button', class: 'btn btn-small', testid: 'search-clear', on: { click: () => { this.form.reset(); this.onSearch(this.params()); } } }, 'Clear')));
  }

  async loadQueues() {
    try {
      const queues = listOf(await call('GET', '/api/admin/queues'), 'queues');
      for (const q of queues) this.queue.append(h('option', { value: q.slug }, q.name || q.slug));
    } catch {
      // The form still searches without the queue list.
    }
  }

  params() {
    const p = new URLSearchParams();
    const put = (k, v) => { if (v && String(v).trim()) p.set(k, String(v).trim()); };
    put('q', this.words.value);
    put('visitor', this.visitor.value);
    put('queue', this.queue.value);
    put('disposition', this.outcome.value);
    put('from', this.from.value);
    put('to', this.to.value);
    put('had', this.had.filter((x) => x.box.checked).map((x) => x.box.value).join(','));
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && (p.has('from') || p.has('to'))) p.set('tz', tz);
    return p;
  }
}
