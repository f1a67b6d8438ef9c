// The help box's words: one catalogue per language (lang/<code>.js), the
// visitor's language picked from the browser, and t(key, vars) to look a
// string up with {name}-style placeholders filled in as plain text.
//
// English is complete by definition: a key missing from another catalogue
// falls back to English, and a key missing everywhere shows as the key itself
// (tests/e2e/test_help_box_languages.py checks that every catalogue has every
// English key, no more, with the same placeholders).
//
// Plurals: tn(key, count) looks up `key.one`, `key.other` (or whichever
// category Intl.PluralRules names for the count in the current language).
// Which language: an explicit lang="de" on <desklink-help> (or data-lang on
// the script tag, which the element takes over) wins; else the visitor's
// navigator.languages; else English (chooseLanguage).

import { fill } from '../shared/words.js';
import en from './lang/en.js';
import de from './lang/de.js';

export const CATALOGUES = { en, de };
export const DEFAULT_LANGUAGE = 'en';

let current = DEFAULT_LANGUAGE;

/**
 * The first of the visitor's languages (navigator.languages order, e.g.
 * ['de-AT', 'en']) that has a catalogue, by its primary subtag; English when
 * none has.
 */
export function pickLanguage(tags) {
  for (const tag of Array.isArray(tags) ? tags : []) {
    const primary = String(tag || '').toLowerCase().split('-')[0];
    if (Object.hasOwn(CATALOGUES, primary)) return primary;
  }
  return DEFAULT_LANGUAGE;
}

/** Use `lang` (a catalogue code) from now on; unknown codes mean English. */
export function setLanguage(lang) {
  current = Object.hasOwn(CATALOGUES, lang) ? lang : DEFAULT_LANGUAGE;
  return current;
}

export function language() {
  return current;
}

/**
 * The language for a help box: its own lang attribute when a catalogue has
 * it (the site owner's choice), else the first of the browser's languages
 * that one has, else English.
 */
export function chooseLanguage(explicit, tags = globalThis.navigator?.languages) {
  const wanted = String(explicit || '').trim();
  if (wanted) {
    const picked = pickLanguage([wanted]);
    if (picked !== DEFAULT_LANGUAGE || wanted.toLowerCase().split('-')[0] === DEFAULT_LANGUAGE) return picked;
  }
  return pickLanguage(tags?.length ? tags : [globalThis.navigator?.language]);
}

/** True when some catalogue (the current or English) has `key`. */
export function has(key) {
  return Object.hasOwn(CATALOGUES[current], key) || Object.hasOwn(en, key);
}

/** The string for `key` in the current language, with {placeholders} from `vars`. */
export function t(key, vars = {}) {
  return fill(CATALOGUES[current][key] ?? en[key] ?? key, vars);
}

/** The plural form of `key` for `count` (`key.one`, `key.other`, ...), with {count} and `vars` filled in. */
export function tn(key, count, vars = {}) {
  let category = 'other';
  try {
    category = new Intl.PluralRules(current).select(Number(count));
  } catch { /* no Intl: 'other' */ }
  const full = has(`${key}.${category}`) ? `${key}.${category}` : `${key}.other`;
  return t(full, { count, ...vars });
}
