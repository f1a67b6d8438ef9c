// Reports: the figures of GET /api/reports (server/api_reports.py,
// desklink/reports.py) as charts and a table, for a date range in a time zone
// (the browser's by default), grouped by day, week, queue or rep, narrowed to
// a queue; and the requests that never became sessions
// (GET /api/reports/unanswered), filtered by status and searched by words.
// Both have a "Download CSV" link to the API's own CSV with the same query.
//
// The charts are drawn with the vendored uPlot (web/vendor/README.md) from
// exactly the numbers the API returned: each chart's container carries them
// in data-figures (JSON: {labels, series: {name: [values]}}) so a test can
// compare them with the API. The server scopes the figures by role.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { h, clear, setText, formatDateTime } from '../shared/dom.js';
import { call, ctx, fail, listOf } from './common.js';

const GROUPS = [['day', 'Day'], ['week', 'Week'], ['queue', 'Queue'], ['rep', 'Rep']];
const STATUSES = [['', 'Any status'], ['abandoned', 'Abandoned'], ['cancelled', 'Cancelled'], ['expired', 'Expired']];
const PAGE = 50;
const COLOURS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#d97706'];

/** The charts: a title and the figures drawn, one line each. */
export const CHARTS = [
  { id: 'requests', title: 'Requests', figures: ['requests', 'answered', 'abandoned', 'expired'] },
  { id: 'wait', title: 'Wait (p50, p90)', figures: ['wait_p50', 'wait_p90'] },
  { id: 'handle', title: 'Handle time (p50, p90)', figures: ['handle_p50', 'handle_p90'] },
  { id: 'escalation', title: 'Escalation', figures: ['screen_rate', 'control_rate', 'files_rate', 'escalated_rate'] },
  { id: 'rating', title: 'Rating', figures: ['rating_avg'] },
];

/** A figure's value in words: seconds as m:ss (h:mm from an hour), ratios as %. */
export function formatValue(value, unit) {
  if (value === null || value === undefined) return '–';
  if (unit === 'seconds') {
    const s = Math.round(value);
    if (s >= 3600) return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} h`;
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }
  if (unit === 'ratio') return `${(value * 100).toFixed(1)}%`;
  if (unit === 'rating') return value.toFixed(2);
  return String(value);
}

/** An axis tick: as formatValue, but short seconds keep their tenths. */
function axisValue(value, unit) {
  if (unit === 'seconds' && value < 60) return `${Number(value < 10 ? value.toPrecision(2) : value.toFixed(1))} s`;
  if (unit === 'ratio') return `${Number((value * 100).toFixed(1))}%`;
  return unit === 'count' && !Number.isInteger(value) ? '' : formatValue(value, unit);
}

function isoDate(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export class ReportsView {
  constructor(section) {
    this.section = section;
    const field = (label, input) => h('label', { class: 'field' }, h('span', {}, label), input);
    const today = new Date();
    const weekAgo = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 6);
    this.from = h('input', { type: 'date', testid: 'reports-from', props: { value: isoDate(weekAgo) } });
    this.to = h('input', { type: 'date', testid: 'reports-to', props: { value: isoDate(today) } });
    const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
    this.tz = h('select', { testid: 'reports-tz' },
      [...new Set(['UTC', browserZone, ...zones])].map((z) => h('option', { value: z, props: { selected: z === browserZone } }, z)));
    this.group = h('select', { testid: 'reports-group' }, GROUPS.map(([v, t]) => h('option', { value: v }, t)));
    this.queue = h('select', { testid: 'reports-queue' }, h('option', { value: '' }, 'All queues'));
    this.form = h('form', { class: 'card search-form', testid: 'reports-form', on: { submit: (e) => { e.preventDefault(); this.load(); } } },
      field('From', this.from), field('To', this.to), field('Time zone', this.tz), field('Group by', this.group), field('Queue', this.queue),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary btn-small', testid: 'reports-go' }, 'Show')));
    this.scope = h('p', { class: 'muted', testid: 'reports-scope' });
    this.csv = h('a', { class: 'btn btn-small', testid: 'reports-csv', download: '' }, 'Download CSV');
    this.charts = h('div', { class: 'report-charts', testid: 'reports-charts' });
    this.table = h('table', { class: 'table table-compact report-table', testid: 'reports-table' });
    this.plots = [];

    this.status = h('select', { testid: 'unanswered-status' }, STATUSES.map(([v, t]) => h('option', { value: v }, t)));
    this.words = h('input', { type: 'search', testid: 'unanswered-words', placeholder: 'Name, e-mail or question', maxlength: 200 });
    this.unansweredCsv = h('a', { class: 'btn btn-small', testid: 'unanswered-csv', download: '' }, 'Download CSV');
    this.unansweredBody = h('tbody');
    this.more = h('button', { type: 'button', class: 'btn btn-small', testid: 'unanswered-more', props: { hidden: true }, on: { click: () => this._unanswered(true) } }, 'More');
    this.unansweredForm = h('form', { class: 'search-form', testid: 'unanswered-form', on: { submit: (e) => { e.preventDefault(); this._unanswered(false); } } },
      field('Status', this.status), field('Words', this.words),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary btn-small', testid: 'unanswered-go' }, 'Search')));

    // Unanswered requests have no rep: supervisors and admins only (the API says 403 to reps).
    this.unansweredPart = h('div', { testid: 'unanswered' },
      h('div', { class: 'view-head' }, h('h2', {}, 'Requests that never became sessions'), this.unansweredCsv),
      h('div', { class: 'card' }, this.unansweredForm,
        h('table', { class: 'table table-compact', testid: 'unanswered-table' },
          h('thead', {}, h('tr', {}, ['Submitted', 'Queue', 'Visitor', 'Question', 'Status', 'Waited'].map((t) => h('th', {}, t)))),
          this.unansweredBody),
        h('div', { class: 'pager' }, this.more)));
    this.section.append(
      h('div', { class: 'view-head' }, h('h1', {}, 'Reports'), this.csv),
      this.scope,
      this.form,
      this.charts,
      h('div', { class: 'card report-table-wrap' }, this.table),
      this.unansweredPart);
    this.offset = 0;
    this.queuesLoaded = false;
  }

  params() {
    const p = new URLSearchParams();
    if (this.from.value) p.set('from', this.from.value);
    if (this.to.value) p.set('to', this.to.value);
    p.set('tz', this.tz.value);
    p.set('group', this.group.value);
    if (this.queue.value) p.set('queue', this.queue.value);
    return p;
  }

  unansweredParams(offset) {
    const p = this.params();
    p.delete('group');
    if (this.status.value) p.set('status', this.status.value);
    if (this.words.value.trim()) p.set('q', this.words.value.trim());
    p.set('limit', String(PAGE));
    p.set('offset', String(offset));
    return p;
  }

  async load() {
    if (!this.queuesLoaded) await this._loadQueues();
    const p = this.params();
    this.csv.href = `/api/reports.csv?${p}`;
    let report;
    try {
      report = await call('GET', `/api/reports?${p}`);
    } catch (err) {
      fail(err, 'Could not load the report');
      return;
    }
    this.report = report;
    const role = ctx.user?.role;
    setText(this.scope, `${role === 'rep' ? 'Your figures' : role === 'supervisor' ? 'Your queues' : 'Every queue and rep'}, ${report.from} to ${report.to} (${report.tz}).`);
    this._drawCharts(report);
    this._drawTable(report);
    this.section.dataset.loaded = p.toString();  // the query shown, for tests
    this.unansweredPart.hidden = role === 'rep';
    if (role !== 'rep') await this._unanswered(false);
  }

  async _loadQueues() {
    try {
      // Admins pick any queue; others their own (from /api/me), the API's scope.
      const queues = ctx.user?.role === 'admin' ? listOf(await call('GET', '/api/admin/queues'), 'queues') : ctx.queues;
      for (const q of queues) this.queue.append(h('option', { value: q.slug }, q.name || q.slug));
      this.queuesLoaded = true;
    } catch {
      // The report still works for all queues.
    }
  }

  _drawCharts(report) {
    for (const plot of this.plots) plot.destroy();
    this.plots = [];
    clear(this.charts);
    const units = Object.fromEntries(report.figures.map((f) => [f.name, f]));
    const labels = report.rows.map((r) => r.label);
    const short = labels.map((l) => (/^\d{4}-\d{2}-\d{2}$/.test(l) ? l.slice(5) : l));
    for (const chart of CHARTS) {
      const series = Object.fromEntries(chart.figures.map((name) => [name, report.rows.map((r) => r[name] ?? null)]));
      const box = h('div', { class: 'card report-chart', testid: `chart-${chart.id}`, data: { figures: JSON.stringify({ labels, series }) } },
        h('h3', {}, chart.title));
      this.charts.append(box);
      const unit = units[chart.figures[0]]?.unit;
      const width = Math.max(280, box.clientWidth - 36);
      const xs = labels.map((_, i) => i);
      const opts = {
        width,
        height: 220,
        scales: { x: { time: false, range: [-0.5, Math.max(0.5, labels.length - 0.5)] } },
        axes: [
          { values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? short[t] ?? '' : '')), incrs: [1, 2, 5, 10, 20, 50] },
          { values: (_u, ticks) => ticks.map((t) => axisValue(t, unit)), size: 60 },
        ],
        series: [{ label: 'Period', value: (_u, i) => (i === null || i === undefined ? '–' : labels[i] ?? '') }, ...chart.figures.map((name, i) => ({
          label: units[name]?.label || name,
          stroke: COLOURS[i % COLOURS.length],
          width: 2,
          points: { show: true, size: 7 },
          value: (_u, v) => formatValue(v, units[name]?.unit),
        }))],
      };
      this.plots.push(new uPlot(opts, [xs, ...chart.figures.map((name) => series[name])], box));
    }
  }

  _drawTable(report) {
    clear(this.table);
    const cols = [...report.rows, report.total];
    this.table.append(
      h('thead', {}, h('tr', {}, h('th', {}, 'Figure'), cols.map((c, i) => h('th', { class: i === cols.length - 1 ? 'total' : '' }, c.label)))),
      h('tbody', {}, report.figures.map((f) => h('tr', { testid: 'report-row', data: { figure: f.name } },
        h('th', { title: f.definition, testid: 'report-figure' }, f.label),
        cols.map((c) => h('td', { class: 'num', data: { key: c.key, value: c[f.name] ?? '' } }, formatValue(c[f.name], f.unit)))))));
  }

  async _unanswered(more) {
    const offset = more ? this.offset : 0;
    const p = this.unansweredParams(offset);
    const csv = new URLSearchParams(p);
    csv.delete('limit');
    csv.delete('offset');
    this.unansweredCsv.href = `/api/reports/unanswered.csv?${csv}`;
    let answer;
    try {
      answer = await call('GET', `/api/reports/unanswered?${p}`);
    } catch (err) {
      fail(err, 'Could not load the unanswered requests');
      return;
    }
    if (!more) clear(this.unansweredBody);
    const found = Array.isArray(answer?.requests) ? answer.requests : [];
    if (!more && !found.length) this.unansweredBody.append(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'None in this range.')));
    for (const r of found) {
      this.unansweredBody.append(h('tr', { testid: 'unanswered-row', data: { requestId: r.id, status: r.status } },
        h('td', { class: 'nowrap', title: r.created_at || '' }, formatDateTime(r.created_at)),
        h('td', {}, r.queue || ''),
        h('td', {}, r.visitor_name || '', r.visitor_email ? h('div', { class: 'muted' }, r.visitor_email) : null),
        h('td', { testid: 'unanswered-question' }, r.question || ''),
        h('td', {}, r.cancelled ? `${r.status} (cancelled)` : r.status),
        h('td', { class: 'num' }, formatValue(r.wait_s, 'seconds'))));
    }
    this.offset = offset + found.length;
    this.more.hidden = !answer?.more;
    this.unansweredBody.dataset.loaded = p.toString();
  }
}
