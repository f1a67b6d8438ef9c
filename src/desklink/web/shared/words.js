// Words of the shared modules that both the help box and the console show
// (chatlog.js, file-cards.js, uploads.js). Each module keeps its English in
// a table of catalogue keys and takes a lookup `t(key, vars)` from its
// caller: the help box passes its catalogue's (web/widget/i18n.js, whose
// lang/en.js takes these tables in), the console passes nothing and reads
// English. Values are set as text, never as markup.

/** `text` with {name}-style placeholders filled from `vars` (unknown ones left as they are). */
export function fill(text, vars = {}) {
  return String(text).replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(vars, name) ? String(vars[name]) : whole));
}

/** A lookup over one English table: the default `t` of a shared module. */
export function english(table) {
  return (key, vars = {}) => fill(table[key] ?? key, vars);
}
