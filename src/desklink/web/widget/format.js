// Wording and small pure helpers of the help box (no DOM).

import { LIMITS } from '../shared/wire.js';

export const DEFAULT_LIMITS = { name: LIMITS.MAX_NAME_CHARS, email: LIMITS.MAX_EMAIL_CHARS, question: LIMITS.MAX_QUESTION_CHARS, chat: LIMITS.MAX_CHAT_CHARS };

export function limitsFrom(config) {
  const l = (config && config.limits) || {};
  const pick = (...keys) => keys.map((k) => l[k]).find((v) => Number.isFinite(v) && v > 0);
  return {
    name: pick('max_name_chars', 'name') ?? DEFAULT_LIMITS.name,
    email: pick('max_email_chars', 'email') ?? DEFAULT_LIMITS.email,
    question: pick('max_question_chars', 'question') ?? DEFAULT_LIMITS.question,
    chat: pick('max_chat_chars', 'message', 'chat') ?? DEFAULT_LIMITS.chat,
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

export const ERROR_TEXT = {
  rate_limited: 'You are sending messages too fast. Wait a moment, then try again.',
  too_large: 'That message is too long.',
  bad_state: 'That is not possible right now.',
  conflict_closed: 'This conversation is already closed.',
  too_many_requests: 'You already have open requests. Please wait for an answer before asking again.',
};
