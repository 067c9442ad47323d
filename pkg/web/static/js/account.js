// The account forms are plain HTML forms; this only moves focus to the
// field an error is about.
export function start() {
  const form = document.querySelector('form[data-focus]');
  const field = form?.dataset.focus;
  if (field) form.querySelector(`[name="${field}"]`)?.focus();
}
