// Choosing files to send: an attach button with the browser's picker
// (several files at once) and drag-and-drop onto a conversation. A dropped
// folder goes as its files, each named by its path inside the folder
// ("logs/app.log"), read through webkitGetAsEntry; the receiving side
// sanitizes every name.

import { h } from './dom.js';
import { LIMITS } from './wire.js';

/** Files in a folder read at most (a dropped home directory must not hang the page). */
export const MAX_FOLDER_FILES = 500;

/** A name the server accepts: at most MAX_FILE_NAME_CHARS, keeping the end (the file's own name). */
export function offerName(name) {
  const chars = Array.from(String(name || 'file'));
  return chars.length <= LIMITS.MAX_FILE_NAME_CHARS ? chars.join('') : chars.slice(-LIMITS.MAX_FILE_NAME_CHARS).join('');
}

function readEntries(reader) {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function entryFile(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** Every file under a FileSystemEntry as [{file, name}] (name: the path below the drop). */
async function walk(entry, out) {
  if (out.length >= MAX_FOLDER_FILES) return;
  if (entry.isFile) {
    out.push({ file: await entryFile(entry), name: entry.fullPath.replace(/^\/+/, '') });
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {
      const batch = await readEntries(reader); // at most 100 at a time: read until empty
      if (!batch.length) break;
      for (const child of batch) await walk(child, out);
    }
  }
}

/** The files of a drop, folders opened: [{file, name}]. */
export async function droppedFiles(dataTransfer) {
  const out = [];
  const items = Array.from(dataTransfer.items || []).filter((i) => i.kind === 'file');
  const entries = items.map((i) => (typeof i.webkitGetAsEntry === 'function' ? i.webkitGetAsEntry() : null));
  if (entries.length && entries.every(Boolean)) {
    for (const entry of entries) await walk(entry, out);
    return out;
  }
  for (const file of Array.from(dataTransfer.files || [])) out.push({ file, name: file.name });
  return out;
}

/**
 * An attach button (with its hidden picker) and drop handling on `zone`.
 * `onFiles([{file, name}])` gets what was chosen; `enabled()` says whether
 * files can be sent now. Returns {button, input}.
 */
export function attachFiles({ zone, onFiles, enabled = () => true, label = 'Attach', title = 'Send files' }) {
  const input = h('input', { type: 'file', multiple: true, class: 'file-picker', testid: 'file-input', tabindex: '-1', props: { hidden: true } });
  const button = h('button', { type: 'button', class: 'attach', testid: 'attach', title, 'aria-label': title,
    on: { click: () => { if (enabled()) input.click(); } } }, label);
  input.addEventListener('change', () => {
    const files = Array.from(input.files || []).map((file) => ({ file, name: file.name }));
    input.value = '';
    if (files.length) onFiles(files);
  });
  let depth = 0;
  const carriesFiles = (e) => Array.from(e.dataTransfer?.types || []).includes('Files');
  zone.addEventListener('dragenter', (e) => {
    if (!carriesFiles(e) || !enabled()) return;
    e.preventDefault();
    depth += 1;
    zone.classList.add('file-drop-target');
  });
  zone.addEventListener('dragover', (e) => {
    if (!carriesFiles(e) || !enabled()) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  zone.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove('file-drop-target');
  });
  zone.addEventListener('drop', async (e) => {
    depth = 0;
    zone.classList.remove('file-drop-target');
    if (!carriesFiles(e) || !enabled()) return;
    e.preventDefault();
    const files = await droppedFiles(e.dataTransfer);
    if (files.length) onFiles(files);
  });
  return { button, input };
}
