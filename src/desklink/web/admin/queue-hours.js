// A queue's business hours in the admin center: the "Business hours"
// fieldset of the queue editor and the line on the queue card. Outside its
// hours the help box offers to leave a message instead of a chat (and the
// server refuses live chats). The server checks and normalises the hours
// (desklink/hours.py) and audits the change (queue.hours); the page only
// turns "09:00-12:30, 13:30-17:00" into intervals and shows its answer.

import { h } from '../shared/dom.js';

export const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'], ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];

function browserZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch { return 'UTC'; }
}

/** "09:00-12:30, 13:30-17:00" -> [["09:00","12:30"],["13:30","17:00"]] (the server checks the times). */
export function parseIntervals(text) {
  return String(text || '').split(/[,;]/).map((s) => s.trim()).filter(Boolean).map((part) => {
    const [start = '', end = ''] = part.split(/\s*[-–]\s*/);
    return [start.trim(), end.trim()];
  });
}

export function intervalsText(intervals) {
  return (intervals || []).map(([s, e]) => `${s}-${e}`).join(', ');
}

/** The card's words: "Always open", or the days with hours, the holidays and the zone. */
export function hoursSummary(hours) {
  const weekly = hours?.weekly || {};
  const holidays = hours?.holidays || [];
  if (!Object.keys(weekly).length && !holidays.length) return ['Always open'];
  const parts = DAYS.filter(([key]) => weekly[key]?.length).map(([key, name]) => `${name.slice(0, 3)} ${intervalsText(weekly[key])}`);
  if (!parts.length) parts.push('Every day, all day');
  if (holidays.length) parts.push(`${holidays.length} holiday${holidays.length === 1 ? '' : 's'}`);
  parts.push(hours.tz || 'UTC');
  return parts;
}

/** The editor's "Business hours" fieldset; ``read()`` gives the value for ``PATCH /api/admin/queues/{id}``. */
export function hoursFieldset(hours) {
  const given = hours || {};
  const tz = h('input', { testid: 'queue-hours-tz', 'aria-label': 'Time zone', list: 'queue-hours-zones', placeholder: 'Europe/Berlin' });
  tz.value = given.tz || browserZone();
  let zones = [];
  try { zones = Intl.supportedValuesOf('timeZone'); } catch { /* an older browser: type it */ }
  const datalist = h('datalist', { id: 'queue-hours-zones' }, zones.map((z) => h('option', { value: z })));
  const days = DAYS.map(([key, name]) => {
    const input = h('input', { testid: `queue-hours-${key}`, 'aria-label': `${name} hours`, placeholder: '09:00-17:00' });
    input.value = intervalsText(given.weekly?.[key]);
    return [key, name, input];
  });
  const holidays = h('textarea', { testid: 'queue-hours-holidays', rows: 2, 'aria-label': 'Holidays', placeholder: '2026-12-24, 2026-12-25' });
  holidays.value = (given.holidays || []).join(', ');
  const node = h('fieldset', { class: 'queue-hours', testid: 'queue-hours-fieldset' },
    h('legend', {}, 'Business hours'),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Time zone'), tz, datalist),
    ...days.map(([, name, input]) => h('div', { class: 'field' }, h('span', { class: 'label' }, name), input)),
    h('div', { class: 'field field-wide' }, h('span', { class: 'label' }, 'Holidays (closed all day)'), holidays),
    h('p', { class: 'muted field-wide hint' },
      'Hours like 09:00-12:30, 13:30-17:00; 22:00-06:00 runs overnight. Leave every day empty for open all day (holidays still close). '
      + 'Outside these hours the help box offers to leave a message, answered by e-mail.'));
  const read = () => {
    const weekly = {};
    for (const [key, , input] of days) {
      const intervals = parseIntervals(input.value);
      if (intervals.length) weekly[key] = intervals;
    }
    const dates = holidays.value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
    if (!Object.keys(weekly).length && !dates.length) return {};
    return { tz: tz.value.trim() || 'UTC', weekly, holidays: dates };
  };
  return { node, read };
}
