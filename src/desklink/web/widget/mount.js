// The <script type="module" src=".../desklink-help.js" data-queue="..."> case:
// one help box added to the page, with what the site owner put on the script
// tag (queue, server, lang, data-field-* pre-filled fields).

export const FIELD_PREFIX = 'data-field-';

/** Add one box to the page for the script loaded from `moduleUrl`, unless there is one. */
export function autoMount(moduleUrl) {
  const scripts = Array.from(document.querySelectorAll('script[src]'));
  const script = scripts.find((s) => s.src === moduleUrl) || document.querySelector('script[src*="desklink-help.js"]');
  if (!script || !script.dataset.queue || document.querySelector('desklink-help')) return;
  const box = document.createElement('desklink-help');
  box.setAttribute('queue', script.dataset.queue);
  if (script.dataset.server) box.setAttribute('server', script.dataset.server);
  if (script.dataset.lang) box.setAttribute('lang', script.dataset.lang); // the site owner's choice of language
  for (const attr of script.attributes) if (attr.name.startsWith(FIELD_PREFIX)) box.setAttribute(attr.name, attr.value);
  document.body.append(box);
}
