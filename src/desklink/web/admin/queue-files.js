// A queue's file policy in the admin center: the "Files" fieldset of the
// queue editor and the one-line summary on the queue card. The server
// validates (limits from 0 = "the server's setting" up to the server's own
// settings, extensions); the page only converts units and shows its answer.

import { h } from '../shared/dom.js';

export const DEFAULT_POLICY = { to_visitor: true, from_visitor: true, max_file_bytes: 0, max_files_per_session: 0, blocked_extensions: [] };

const UNITS = [['GB', 1024 ** 3], ['MB', 1024 ** 2], ['KB', 1024], ['bytes', 1]];

/** The largest unit that shows ``bytes`` exactly: [number, unit]. */
export function splitBytes(bytes) {
  for (const [unit, scale] of UNITS) {
    if (bytes >= scale && bytes % scale === 0) return [bytes / scale, unit];
  }
  return [bytes, bytes ? 'bytes' : 'MB'];
}

export function formatBytes(bytes) {
  const [n, unit] = splitBytes(bytes);
  return `${n} ${unit}`;
}

/** "Files: to visitor yes, from visitor no; up to 10 MB; 20 per session; not .exe .bat". */
export function summary(policy, limits) {
  const p = { ...DEFAULT_POLICY, ...(policy || {}) };
  const size = p.max_file_bytes ? formatBytes(p.max_file_bytes) : `server limit${limits ? ` (${formatBytes(limits.max_file_bytes)})` : ''}`;
  const count = p.max_files_per_session ? String(p.max_files_per_session) : `server limit${limits ? ` (${limits.max_files_per_session})` : ''}`;
  const parts = [
    `To the visitor: ${p.to_visitor ? 'allowed' : 'not allowed'}`,
    `From the visitor: ${p.from_visitor ? 'allowed' : 'not allowed'}`,
    `Largest file: ${size}`,
    `Files per session: ${count}`,
    `Blocked: ${p.blocked_extensions.length ? p.blocked_extensions.map((e) => `.${e}`).join(' ') : 'none'}`,
  ];
  return parts;
}

/**
 * The editor's "Files" fieldset. ``read()`` returns the policy body for
 * ``PATCH /api/admin/queues/{id}`` ({files: ...}) or throws an Error with
 * words for a number that is not a whole number >= 0.
 */
export function filesFieldset(policy, limits) {
  const p = { ...DEFAULT_POLICY, ...(policy || {}) };
  const toVisitor = h('input', { type: 'checkbox', testid: 'queue-files-to-visitor' });
  toVisitor.checked = !!p.to_visitor;
  const fromVisitor = h('input', { type: 'checkbox', testid: 'queue-files-from-visitor' });
  fromVisitor.checked = !!p.from_visitor;
  const [sizeN, sizeUnit] = splitBytes(p.max_file_bytes);
  const size = h('input', { type: 'number', min: 0, step: 1, inputmode: 'numeric', testid: 'queue-files-max-size', 'aria-label': 'Largest file' });
  size.value = String(sizeN);
  const unit = h('select', { testid: 'queue-files-max-size-unit', 'aria-label': 'Unit of the largest file' },
    UNITS.map(([u]) => h('option', { value: u }, u)));
  unit.value = sizeUnit;
  const count = h('input', { type: 'number', min: 0, step: 1, inputmode: 'numeric', testid: 'queue-files-max-count', 'aria-label': 'Files per session' });
  count.value = String(p.max_files_per_session);
  const blocked = h('input', { type: 'text', testid: 'queue-files-blocked', autocomplete: 'off', placeholder: 'exe, bat, msi', 'aria-label': 'Blocked extensions' });
  blocked.value = p.blocked_extensions.join(', ');
  const ceiling = limits
    ? `0 means the server's limit (${formatBytes(limits.max_file_bytes)}, ${limits.max_files_per_session} files); a queue can only be stricter.`
    : "0 means the server's limit; a queue can only be stricter.";

  const node = h('fieldset', { class: 'queue-files', testid: 'queue-files' },
    h('legend', {}, 'Files'),
    h('label', { class: 'check' }, toVisitor, ' Reps may send files to the visitor'),
    h('label', { class: 'check' }, fromVisitor, ' The visitor may send files'),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Largest file'), h('div', { class: 'with-unit' }, size, unit)),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Files per session'), h('div', { class: 'with-unit' }, count, h('span', { class: 'muted' }, 'files'))),
    h('div', { class: 'field field-wide' }, h('span', { class: 'label' }, 'Blocked extensions (comma separated)'), blocked),
    h('p', { class: 'muted field-wide hint' }, ceiling));

  function whole(input, what) {
    const text = input.value.trim();
    if (!/^\d+$/.test(text)) throw new Error(`${what} must be a whole number, 0 or more.`);
    return Number(text);
  }

  function read() {
    const scale = UNITS.find(([u]) => u === unit.value)?.[1] ?? 1;
    return {
      to_visitor: toVisitor.checked,
      from_visitor: fromVisitor.checked,
      max_file_bytes: whole(size, 'Largest file') * scale,
      max_files_per_session: whole(count, 'Files per session'),
      blocked_extensions: blocked.value,
    };
  }

  return { node, read };
}
