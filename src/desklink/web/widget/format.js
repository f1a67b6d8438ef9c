// Wording and small pure helpers of the help box (no DOM).

import { LIMITS } from '../shared/wire.js';

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
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return 'Expected wait: as soon as a rep is free';
  const minutes = Math.max(1, Math.round(Number(seconds) / 60));
  return `Expected wait about ${minutes} min`;
}

/**
 * Who watches the shared screen besides the rep (screen.watchers: [{name, role}]),
 * in words: "Sue (supervisor) is watching", "Sue (supervisor) and Bob (admin)
 * are watching"; '' when nobody does. The same words as the agent's
 * (protocol/server_messages.py watching_words).
 */
export function watchingWords(watchers) {
  const labels = (Array.isArray(watchers) ? watchers : []).map((w) => `${nameOf(w)} (${w?.role || 'supervisor'})`);
  if (!labels.length) return '';
  if (labels.length === 1) return `${labels[0]} is watching`;
  return `${labels.slice(0, -1).join(', ')} and ${labels[labels.length - 1]} are watching`;
}

/** What the visitor reads when the server refuses this site for the queue. */
export const NOT_AVAILABLE_HERE = 'The help desk is not available on this site.';

/** The browser-console line for the site owner: why the help box is unavailable, and what to change. */
export function deniedReason(reason, origin, queue) {
  return `DeskLink help box: not available on this page (origin ${origin}, queue "${queue}"): ${reason || 'origin not allowed'}. `
    + 'The DeskLink administrator can add this origin to the queue\'s allowed origins in the admin center.';
}

export const ERROR_TEXT = {
  rate_limited: 'You are sending messages too fast. Wait a moment, then try again.',
  too_large: 'That message is too long.',
  bad_state: 'That is not possible right now.',
  conflict_closed: 'This conversation is already closed.',
  too_many_requests: 'You already have open requests. Please wait for an answer before asking again.',
};
