import type { HttpResponse } from '../../util/http-client.ts';
import { ServiceFailure, type Exchange } from '../service-failure.ts';

/** VK's error answer (HTTP 200 whatever the error): `{"error": {"error_code", "error_msg", "request_params"}}`. */
export interface VkError {
  error_code: number;
  error_msg?: string;
  request_params?: Array<{ key: string; value: string }>;
  captcha_sid?: string;
  captcha_img?: string;
}

/** VK's error codes that this connector tells apart. */
export const VK_ERROR = {
  UNKNOWN: 1,
  AUTH_FAILED: 5,
  TOO_MANY_PER_SECOND: 6,
  PERMISSION_DENIED: 7,
  FLOOD_CONTROL: 9,
  INTERNAL: 10,
  CAPTCHA: 14,
  ACCESS_DENIED: 15,
  USER_DELETED: 18,
  RATE_LIMIT: 29,
  BAD_PARAMETER: 100,
  BLACKLISTED: 900,
  NOT_ALLOWED_MESSAGES: 901,
  PRIVACY: 902,
  KEYBOARD_INVALID: 911,
  TOO_LONG: 914,
} as const;

// The service works, this person cannot get the community's messages: has not allowed them (901),
// privacy settings (902), deleted or banned (18), on the community's blacklist (900), or "no
// permission for this user" (7, 15, as messages.send answers them for a closed dialog).
const UNREACHABLE = new Set<number>([
  VK_ERROR.PERMISSION_DENIED, VK_ERROR.ACCESS_DENIED, VK_ERROR.USER_DELETED,
  VK_ERROR.BLACKLISTED, VK_ERROR.NOT_ALLOWED_MESSAGES, VK_ERROR.PRIVACY,
]);

/** Pauses for VK's limits: per second (6) is gone in a second; flood control (9) and captcha (14) last longer. */
const PAUSE_MS = {
  tooMany: 1000,
  flood: 30_000,
  // A captcha on a community token stops every send of the token until it cools down; nobody solves it.
  captcha: 10 * 60_000,
  // Error 29: the method's daily quota; try again much later rather than burn attempts.
  rateLimit: 60 * 60_000,
};

export function isVkError(json: unknown): json is { error: VkError } {
  const e = (json as { error?: Partial<VkError> } | undefined)?.error;
  return !!e && typeof e === 'object' && typeof e.error_code === 'number';
}

/** The class of one VK error code, with the pause VK asks for. */
export function classifyVkError(code: number): { failure: ServiceFailure['failure']; retryAfterMs?: number; slowDown?: boolean } {
  switch (code) {
    case VK_ERROR.TOO_MANY_PER_SECOND:
      return { failure: 'retry', retryAfterMs: PAUSE_MS.tooMany, slowDown: true };
    case VK_ERROR.FLOOD_CONTROL:
      return { failure: 'retry', retryAfterMs: PAUSE_MS.flood, slowDown: true };
    case VK_ERROR.CAPTCHA:
      // The whole token is held, so the whole connection waits instead of each task meeting the captcha.
      return { failure: 'retry', retryAfterMs: PAUSE_MS.captcha, slowDown: true };
    case VK_ERROR.RATE_LIMIT:
      return { failure: 'retry', retryAfterMs: PAUSE_MS.rateLimit, slowDown: true };
    case VK_ERROR.UNKNOWN:
    case VK_ERROR.INTERNAL:
      return { failure: 'retry' };
    default:
      if (UNREACHABLE.has(code)) return { failure: 'unreachable' };
      // 5 auth failed, 100 bad parameter, 911 keyboard, 914 too long, 27/28 token kind…: will not pass.
      return { failure: 'fail' };
  }
}

/**
 * A failed VK answer → a classified ServiceFailure. Only VK's own `{error}` JSON says "will not pass":
 * an HTML page, an empty body or a 5xx (a front that is down) is retried whatever it says.
 */
export function vkFailure(res: HttpResponse, exchange: Exchange): ServiceFailure {
  const j = res.json;
  if (!isVkError(j)) {
    const what = res.status >= 200 && res.status < 300 ? 'an answer without response or error' : `HTTP ${res.status} without a VK API answer`;
    return new ServiceFailure('retry', `VK answered ${what}`, { code: res.status, exchange });
  }
  const code = j.error.error_code;
  const text = j.error.error_msg || `error ${code}`;
  const c = classifyVkError(code);
  return new ServiceFailure(c.failure, text, {
    code, exchange, ...(c.retryAfterMs !== undefined && { retryAfterMs: c.retryAfterMs }), ...(c.slowDown && { slowDown: true }),
  });
}
