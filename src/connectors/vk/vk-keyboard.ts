/**
 * Buttons for VK messages. A node's `keyboard` is either VK's own keyboard object (passed as is) or
 * rows of simple buttons `{text, payload}` / `{text, url}`, which become an inline keyboard of
 * callback buttons (pressed → a `message_event`, the `button` inbound event) and link buttons.
 *
 * VK wants a button's payload as JSON text of at most 255 characters; a plain string payload travels
 * wrapped as `{"button": "<payload>"}` and `buttonPayload` unwraps it on the way back, so a funnel
 * sees the same string it set, as with Telegram's callback_data.
 */

export interface SimpleButton {
  text: string;
  payload?: unknown;
  url?: string;
  color?: 'primary' | 'secondary' | 'positive' | 'negative';
}

export interface VkKeyboard {
  one_time?: boolean;
  inline?: boolean;
  buttons: Array<Array<Record<string, unknown>>>;
}

const MAX_LABEL = 40;
const MAX_PAYLOAD = 255;
// Inline keyboards: at most 5 buttons a row, 6 rows, 10 buttons (VK's keyboard documentation).
const INLINE = { perRow: 5, rows: 6, total: 10 };
const COLORS = ['primary', 'secondary', 'positive', 'negative'];

/** JSON Schema of the `keyboard` parameter. */
export const KEYBOARD_SCHEMA = {
  type: ['array', 'object', 'string'],
  description:
    'Rows of buttons {text, payload | url, color?} (an inline keyboard: a press comes back as a button event with the payload), '
    + 'or a VK keyboard object {buttons, inline?, one_time?}, or a template giving either (JSON text is read).',
};

/** The payload as VK carries it: JSON text; plain values wrapped as `{"button": …}`. */
export function encodePayload(payload: unknown): string {
  if (payload && typeof payload === 'object') return JSON.stringify(payload);
  return JSON.stringify({ button: String(payload) });
}

/** A payload from VK (JSON text in `message_new`, an object in `message_event`) → the string a funnel set. */
export function buttonPayload(raw: unknown): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const button = (value as Record<string, unknown>).button;
    if (keys.length === 1 && typeof button === 'string') return button;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `keyboard` → VK's keyboard object, or the problems naming each bad button. Absent → no keyboard. */
export function toVkKeyboard(value: unknown): { keyboard?: VkKeyboard; problems: string[] } {
  if (value === undefined || value === null || value === '') return { problems: [] };
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return { problems: ['keyboard: a template gave text that is not JSON'] };
    }
  }
  if (Array.isArray(v)) return fromRows(v);
  if (v && typeof v === 'object' && Array.isArray((v as VkKeyboard).buttons)) {
    const kb = v as VkKeyboard;
    const bad = kb.buttons.findIndex((r) => !Array.isArray(r));
    return bad >= 0 ? { problems: [`keyboard.buttons[${bad}]: must be an array of buttons`] } : { keyboard: kb, problems: [] };
  }
  return { problems: ['keyboard: must be rows of buttons or a VK keyboard object {buttons}'] };
}

function fromRows(rows: unknown[]): { keyboard?: VkKeyboard; problems: string[] } {
  const problems: string[] = [];
  if (rows.length > INLINE.rows) problems.push(`keyboard: at most ${INLINE.rows} rows in an inline keyboard`);
  let total = 0;
  const buttons = rows.map((row, r) => {
    if (!Array.isArray(row)) {
      problems.push(`keyboard[${r}]: must be an array of buttons`);
      return [];
    }
    if (row.length > INLINE.perRow) problems.push(`keyboard[${r}]: at most ${INLINE.perRow} buttons in a row`);
    total += row.length;
    return row.map((b, i) => button(b, `keyboard[${r}][${i}]`, problems));
  });
  if (total > INLINE.total) problems.push(`keyboard: at most ${INLINE.total} buttons in an inline keyboard`);
  return problems.length ? { problems } : { keyboard: { inline: true, buttons }, problems };
}

function button(b: unknown, at: string, problems: string[]): Record<string, unknown> {
  const btn = b as SimpleButton;
  if (!btn || typeof btn !== 'object') {
    problems.push(`${at}: must be an object {text, payload | url}`);
    return {};
  }
  if (typeof btn.text !== 'string' || !btn.text) problems.push(`${at}.text: is required`);
  else if ([...btn.text].length > MAX_LABEL) problems.push(`${at}.text: at most ${MAX_LABEL} characters`);
  const kinds = (['payload', 'url'] as const).filter((k) => btn[k] !== undefined && btn[k] !== null && btn[k] !== '');
  if (kinds.length !== 1) problems.push(`${at}: needs exactly one of payload or url`);
  if (btn.color !== undefined && !COLORS.includes(btn.color)) problems.push(`${at}.color: one of ${COLORS.join(', ')}`);
  if (btn.url !== undefined) {
    if (typeof btn.url !== 'string' || !/^https?:\/\//.test(btn.url)) problems.push(`${at}.url: must start with http:// or https://`);
    // Link buttons take no color in VK.
    return { action: { type: 'open_link', link: btn.url, label: btn.text } };
  }
  const payload = encodePayload(btn.payload);
  if (payload.length > MAX_PAYLOAD) problems.push(`${at}.payload: at most ${MAX_PAYLOAD} characters as JSON`);
  return { action: { type: 'callback', label: btn.text, payload }, ...(btn.color && { color: btn.color }) };
}
