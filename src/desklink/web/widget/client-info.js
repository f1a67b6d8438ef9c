// The visitor's system and browser, summarized for the rep ("Windows 11 ·
// Chrome 131"), so the rep knows which way of sharing the screen to offer
// (the agent on Linux, browser sharing elsewhere). Only this summary is
// sent with the request, never the whole User-Agent, and at most
// LIMITS.MAX_CLIENT_CHARS characters of it.

import { LIMITS } from '../shared/wire.js';

const BRANDS = [['Microsoft Edge', 'Edge'], ['Opera', 'Opera'], ['Google Chrome', 'Chrome'], ['Chromium', 'Chromium'],
  ['Brave', 'Brave'], ['Vivaldi', 'Vivaldi']];
const PLATFORMS = { windows: 'Windows', macos: 'macOS', linux: 'Linux', android: 'Android', 'chrome os': 'ChromeOS',
  chromeos: 'ChromeOS', ios: 'iOS' };

/** The system and browser from a User-Agent string alone: [system, browser]. */
export function fromUserAgent(ua) {
  const system = /Windows NT 10/.test(ua) ? 'Windows 10 or 11'
    : /Windows NT 6\.3/.test(ua) ? 'Windows 8.1'
    : /Windows NT 6\.1/.test(ua) ? 'Windows 7'
    : /Windows/.test(ua) ? 'Windows'
    : /iPhone|iPad/.test(ua) ? 'iOS'
    : /Android/.test(ua) ? 'Android'
    : /CrOS/.test(ua) ? 'ChromeOS'
    : /Mac OS X|Macintosh/.test(ua) ? 'macOS'
    : /Linux|X11/.test(ua) ? 'Linux' : '';
  const m = ua.match(/Edg\/(\d+)/) ? ['Edge', ua.match(/Edg\/(\d+)/)[1]]
    : ua.match(/OPR\/(\d+)/) ? ['Opera', ua.match(/OPR\/(\d+)/)[1]]
    : ua.match(/Firefox\/(\d+)/) ? ['Firefox', ua.match(/Firefox\/(\d+)/)[1]]
    : ua.match(/Chrome\/(\d+)/) ? ['Chrome', ua.match(/Chrome\/(\d+)/)[1]]
    : ua.match(/Version\/(\d+)[\d.]* (Mobile\/\S+ )?Safari/) ? ['Safari', ua.match(/Version\/(\d+)/)[1]] : null;
  return [system, m ? `${m[0]} ${m[1]}` : ''];
}

/** The summary, e.g. "Windows 11 · Chrome 131" ('' when nothing is known). */
export async function clientSummary(nav = globalThis.navigator) {
  if (!nav) return '';
  let [system, browser] = fromUserAgent(String(nav.userAgent || ''));
  const data = nav.userAgentData;
  if (data) {
    const platform = PLATFORMS[String(data.platform || '').toLowerCase()];
    if (platform) system = platform;
    const brand = BRANDS.map(([name, short]) => [short, (data.brands || []).find((b) => b.brand === name)]).find(([, b]) => b);
    if (brand) browser = `${brand[0]} ${brand[1].version}`;
    if (platform === 'Windows' && typeof data.getHighEntropyValues === 'function') {
      try {
        // Windows 11 reports platformVersion 13 and up; 10 reports 1 to 10.
        const { platformVersion } = await data.getHighEntropyValues(['platformVersion']);
        const major = parseInt(platformVersion, 10);
        if (major >= 13) system = 'Windows 11';
        else if (major > 0) system = 'Windows 10';
      } catch { /* the browser refused: the plain platform will do */ }
    }
  }
  return [system, browser].filter(Boolean).join(' · ').slice(0, LIMITS.MAX_CLIENT_CHARS);
}

/** A field name the server takes (protocol/visitor_context.py KEY_RE). */
const FIELD_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Only http(s) pages are sent, cut to the limit (the server refuses longer). */
function pageUrl(value) {
  const text = String(value || '');
  return /^https?:\/\//i.test(text) && text.length <= LIMITS.MAX_CONTEXT_URL_CHARS ? text : '';
}

/**
 * The provider's fields that the server will take: a field with a bad name
 * or a value too long, or any past the limit, is left out with a warning in
 * the browser console (for the site owner) instead of failing the request.
 */
export function cleanFields(fields) {
  const out = {};
  for (const [key, raw] of Object.entries(fields || {})) {
    const value = raw == null ? '' : String(raw);
    const why = !FIELD_KEY.test(key) || key.length > LIMITS.MAX_CONTEXT_KEY_CHARS ? 'its name may hold only letters, digits, _ - . (at most ' + LIMITS.MAX_CONTEXT_KEY_CHARS + ')'
      : value.length > LIMITS.MAX_CONTEXT_VALUE_CHARS ? `its value is longer than ${LIMITS.MAX_CONTEXT_VALUE_CHARS} characters`
      : Object.keys(out).length >= LIMITS.MAX_CONTEXT_FIELDS ? `only ${LIMITS.MAX_CONTEXT_FIELDS} fields are sent`
      : null;
    if (why) console.warn(`DeskLink: the field ${JSON.stringify(key.slice(0, 60))} is not sent: ${why}.`);
    else out[key] = value;
  }
  return out;
}

/**
 * What the rep sees beside the chat: the page, the referrer, the language
 * the help box speaks (`helpLanguage`, its catalogue's code) and the
 * browser's languages, the time zone and offset (minutes east of UTC), and
 * the provider's fields (see docs/deploy.md, "Passing fields to the help box").
 */
export function visitorContext(fields = {}, win = globalThis, helpLanguage = '') {
  const context = { fields: cleanFields(fields) };
  if (/^[a-z]{2,8}$/.test(helpLanguage)) context.help_language = helpLanguage;
  const page = pageUrl(win.location?.href);
  if (page) context.page = page;
  const referrer = pageUrl(win.document?.referrer);
  if (referrer) context.referrer = referrer;
  const langs = Array.from(win.navigator?.languages || [win.navigator?.language].filter(Boolean))
    .filter((l) => /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(l)).slice(0, LIMITS.MAX_CONTEXT_LANGUAGES);
  if (langs.length) context.languages = langs;
  try {
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && /^[A-Za-z0-9_+/-]{1,64}$/.test(tz)) context.time_zone = tz;
  } catch { /* no Intl: the offset will do */ }
  context.utc_offset_min = -new Date().getTimezoneOffset();
  return context;
}
