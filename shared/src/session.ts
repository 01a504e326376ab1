import { z } from 'zod';
import { TokenScope } from './api.js';

/** Dashboard sign-in: a one-time code from a printed link, or a pasted token, exchanged for a session cookie. */
export const SignIn = z.union([
  z.object({ code: z.string().min(1).max(200) }).strict(),
  z.object({ token: z.string().min(1).max(200) }).strict(),
]);
export type SignIn = z.infer<typeof SignIn>;

/** Who the caller is: a session acts as the token it was opened with (same scope, same owner). */
export const SessionInfo = z.object({
  tokenId: z.string(),
  name: z.string(),
  scope: TokenScope,
  via: z.enum(['session', 'token']),
  expiresAt: z.number().nullable().describe('when the session ends; null for a bearer token'),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

export const LoginCode = z.object({
  code: z.string(),
  expiresAt: z.number(),
  url: z.string().describe('the dashboard link carrying the code in its fragment (never sent to a server)'),
});
export type LoginCode = z.infer<typeof LoginCode>;

/** The fragment key of a sign-in link: `http://127.0.0.1:8288/#login=<code>`. */
export const LOGIN_FRAGMENT_KEY = 'login';
