// English: the help box's reference catalogue. Every key the help box uses is
// here; other languages translate these keys (i18n.js falls back to English).
export default {
  // common
  'common.close': 'Close',
};
