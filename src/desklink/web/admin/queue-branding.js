// A queue's help box branding in the admin center (issue 14): the "Branding"
// fieldset of the queue editor (title, accent colour, welcome text, logo,
// pre-chat fields) with a live preview of the help box's header, and the line
// on the queue card. The server checks everything (admin/rules.py) and
// audits the changes (queue.branding, queue.logo); the page only gathers the
// values and shows its answer. Everything an admin typed is set as text.

import { h, clear, setText } from '../shared/dom.js';
import { ApiError } from '../shared/http.js';
import { ctx } from './common.js';

export const DEFAULT_COLOR = '#2557d6';
const COLOR_RE = /^#[0-9a-fA-F]{6}$/;
const KINDS = [['text', 'Text'], ['email', 'E-mail'], ['select', 'Choice']];
export const LOGO_TYPES = 'image/png,image/jpeg,image/webp';

const EMPTY = { title: '', color: '', welcome: '', fields: [], logo_url: '' };

/** The card's words: "Title “Acme”, #c2185b, logo, 2 pre-chat fields (1 required)" or "Default". */
export function brandingSummary(branding) {
  const b = { ...EMPTY, ...(branding || {}) };
  const parts = [];
  if (b.title) parts.push(`Title “${b.title}”`);
  if (b.color) parts.push(`Colour ${b.color}`);
  if (b.logo_url) parts.push('Logo');
  if (b.welcome) parts.push('Welcome text');
  if (b.fields.length) {
    const required = b.fields.filter((f) => f.required).length;
    parts.push(`${b.fields.length} pre-chat field${b.fields.length === 1 ? '' : 's'}${required ? ` (${required} required)` : ''}`);
  }
  return parts.length ? parts : ['Default'];
}

/** One editable pre-chat field row; `read()` gives {name, label, required, kind, options?}. */
function fieldRow(field, onChange, onRemove) {
  const f = { name: '', label: '', required: false, kind: 'text', options: [], ...(field || {}) };
  const name = h('input', { testid: 'brand-field-name', 'aria-label': 'Field name (letters, digits, - _ .)', placeholder: 'order', autocomplete: 'off' });
  name.value = f.name;
  const label = h('input', { testid: 'brand-field-label', 'aria-label': 'Label the visitor reads', placeholder: 'Order number', autocomplete: 'off' });
  label.value = f.label;
  const kind = h('select', { testid: 'brand-field-kind', 'aria-label': 'Kind' }, KINDS.map(([v, text]) => h('option', { value: v }, text)));
  kind.value = f.kind;
  const required = h('input', { type: 'checkbox', testid: 'brand-field-required' });
  required.checked = !!f.required;
  const options = h('input', { testid: 'brand-field-options', 'aria-label': 'Choices, separated by commas', placeholder: 'Billing, Delivery', autocomplete: 'off' });
  options.value = (f.options || []).join(', ');
  // The choices keep their column when hidden, so the rows line up.
  const showOptions = () => { options.classList.toggle('unused', kind.value !== 'select'); options.disabled = kind.value !== 'select'; };
  showOptions();
  const row = h('div', { class: 'brand-field', testid: 'brand-field' },
    name, label, kind, h('label', { class: 'check' }, required, ' Required'), options,
    h('button', { type: 'button', class: 'btn btn-small', testid: 'brand-field-remove', on: { click: () => { row.remove(); onRemove(); } } }, 'Remove'));
  for (const input of [name, label, kind, required, options]) input.addEventListener('input', () => { showOptions(); onChange(); });
  kind.addEventListener('change', () => { showOptions(); onChange(); });
  row.read = () => {
    const out = { name: name.value.trim(), label: label.value.trim(), required: required.checked, kind: kind.value };
    if (kind.value === 'select') out.options = options.value.split(',').map((s) => s.trim()).filter(Boolean);
    return out;
  };
  row.labelText = () => label.value.trim();
  row.isRequired = () => required.checked;
  return row;
}

/**
 * The editor's "Branding" fieldset. `read()` gives the body for
 * `PATCH /api/admin/queues/{id}` ({branding: ...}); `saveLogo(queueId)`
 * uploads a chosen logo or removes the current one (after the PATCH).
 */
export function brandingFieldset(branding) {
  const b = { ...EMPTY, ...(branding || {}) };
  const title = h('input', { testid: 'brand-title', autocomplete: 'off', placeholder: 'The provider name', 'aria-label': 'Title' });
  title.value = b.title;
  const color = h('input', { testid: 'brand-color', autocomplete: 'off', placeholder: `${DEFAULT_COLOR} (default)`, 'aria-label': 'Accent colour (#rrggbb)' });
  color.value = b.color;
  const picker = h('input', { type: 'color', testid: 'brand-color-picker', 'aria-label': 'Pick the accent colour' });
  picker.value = COLOR_RE.test(b.color) ? b.color : DEFAULT_COLOR;
  const welcome = h('textarea', { testid: 'brand-welcome', rows: 3, placeholder: 'Tell us what you need and we will connect you with someone who can help.', 'aria-label': 'Welcome text' });
  welcome.value = b.welcome;
  const logoFile = h('input', { type: 'file', accept: LOGO_TYPES, testid: 'brand-logo-file', 'aria-label': 'Logo (PNG, JPEG or WebP)' });
  const removeLogo = h('input', { type: 'checkbox', testid: 'brand-logo-remove' });
  const fieldList = h('div', { class: 'brand-fields', testid: 'brand-fields' });

  // live preview of the help box's header and form
  const pLogo = h('img', { class: 'brand-preview-logo', testid: 'brand-preview-logo', alt: '' });
  const pTitle = h('strong', { testid: 'brand-preview-title' });
  const pHead = h('div', { class: 'brand-preview-head', testid: 'brand-preview-head' }, pLogo, pTitle);
  const pWelcome = h('p', { class: 'brand-preview-welcome', testid: 'brand-preview-welcome' });
  const pFields = h('ul', { class: 'brand-preview-fields' });
  const pButton = h('span', { class: 'brand-preview-button' }, 'Ask for help');
  const preview = h('div', { class: 'brand-preview', testid: 'brand-preview', 'aria-label': 'Preview' }, pHead, h('div', { class: 'brand-preview-body' }, pWelcome, pFields, pButton));
  let blobUrl = null;

  const rows = () => [...fieldList.children];
  const render = () => {
    const c = COLOR_RE.test(color.value.trim()) ? color.value.trim() : DEFAULT_COLOR;
    pHead.style.setProperty('background', c);
    pButton.style.setProperty('background', c);
    setText(pTitle, title.value.trim() || 'DeskLink Support');
    setText(pWelcome, welcome.value.trim() || 'Tell us what you need and we will connect you with someone who can help.');
    const chosen = logoFile.files && logoFile.files[0];
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    blobUrl = chosen ? URL.createObjectURL(chosen) : null;
    const src = blobUrl || (removeLogo.checked ? '' : b.logo_url);
    pLogo.hidden = !src;
    if (src) pLogo.src = src;
    else pLogo.removeAttribute('src');
    clear(pFields);
    for (const row of rows()) pFields.append(h('li', {}, row.labelText() || '…', row.isRequired() ? ' *' : ''));
  };
  const addRow = (field) => fieldList.append(fieldRow(field, render, render));
  for (const field of b.fields) addRow(field);
  for (const input of [title, color, welcome]) input.addEventListener('input', render);
  picker.addEventListener('input', () => { color.value = picker.value; render(); });
  color.addEventListener('input', () => { if (COLOR_RE.test(color.value.trim())) picker.value = color.value.trim().toLowerCase(); });
  logoFile.addEventListener('change', () => { if (logoFile.files.length) removeLogo.checked = false; render(); });
  removeLogo.addEventListener('change', render);
  render();

  const node = h('fieldset', { class: 'queue-branding', testid: 'queue-branding-fieldset' },
    h('legend', {}, 'Branding of the help box'),
    h('div', { class: 'brand-grid' },
      h('div', { class: 'brand-inputs' },
        h('div', { class: 'field' }, h('span', { class: 'label' }, 'Title (empty: the provider name)'), title),
        h('div', { class: 'field' }, h('span', { class: 'label' }, 'Accent colour (#rrggbb; empty: the default)'), h('div', { class: 'with-unit' }, color, picker)),
        h('div', { class: 'field' }, h('span', { class: 'label' }, 'Welcome text'), welcome),
        h('div', { class: 'field' }, h('span', { class: 'label' }, 'Logo (PNG, JPEG or WebP)'), logoFile,
          b.logo_url ? h('label', { class: 'check' }, removeLogo, ' Remove the current logo') : null)),
      preview),
    h('div', { class: 'field field-wide' }, h('span', { class: 'label' }, 'Pre-chat fields (asked before the question; the rep sees the answers)'), fieldList,
      h('button', { type: 'button', class: 'btn btn-small brand-field-add', testid: 'brand-field-add', on: { click: () => { addRow(null); render(); } } }, 'Add field')));

  const read = () => ({
    title: title.value.trim(), color: color.value.trim(), welcome: welcome.value.trim(), fields: rows().map((row) => row.read()),
  });
  const saveLogo = async (queueId) => {
    const file = logoFile.files && logoFile.files[0];
    const url = `/api/admin/queues/${encodeURIComponent(queueId)}/logo`;
    if (file) await send('PUT', url, file);
    else if (removeLogo.checked && b.logo_url) await send('DELETE', url, null);
  };
  return { node, read, saveLogo };
}

/** PUT the logo's bytes as they are (or DELETE it), with the CSRF header. */
async function send(method, url, file) {
  const headers = { Accept: 'application/json', 'X-CSRF-Token': ctx.csrf || '' };
  if (file) headers['Content-Type'] = file.type || 'application/octet-stream';
  let response;
  try {
    response = await fetch(url, { method, headers, body: file || undefined, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
  }
  if (response.ok) return;
  let err = {};
  try { err = (await response.json()).error || {}; } catch { /* not JSON */ }
  throw new ApiError(response.status, err.code || 'internal', `Logo: ${err.message || `${response.status} error`}`);
}
