/**
 * JSON string literals written by hand: `"` + value + `"` when nothing in the value needs
 * escaping (the usual case for names, ids and codes), JSON.stringify otherwise. Hot paths that
 * write JSON text piece by piece (compact charge traces, say) use it: JSON.stringify costs a call
 * into the runtime per string, the check a loop over the characters.
 */

/**
 * Whether JSON.stringify would escape something in `value`: a control character, `"`, `\`, or a
 * lone surrogate (a well-formed surrogate pair is written as it is).
 */
export function needsJsonEscape(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x22 || code === 0x5c) return true;
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (code >= 0xdc00 || !(next >= 0xdc00 && next <= 0xdfff)) return true;
      i++;
    }
  }
  return false;
}

/** `value` as a JSON string literal, exactly as JSON.stringify(value) writes it. */
export function jsonString(value: string): string {
  return needsJsonEscape(value) ? JSON.stringify(value) : `"${value}"`;
}
