// The "Visitor" panel beside a chat: where the visitor is and who they are
// for the provider, from the session's visitor.context (docs/protocol.md,
// "Visitor context"): the page (a link only for http/https, opened with
// rel=noopener noreferrer), the referrer, browser and system, the language
// the help box speaks to them ("Help box in: German") and the browser's languages,
// their local time (ticking, from their time zone or UTC offset), their
// answers to the queue's pre-chat fields (labelled as the admin named them)
// and the fields the provider's page passed to the help box. Every value is
// hostile input and is only ever set as text.

import { h, setText } from '../shared/dom.js';

const TICK_MS = 1000;

/** An http(s) URL as a link showing its text, else the text alone. */
function urlValue(text, testid) {
  let url = null;
  try {
    url = new URL(text);
  } catch { /* not a URL: shown as text */ }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return h('span', { testid }, text);
  return h('a', { href: url.href, target: '_blank', rel: 'noopener noreferrer', testid, title: text }, text);
}

/** "German (Germany) · de-DE" (the tag alone when the browser cannot name it). */
export function languageText(tag) {
  try {
    const name = new Intl.DisplayNames(['en'], { type: 'language' }).of(tag);
    if (name && name !== tag) return `${name} · ${tag}`;
  } catch { /* an odd tag: shown as it is */ }
  return tag;
}

/** "German" for "de" (the tag itself when the browser cannot name it). */
export function languageName(tag) {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(tag) || tag;
  } catch { /* an odd tag: shown as it is */ }
  return tag;
}

/** "UTC+05:30" for minutes east of UTC. */
export function offsetText(minutes) {
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/** The visitor's wall clock now, "14:05", from their zone or else their offset. */
export function localTime(context, now = new Date()) {
  const opts = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  if (context.time_zone) {
    try {
      return now.toLocaleTimeString('en-GB', { ...opts, timeZone: context.time_zone });
    } catch { /* a zone this browser does not know: use the offset */ }
  }
  if (typeof context.utc_offset_min !== 'number') return '';
  return new Date(now.getTime() + context.utc_offset_min * 60000).toLocaleTimeString('en-GB', { ...opts, timeZone: 'UTC' });
}

function row(label, value, testid) {
  return [h('dt', {}, label), h('dd', { testid }, value)];
}

/** The panel for a session's visitor ({name, email, client, context}). */
export function visitorPanel(visitor = {}) {
  const context = visitor.context || {};
  const fields = Object.entries(context.fields || {});
  const answers = (Array.isArray(context.prechat) ? context.prechat : []).filter((a) => a && typeof a.value === 'string');
  const languages = context.languages || [];
  const clock = h('span', { testid: 'visitor-time' });
  const zone = [context.time_zone, typeof context.utc_offset_min === 'number' ? offsetText(context.utc_offset_min) : '']
    .filter(Boolean).join(', ');
  const rows = [
    context.page ? row('Page', urlValue(context.page, 'visitor-page'), 'visitor-page-row') : null,
    context.referrer ? row('Came from', urlValue(context.referrer, 'visitor-referrer'), 'visitor-referrer-row') : null,
    visitor.client ? row('Browser', visitor.client, 'visitor-client') : null,
    context.help_language ? row('Help box in', languageName(context.help_language), 'visitor-help-language') : null,
    languages.length ? row('Language', languages.map(languageText).join(', '), 'visitor-language') : null,
    zone ? row('Local time', [clock, h('span', { class: 'muted', testid: 'visitor-zone' }, ` (${zone})`)], 'visitor-time-row') : null,
  ];
  const panel = h('aside', { class: 'visitor-panel', testid: 'visitor-panel', 'aria-label': 'Visitor' },
    h('h4', {}, 'Visitor'),
    h('dl', { class: 'visitor-facts' }, rows),
    answers.length ? h('h5', {}, 'From the request form') : null,
    answers.length ? h('dl', { class: 'visitor-fields', testid: 'visitor-prechat' },
      answers.map((a) => [h('dt', { testid: 'visitor-prechat-label' }, String(a.label || a.name)),
        h('dd', { testid: 'visitor-prechat-value', data: { name: String(a.name) } }, a.value)])) : null,
    fields.length ? h('h5', {}, 'From the provider’s page') : null,
    fields.length ? h('dl', { class: 'visitor-fields', testid: 'visitor-fields' },
      fields.map(([key, value]) => [h('dt', { testid: 'visitor-field-key' }, key), h('dd', { testid: 'visitor-field-value', data: { key } }, value)])) : null,
    rows.some(Boolean) || fields.length || answers.length ? null : h('p', { class: 'muted', testid: 'visitor-none' }, 'The help box sent nothing more.'));
  if (zone) {
    const tick = () => setText(clock, localTime(context));
    tick();
    let seen = false;
    const timer = setInterval(() => {
      if (panel.isConnected) seen = true;
      else if (seen) { clearInterval(timer); return; } // the chat was closed
      tick();
    }, TICK_MS);
  }
  return panel;
}
