// A queue's branding in the help box (issue 14): the title in the header,
// the accent colour (CSS custom properties on the box's root, used by the
// launcher, the header and the buttons), the logo and the welcome text, all
// from /api/widget/config's `branding` (docs/protocol.md). The pre-chat
// fields are rendered in the request form; required ones are checked here
// before the submit, and again by the server.
//
// The provider's own words (title, welcome, labels, options) are shown as the
// admin typed them, as text; only the help box's own words go through t().
// Without branding (empty values, no fields) nothing here changes the box.

import { h, setText, clear } from '../shared/dom.js';
import { t } from './i18n.js';

const COLOR_RE = /^#[0-9a-fA-F]{6}$/;
const EMAIL_RE = /^[^@\s]+@[^@\s]+$/;

/** `#rrggbb` -> black or white, whichever reads better on it (WCAG luminance). */
export function textOn(color) {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(color.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 ? '#1d2433' : '#ffffff';
}

/**
 * The request form's words when the server refused the pre-chat answers
 * (`bad_prechat`), else null. `reload` is called then: an admin may have
 * changed the fields since the box loaded its config.
 */
export function prechatErrorText(err, reload) {
  if (err?.code !== 'bad_prechat') return null;
  reload();
  return t('branding.refused');
}

/**
 * Apply the widget config's `branding` ({title, color, welcome, logo_url,
 * fields}) to the box's parts: $.root (colour), $.provider (title), $.head
 * (logo), $.intro (welcome), and the fields to `prechat` (a PrechatFields).
 * `server` resolves the logo's path.
 */
export function applyBranding($, config, server, prechat) {
  // Applied again whenever the config is loaded again: each part is set or put back.
  const b = config?.branding || {};
  prechat.set(b.fields, config?.limits?.prechat_answer);
  if (b.title) setText($.provider, b.title);
  const style = $.root.style;
  const color = typeof b.color === 'string' && COLOR_RE.test(b.color) ? b.color : '';
  const accent = color ? {
    '--dl-accent': color,
    '--dl-accent-dark': `color-mix(in srgb, ${color} 80%, black)`,
    '--dl-accent-soft': `color-mix(in srgb, ${color} 12%, white)`,
    '--dl-on-accent': textOn(color),
  } : {};
  for (const name of ['--dl-accent', '--dl-accent-dark', '--dl-accent-soft', '--dl-on-accent']) {
    if (accent[name]) style.setProperty(name, accent[name]);
    else style.removeProperty(name);
  }
  $.logo?.remove();
  $.logo = null;
  if (b.logo_url) {
    let src = null;
    try {
      src = new URL(b.logo_url, server);
    } catch { /* not a URL: no logo */ }
    if (src && (src.protocol === 'https:' || src.protocol === 'http:')) {
      $.logo = h('img', { class: 'brand-logo', testid: 'brand-logo', src: src.href, alt: '', decoding: 'async' });
      $.logo.addEventListener('error', () => { if ($.logo) $.logo.hidden = true; });
      $.head.prepend($.logo);
    }
  }
  if ($.introDefault === undefined) $.introDefault = $.intro.textContent;
  setText($.intro, b.welcome || $.introDefault);
  $.intro.classList.toggle('welcome', !!b.welcome);
}

/**
 * The request form's pre-chat fields. `node` goes in the form; `set(fields,
 * maxChars)` draws them (again); `problem()` is [words, element] for the
 * first field that is not right yet, or null; `answers()` the values by name.
 */
export class PrechatFields {
  constructor() {
    this.node = h('div', { class: 'prechat', testid: 'prechat', props: { hidden: true } });
    this.fields = [];
  }

  set(fields, maxChars) {
    const typed = this.answers(); // drawn again: what the visitor typed stays
    clear(this.node);
    this.fields = [];
    const list = Array.isArray(fields) ? fields : [];
    list.forEach((f, i) => {
      if (!f || typeof f.name !== 'string' || typeof f.label !== 'string') return;
      const id = `dl-prechat-${i}`;
      let input;
      if (f.kind === 'select') {
        input = h('select', { id, testid: 'prechat-input', data: { name: f.name } },
          h('option', { value: '' }, t('branding.choose')),
          (f.options || []).map((o) => h('option', { value: o }, o)));
      } else {
        input = h('input', { id, testid: 'prechat-input', type: f.kind === 'email' ? 'email' : 'text', data: { name: f.name } });
        if (maxChars) input.maxLength = maxChars;
      }
      if (f.required) input.required = true;
      if (typed[f.name] && (f.kind !== 'select' || (f.options || []).includes(typed[f.name]))) input.value = typed[f.name];
      const label = h('label', { for: id }, f.label, f.required ? null : [' ', h('span', { class: 'optional' }, t('branding.optional'))]);
      this.node.append(h('div', { class: 'field', testid: 'prechat-field', data: { name: f.name } }, label, input));
      this.fields.push({ ...f, input, maxChars });
    });
    this.node.hidden = this.fields.length === 0;
  }

  problem() {
    for (const f of this.fields) {
      const value = f.input.value.trim();
      if (!value) {
        if (f.required) return [t('branding.required', { label: f.label }), f.input];
        continue;
      }
      if (f.maxChars && value.length > f.maxChars) return [t('branding.too_long', { label: f.label, max: f.maxChars }), f.input];
      if (f.kind === 'email' && !EMAIL_RE.test(value)) return [t('branding.email', { label: f.label }), f.input];
    }
    return null;
  }

  answers() {
    const out = {};
    for (const f of this.fields) {
      const value = f.input.value.trim();
      if (value) out[f.name] = value;
    }
    return out;
  }
}
