// Deutsch: every key of en.js, translated.
export default {
  // common
  'common.close': 'Schließen',
};
