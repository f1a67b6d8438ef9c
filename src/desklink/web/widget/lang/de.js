// Deutsch: every key of en.js, translated.
export default {
  // common
  'common.close': 'Schließen',
  // branding
  'branding.choose': 'Bitte wählen…',
  'branding.optional': '(optional)',
  'branding.required': 'Bitte füllen Sie „{label}“ aus.',
  'branding.too_long': '„{label}“ ist zu lang (höchstens {max} Zeichen).',
  'branding.email': '„{label}“ sieht nicht wie eine E-Mail-Adresse aus.',
  'branding.refused': 'Bitte prüfen Sie die Felder des Formulars und versuchen Sie es noch einmal.',
};
