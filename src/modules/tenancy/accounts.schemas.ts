import { z } from 'zod';
import { email, password, role } from './tenancy.schemas.ts';

/** Request and response schemas of invitations by e-mail link and password reset (JSON in snake_case). */

/** A link token as pasted from an e-mail: bounded; its shape is checked by the service (a bad one is just invalid). */
const token = z.string().min(1).max(200);

export const inviteBody = z.object({ email, role }).strict();
export const emailInvitation = z.object({
  id: z.string(),
  email: z.string(),
  role: z.string(),
  invited_by_email: z.string().nullable(),
  sent_count: z.number().int(),
  last_sent_at: z.string(),
  expires_at: z.string(),
  expired: z.boolean(),
  created_at: z.string(),
});
export const inviteResponse = z.object({
  invitation: emailInvitation,
  delivery: z
    .enum(['sent', 'not_configured', 'failed'])
    .describe('sent: e-mailed; not_configured: this server sends no e-mail; failed: the mail server refused or was unreachable'),
  link: z.string().nullable().describe('The invitation link to pass on yourself, when it was not e-mailed (null when sent)'),
});
export const invitationList = z.object({
  data: z.array(emailInvitation),
  email_configured: z.boolean().describe('false: this server sends no e-mail, links are shown to copy instead'),
});
export const tokenBody = z.object({ token }).strict();
export const invitationPreview = z.object({
  tenant_name: z.string(),
  email: z.string(),
  role: z.string(),
  account_exists: z.boolean().describe('true: sign in with the existing password to accept; false: choose a password'),
  expires_at: z.string(),
});
export const acceptInvitationBody = z
  .object({
    token,
    // Checked by the service: the policy applies to a new account's password, not to an existing one's.
    password: z.string().min(1).max(256),
    name: z.string().trim().max(200).optional(),
  })
  .strict();
export const resetRequestBody = z.object({ email: z.string().trim().max(254) }).strict();
export const resetRequestResponse = z.object({
  email_configured: z.boolean().describe('false: this server sends no e-mail; ask an administrator for a reset link'),
});
export const resetConfirmBody = z.object({ token, password }).strict();
export const resetLinkResponse = z.object({ link: z.string(), email: z.string(), expires_at: z.string() });
