// "How did we do?": the rating form the help box shows once a conversation
// has ended (POST /api/visitor/rating, docs/protocol.md "The visitor's rating").
//
// Five real radio buttons in a fieldset, so the keyboard works as everywhere
// (Tab into the group, arrow keys choose, Space selects) and a screen reader
// reads "3, Okay, 3 of 5"; they are drawn as stars beside their words. An
// optional comment with a counter, Send (once a rating is chosen) and Skip.
// After Send the form is replaced by a thank-you; a refusal is said in words.
// Text only, never markup.

import { h, setText, clear } from '../shared/dom.js';
import { ApiError } from '../shared/http.js';
import { t } from './i18n.js';

/** The catalogue keys of the words beside each rating, 1 to 5. */
export const RATING_WORDS = ['rating.1', 'rating.2', 'rating.3', 'rating.4', 'rating.5'];

let formCount = 0;

/** Why a rating was not taken, in the visitor's words. */
export function ratingErrorText(err) {
  if (!(err instanceof ApiError)) return t('rating.failed');
  if (err.code === 'conflict_exists') return t('rating.already');
  if (err.code === 'conflict_closed') return t('rating.closed');
  if (err.code === 'too_large') return t('rating.too_long');
  if (err.code === 'network') return t('error.network');
  return err.message || t('rating.failed');
}

/**
 * The form. `send(rating, comment)` returns a promise (the API call);
 * `maxComment` bounds the comment; `done()` is called after thanks or Skip.
 * Returns the element.
 */
export function ratingForm({ send, maxComment, onDone = () => {} }) {
  const id = `dl-rating-${++formCount}`;
  const radios = RATING_WORDS.map((key, i) => {
    const word = t(key);
    const value = i + 1;
    const input = h('input', { type: 'radio', name: id, value: String(value), id: `${id}-${value}`, class: 'rating-input', testid: `rating-${value}` });
    const label = h('label', { for: `${id}-${value}`, class: 'rating-option', title: word },
      h('span', { class: 'rating-star', 'aria-hidden': 'true' }, '★'),
      h('span', { class: 'rating-number' }, String(value)),
      h('span', { class: 'rating-word' }, word));
    return { input, label };
  });
  const chosen = h('p', { class: 'rating-chosen', testid: 'rating-chosen', 'aria-live': 'polite' });
  const comment = h('textarea', { id: `${id}-comment`, class: 'rating-comment', testid: 'rating-comment', rows: 2, maxlength: maxComment });
  const counter = h('span', { class: 'counter', testid: 'rating-comment-count' }, t('form.count', { n: 0, limit: maxComment }));
  const error = h('p', { class: 'rating-error', testid: 'rating-error', role: 'alert', props: { hidden: true } });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'rating-send', props: { disabled: true } }, t('rating.send'));
  const skip = h('button', { type: 'button', class: 'btn btn-quiet', testid: 'rating-skip' }, t('rating.skip'));
  const group = h('div', { class: 'rating-scale' },
    radios.map(({ input, label }) => h('span', { class: 'rating-cell' }, input, label)));

  const value = () => Number(radios.find((r) => r.input.checked)?.input.value || 0);
  const paint = () => {
    const v = value();
    radios.forEach(({ label }, i) => label.classList.toggle('lit', i < v));
    setText(chosen, v ? t('rating.chosen', { n: v, word: t(RATING_WORDS[v - 1]) }) : '');
    submit.disabled = !v;
  };
  for (const { input } of radios) input.addEventListener('change', paint);
  comment.addEventListener('input', () => {
    const n = comment.value.length;
    setText(counter, t('form.count', { n, limit: maxComment }));
    counter.classList.toggle('over', n > maxComment);
  });

  const form = h('form', { class: 'rating', testid: 'rating-form', novalidate: true },
    h('fieldset', { class: 'rating-fieldset' },
      h('legend', { id: `${id}-legend`, class: 'rating-legend' }, t('rating.legend')),
      group, chosen),
    h('div', { class: 'rating-comment-field' },
      h('div', { class: 'label-row' }, h('label', { for: `${id}-comment` }, t('rating.comment'), ' ', h('span', { class: 'optional' }, t('form.optional'))), counter),
      comment),
    error,
    h('div', { class: 'rating-actions' }, skip, submit));

  const finish = (text, state) => {
    const thanks = h('p', { class: 'rating-thanks', testid: 'rating-thanks', role: 'status', data: { state } }, text);
    form.replaceWith(thanks);
    onDone(state);
  };
  skip.addEventListener('click', () => {
    form.replaceWith(h('span', { testid: 'rating-skipped', hidden: true }));
    onDone('skipped');
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = value();
    if (!v) return;
    const text = comment.value.trim();
    if (text.length > maxComment) {
      error.hidden = false;
      setText(error, t('rating.comment_too_long', { n: text.length, limit: maxComment }));
      return;
    }
    submit.disabled = true;
    setText(submit, t('form.sending'));
    error.hidden = true;
    try {
      await send(v, text);
    } catch (err) {
      if (err instanceof ApiError && ['conflict_exists', 'conflict_closed'].includes(err.code)) {
        finish(ratingErrorText(err), err.code);
        return;
      }
      submit.disabled = false;
      setText(submit, t('rating.send'));
      error.hidden = false;
      setText(error, ratingErrorText(err));
      return;
    }
    finish(t('rating.thanks'), 'sent');
  });
  return form;
}

/** Put a fresh rating form into `slot` (emptied first). */
export function showRating(slot, options) {
  clear(slot).append(ratingForm(options));
}
