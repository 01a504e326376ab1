/** A problem with the file itself: reported in `<name>.error.txt`, not retried until the content changes. */
export class InputError extends Error {
  override name = 'InputError';
}
