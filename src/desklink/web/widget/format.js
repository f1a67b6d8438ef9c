// Wording and small pure helpers of the help box (no DOM). The words come
// from the catalogue (i18n.js) in the help box's language; the console,
// which imports watchingWords, never sets one and so reads English.

import { ApiError } from '../shared/http.js';
import { LIMITS } from '../shared/wire.js';
import { has, t, tn } from './i18n.js';

export const DEFAULT_LIMITS = {
  name: LIMITS.MAX_NAME_CHARS, email: LIMITS.MAX_EMAIL_CHARS, question: LIMITS.MAX_QUESTION_CHARS, chat: LIMITS.MAX_CHAT_CHARS,
  ratingComment: LIMITS.MAX_RATING_COMMENT_CHARS,
};

export function limitsFrom(config) {
  const l = (config && config.limits) || {};
  const pick = (...keys) => keys.map((k) => l[k]).find((v) => Number.isFinite(v) && v > 0);
  return {
    name: pick('max_name_chars', 'name') ?? DEFAULT_LIMITS.name,
    email: pick('max_email_chars', 'email') ?? DEFAULT_LIMITS.email,
    question: pick('max_question_chars', 'question') ?? DEFAULT_LIMITS.question,
    chat: pick('max_chat_chars', 'message', 'chat') ?? DEFAULT_LIMITS.chat,
    ratingComment: pick('rating_comment') ?? DEFAULT_LIMITS.ratingComment,
  };
}

export function nameOf(value) {
  if (!value) return '';
  return typeof value === 'string' ? value : (value.name || value.slug || '');
}

export function waitText(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return t('queue.wait_unknown');
  const minutes = Math.max(1, Math.round(Number(seconds) / 60));
  return tn('queue.wait', minutes);
}

/** Who is online, in the header before a chat ("2 people online to help"). */
export function availabilityText(online) {
  return online > 0 ? tn('head.online', online) : t('head.nobody_online');
}

/** A role ("supervisor") in words; an unknown one as it is. */
export function roleText(role) {
  return has(`role.${role}`) ? t(`role.${role}`) : String(role || '');
}

/**
 * Who watches the shared screen besides the rep (screen.watchers: [{name, role}]),
 * in words: "Sue (supervisor) is watching", "Sue (supervisor) and Bob (admin)
 * are watching"; '' when nobody does; with `chat`, "... is watching this
 * chat". In English the same words as the agent's (protocol/server_messages.py
 * watching_words).
 */
export function watchingWords(watchers, { chat = false } = {}) {
  const labels = (Array.isArray(watchers) ? watchers : []).map((w) => t('watch.label', { name: nameOf(w), role: roleText(w?.role || 'supervisor') }));
  if (!labels.length) return '';
  const kind = chat ? 'watch.chat' : 'watch';
  if (labels.length === 1) return t(`${kind}.single`, { who: labels[0] });
  return t(`${kind}.several`, { who: labels.slice(0, -1).join(', '), last: labels[labels.length - 1] });
}

/** The browser-console line for the site owner: why the help box is unavailable, and what to change. */
export function deniedReason(reason, origin, queue) {
  return `DeskLink help box: not available on this page (origin ${origin}, queue "${queue}"): ${reason || 'origin not allowed'}. `
    + 'The DeskLink administrator can add this origin to the queue\'s allowed origins in the admin center.';
}

/** An `error` from the server in the visitor's words: by its code when the catalogue has it, else its own text. */
export function errorText(code, message) {
  if (code && has(`error.${code}`)) return t(`error.${code}`);
  return message || t('error.other');
}

/** Why the question was not sent (POST /api/visitor/requests failed). */
export function submitErrorText(err, limits) {
  if (!(err instanceof ApiError)) return t('error.try_again');
  if (err.status === 413 || err.code === 'too_large') return t('form.too_long', { name: limits.name, question: limits.question });
  if (err.status === 429 || err.code === 'too_many_requests') return t('error.too_many_requests');
  if (err.code === 'network') return t('error.network');
  if (err.status === 403 || err.code === 'origin_denied') return t('box.not_available_here');
  if (err.status === 404) return t('box.not_set_up');
  return err.message || t('error.try_again');
}
