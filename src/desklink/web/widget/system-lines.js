// The lines DeskLink itself writes into the chat ("Ann joined the
// conversation."), in the visitor's language. The server sends each with a
// stable `code` and its `vars` beside the English `text`
// (protocol/system_lines.py, docs/protocol.md "System lines"); the help box
// shows the catalogue's `system.<code>` with the vars filled in, and the
// English text for a line it has no words for (an older or newer server).

import { roleText } from './format.js';
import { has, t } from './i18n.js';

/** The text of a system `chat` message in the help box's language. */
export function systemText(msg) {
  const key = msg?.code ? `system.${msg.code}` : '';
  if (!key || !has(key) || !msg.vars || typeof msg.vars !== 'object') return msg?.text ?? '';
  const vars = { ...msg.vars };
  if (vars.role) vars.role = roleText(vars.role);
  return t(key, vars);
}
