// A queue's screen recording policy in the admin center: the "Recording"
// fieldset of the queue editor and the line on the queue card. The server
// checks the value (always | on_request | never) and audits the change
// (queue.recording).

import { h } from '../shared/dom.js';

export const RECORDING_CHOICES = [
  ['never', 'Never'],
  ['on_request', 'When the rep presses Record'],
  ['always', 'Always, from the moment sharing starts'],
];

/** The card's words for a policy ("never" when the server said nothing). */
export function recordingSummary(policy) {
  const found = RECORDING_CHOICES.find(([value]) => value === policy);
  return found ? found[1] : 'Never';
}

/** The editor's "Recording" fieldset; ``read()`` gives the value for ``PATCH /api/admin/queues/{id}``. */
export function recordingFieldset(policy) {
  const select = h('select', { testid: 'queue-recording', 'aria-label': 'Screen recording' },
    RECORDING_CHOICES.map(([value, text]) => h('option', { value }, text)));
  select.value = RECORDING_CHOICES.some(([value]) => value === policy) ? policy : 'never';
  const node = h('fieldset', { class: 'queue-recording', testid: 'queue-recording-fieldset' },
    h('legend', {}, 'Screen recording'),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Record the visitor’s screen'), select),
    h('p', { class: 'muted field-wide hint' },
      'The visitor is always told: before sharing (will be / may be recorded) and while it happens. Recordings are kept for the server’s recording_retention_days.'));
  return { node, read: () => select.value };
}
