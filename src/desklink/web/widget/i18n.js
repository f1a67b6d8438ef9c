// The help box's words: one catalogue per language (lang/<code>.js), the
// visitor's language picked from the browser, and t(key, vars) to look a
// string up with {name}-style placeholders filled in as plain text.
//
// English is complete by definition: a key missing from another catalogue
// falls back to English, and a key missing everywhere shows as the key itself
// (tests/e2e check that every catalogue has every English key).

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

/** The string for `key` in the current language, with {placeholders} from `vars`. */
export function t(key, vars = {}) {
  const text = CATALOGUES[current][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(vars, name) ? String(vars[name]) : whole));
}
