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
