// Copy text to the user's clipboard: the asynchronous Clipboard API where
// the page may use it (a secure context, focused, permission not refused),
// else the old way: select the element that shows the text and
// execCommand('copy'). Returns true when the text was copied; false means
// the text is selected and the user can press Ctrl+C.

export async function copyText(text, shownIn) {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch { /* fall back to a selection */ }
  const selection = shownIn?.ownerDocument.getSelection?.();
  if (!selection) return false;
  selection.selectAllChildren(shownIn);
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}
