// English: the help box's reference catalogue. Every key the help box uses is
// here; other languages translate these keys (i18n.js falls back to English).
export default {
  // common
  'common.close': 'Close',
  // branding
  'branding.choose': 'Choose…',
  'branding.optional': '(optional)',
  'branding.required': 'Please fill in “{label}”.',
  'branding.too_long': '“{label}” is too long (at most {max} characters).',
  'branding.email': '“{label}” does not look like an email address.',
  'branding.refused': 'Please check the fields of the form and try again.',
};
